"""Optional dependencies: each comes with an extra of the package, and a feature that needs a missing one
says which extra to install, in one line."""

from __future__ import annotations

import importlib

# The top-level module of each optional dependency and the extra that installs it.
EXTRAS = {"dask": "cluster", "distributed": "cluster", "skimage": "images", "matplotlib": "plot"}


class MissingExtra(ImportError):
    """An optional dependency is not installed; the message names the extra that installs it."""


def require(module: str, feature: str):
    """Import ``module`` for ``feature``, or raise ``MissingExtra`` naming the extra that brings it.

    Examples
    --------
    >>> require("math", "arithmetic").sqrt(4.0)
    2.0
    >>> EXTRAS["matplotlib"]
    'plot'
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRAS.get(module.split(".")[0], "all")
        raise MissingExtra(
            f"{feature} needs {module.split('.')[0]}, which comes with the '{extra}' extra: "
            f"pip install 'cavitykit[{extra}]'"
        ) from None
