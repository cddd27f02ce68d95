"""The application: the CLI, the multi-day runner, plugin loading, the demo and the reports."""

#: The one place the version is written: pyproject.toml reads it from here (no importlib.metadata at start-up).
__version__ = "0.1.0"

#: The Python API (daytape.api), imported on first use so `import daytape` and the CLI stay light.
_API = ("run", "open_log", "Log", "Run", "Day")


def __getattr__(name: str) -> object:
    if name in _API:
        from daytape import api

        return getattr(api, name)
    raise AttributeError(f"module 'daytape' has no attribute {name!r}")
