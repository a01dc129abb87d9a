"""cavitykit: why iterative magnitude pruning makes fully connected networks local.

Cumulant estimators (Numba), non-Gaussian data models, IMP runs stored in
netCDF, and the cavity method (exact and analytic leave-one-weight-out effects).
"""

from cavitykit._version import __version__
from cavitykit.io import open_run, open_sweep
from cavitykit.stats import MomentAccumulator, cumulant_spectrum, joint_kstats, kstat, kstats, kstatvar, kurtosis, skew

__all__ = [
    "MomentAccumulator",
    "__version__",
    "cumulant_spectrum",
    "joint_kstats",
    "kstat",
    "kstats",
    "kstatvar",
    "kurtosis",
    "open_run",
    "open_sweep",
    "skew",
]
