"""The application: the CLI, the multi-day runner, plugin loading, the demo and the reports."""

#: The one place the version is written: pyproject.toml reads it from here (no importlib.metadata at start-up).
__version__ = "0.1.0"
