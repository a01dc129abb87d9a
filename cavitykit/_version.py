"""The installed package's version (``0+unknown`` in a source tree that was never installed)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cavitykit")
except PackageNotFoundError:
    __version__ = "0+unknown"
