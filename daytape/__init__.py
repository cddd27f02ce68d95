"""The application: the CLI, the multi-day runner, plugin loading, the demo and the reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("daytape")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
