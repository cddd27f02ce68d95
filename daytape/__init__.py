"""The application: the CLI, the multi-day runner, plugin loading, the demo and the reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("daytape")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

#: The Python API (daytape.api), imported on first use so `import daytape` and the CLI stay light.
_API = ("run", "open_log", "Log", "Run", "Day")


def __getattr__(name: str) -> object:
    if name in _API:
        from daytape import api

        return getattr(api, name)
    raise AttributeError(f"module 'daytape' has no attribute {name!r}")
