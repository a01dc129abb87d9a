"""Brute-force cavity references: really remove each weight, recompute, subtract."""

from __future__ import annotations

import numpy as np
import scipy.stats

from cavitykit.stats import kstats


def _statistic(statistic: str, preactivation: np.ndarray) -> float:
    """S of one pre-activation vector (P,), from scipy where scipy has it (orders <= 4)."""
    if statistic == "excess_kurtosis":
        return float(scipy.stats.kurtosis(preactivation, bias=False))
    if statistic == "skewness":
        return float(scipy.stats.skew(preactivation, bias=False))
    order = 2 if statistic == "variance" else int(statistic[1:])
    if order <= 4:
        return float(scipy.stats.kstat(preactivation, order))
    # scipy stops at order 4; the recomputation still tests the cavity identity.
    return float(kstats(preactivation, order)[order - 1])


def brute_force_cavity(weights, inputs, *, statistic="excess_kurtosis", mask=None) -> np.ndarray:
    """Delta_ki = S(lambda_k without w_ki) - S(lambda_k), one weight at a time.

    Parameters
    ----------
    weights : ndarray of shape (K, D)
    inputs : ndarray of shape (P, D)
    statistic : str
        As in ``cavitykit.cavity.exact``.
    mask : ndarray of bool, shape (K, D), optional
        False marks pruned weights; default: the non-zero weights.

    Returns
    -------
    ndarray of shape (K, D), NaN at pruned weights.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> brute_force_cavity(rng.standard_normal((2, 5)), rng.uniform(-1, 1, (1000, 5))).shape
    (2, 5)
    """
    weights = np.asarray(weights, dtype=np.float64)
    mask = weights != 0 if mask is None else np.asarray(mask, dtype=bool)
    weights = np.where(mask, weights, 0.0)
    inputs = np.asarray(inputs, dtype=np.float64)
    scale = 1.0 / np.sqrt(weights.shape[1])
    out = np.full(weights.shape, np.nan)
    for k, i in zip(*np.nonzero(mask), strict=True):
        reduced = weights[k].copy()
        before = _statistic(statistic, inputs @ reduced * scale)
        reduced[i] = 0.0
        out[k, i] = _statistic(statistic, inputs @ reduced * scale) - before
    return out
