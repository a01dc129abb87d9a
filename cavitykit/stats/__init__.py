"""Cumulant engine: k-statistics up to order 8 from one fused Numba pass, mergeable states, and the
k-statistics of a layer's pre-activations with their batch-means errors (``preactivation_statistics``).

Beside the estimators, what other engines build on: ``KSTAT_TERMS``, the closed forms of the
k-statistics in central power sums (derived in ``theory/derive_kstatistics.py``), and ``FASTMATH``, the
fast-math flags the kernels compile with (never ones that drop NaN or inf).
"""

from cavitykit.stats._kernels import FASTMATH
from cavitykit.stats._kstat_formulas import KSTAT_TERMS
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
from cavitykit.stats.preactivations import BatchedKstats, preactivation_statistics

__all__ = [
    "FASTMATH",
    "KSTAT_TERMS",
    "BatchedKstats",
    "MomentAccumulator",
    "cumulant_spectrum",
    "joint_kstats",
    "kstat",
    "kstat_variance",
    "kstats",
    "kstatvar",
    "kurtosis",
    "preactivation_statistics",
    "skew",
    "standardize_kstats",
]
