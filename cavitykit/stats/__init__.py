"""Cumulant engine: k-statistics up to order 8 from one fused Numba pass, mergeable states."""

from cavitykit.stats.kstatistics import (
    MomentAccumulator,
    cumulant_spectrum,
    joint_kstats,
    kstat,
    kstat_variance,
    kstats,
    kstatvar,
    kurtosis,
    skew,
    standardize_kstats,
)

__all__ = [
    "MomentAccumulator",
    "cumulant_spectrum",
    "joint_kstats",
    "kstat",
    "kstat_variance",
    "kstats",
    "kstatvar",
    "kurtosis",
    "skew",
    "standardize_kstats",
]
