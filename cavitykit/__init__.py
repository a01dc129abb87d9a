"""cavitykit: why iterative magnitude pruning makes fully connected networks local.

Cumulant estimators (Numba), non-Gaussian data models, IMP runs stored in
netCDF, and the cavity method (exact and analytic leave-one-weight-out effects).

The names below load their module on first use: ``import cavitykit`` (and reading a config) loads
neither numba nor xarray.
"""

import importlib

from cavitykit._version import __version__

# Public name -> the module that defines it.
_LAZY = {
    "open_run": "cavitykit.io",
    "open_sweep": "cavitykit.io",
    **{
        name: "cavitykit.stats"
        for name in (
            "MomentAccumulator",
            "cumulant_spectrum",
            "joint_kstats",
            "kstat",
            "kstats",
            "kstatvar",
            "kurtosis",
            "skew",
        )
    },
}

# Subpackages and modules reachable as attributes (``cavitykit.data``), loaded on first access as scipy's are.
_SUBMODULES = (
    "analysis",
    "cavity",
    "config",
    "data",
    "imp",
    "io",
    "metrics",
    "network",
    "plot",
    "samples",
    "spectra",
    "stats",
    "sweep",
    "testing",
    "variants",
    "xr",
)

__all__ = ["__version__", *sorted(_LAZY)]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f"cavitykit.{name}")
    else:
        raise AttributeError(f"module 'cavitykit' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))
