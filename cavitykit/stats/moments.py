"""Central power sums: the exact, mergeable state behind every k-statistic.

A state holds, per column, the sample count n, the mean, and the central power
sums M_p = sum_i (x_i - mean)^p for p = 0..R (M_0 = n, M_1 = 0).  Two states
merge exactly (Pebay 2008) by re-centring both on the pooled mean, so chunked,
parallel or distributed passes give the one-pass answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np
from numba import get_num_threads

from cavitykit._validation import NAN_POLICIES, as_real_array, check_choice, check_int, normalize_axis
from cavitykit.stats import _kernels

MAX_ORDER = 8
PILOT_ROWS = 64


@dataclass(frozen=True)
class CentralMoments:
    """Counts, means and central power sums of a set of columns.

    Attributes
    ----------
    count : ndarray of shape (n_columns,)
        Number of samples used per column (float64, exact integers).
    mean : ndarray of shape (n_columns,)
    sums : ndarray of shape (max_order + 1, n_columns)
        ``sums[p]`` is the central power sum of order p; ``sums[0] == count``, ``sums[1] == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> state = central_moments(np.array([[1.0], [2.0], [3.0]]), 2)
    >>> state.count, state.mean, state.sums[2]  # central sum of squares: 2
    (array([3.]), array([2.]), array([2.]))
    """

    count: np.ndarray
    mean: np.ndarray
    sums: np.ndarray

    @property
    def max_order(self) -> int:
        return self.sums.shape[0] - 1


def recentre(sums: np.ndarray, offset: np.ndarray, axis: int = 0) -> np.ndarray:
    """Power sums about ``c + offset`` from power sums about ``c``.

    ``out[p] = sum_k C(p, k) sums[p - k] (-offset)^k`` along ``axis``, the axis
    whose index is the power (0..R, ``sums[0]`` the count).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([1.0, 2.0, 4.0])
    >>> about_zero = np.array([[x.size], [x.sum()], [(x**2).sum()]])  # power sums about 0, orders 0..2
    >>> recentre(about_zero, np.array([1.0]))[:, 0]  # about 1: sums of (x - 1)^r
    array([ 3.,  4., 10.])
    """
    sums = np.moveaxis(sums, axis, 0)
    out = np.empty_like(sums)
    # NaN columns (nan_policy='propagate') stay NaN; their arithmetic need not warn.
    with np.errstate(invalid="ignore", over="ignore"):
        _recentre_into(out, sums, offset)
    return np.moveaxis(out, 0, axis)


def _recentre_into(out: np.ndarray, sums: np.ndarray, offset) -> None:
    minus_offset = -np.asarray(offset, dtype=np.float64)
    for p in range(sums.shape[0]):
        total = np.zeros_like(sums[0])
        offset_power = np.ones_like(minus_offset)
        for k in range(p + 1):
            total += comb(p, k) * sums[p - k] * offset_power
            offset_power = offset_power * minus_offset
        out[p] = total


def merge(a: CentralMoments, b: CentralMoments) -> CentralMoments:
    """Exact union of two states over the same columns (Pebay's pairwise update).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).standard_normal((100, 2))
    >>> both = merge(central_moments(x[:40], 4), central_moments(x[40:], 4))
    >>> bool(np.allclose(both.sums, central_moments(x, 4).sums))
    True
    """
    if a.sums.shape != b.sums.shape:
        raise ValueError(f"cannot merge moment states of shapes {a.sums.shape} and {b.sums.shape}")
    count = a.count + b.count
    with np.errstate(invalid="ignore", divide="ignore"):
        weight_b = np.where(count > 0, b.count / count, 0.0)
    delta = np.where(b.count > 0, b.mean - a.mean, 0.0)
    delta = np.where(a.count > 0, delta, 0.0)
    mean = np.where(a.count > 0, a.mean + weight_b * delta, b.mean)
    sums = recentre(a.sums, mean - a.mean) + recentre(b.sums, mean - b.mean)
    sums[1] = 0.0
    return CentralMoments(count=count, mean=mean, sums=sums)


def as_sample_matrix(name: str, x, axis) -> tuple[np.ndarray, tuple[int, ...]]:
    """Move ``axis`` to the front and flatten the rest: (n_samples, n_columns), C-contiguous.

    Examples
    --------
    >>> import numpy as np
    >>> matrix, rest = as_sample_matrix("x", np.zeros((2, 5, 3)), axis=1)
    >>> matrix.shape, rest
    ((5, 6), (2, 3))
    """
    x = as_real_array(name, x)
    if x.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension, got a scalar")
    axis = normalize_axis("axis", axis, x.ndim)
    moved = np.moveaxis(x, axis, 0)
    rest = moved.shape[1:]
    return np.ascontiguousarray(moved.reshape(moved.shape[0], -1)), rest


def _pilot_shift(x2d: np.ndarray) -> np.ndarray:
    """Mean of finite values in up to PILOT_ROWS rows spread over the sample."""
    rows = np.unique(np.linspace(0, x2d.shape[0] - 1, min(x2d.shape[0], PILOT_ROWS)).astype(np.intp))
    pilot = x2d[rows].astype(np.float64)
    finite = np.isfinite(pilot)
    count = finite.sum(axis=0)
    total = np.where(finite, pilot, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.zeros(x2d.shape[1]), where=count > 0)


def _moments_from_shifted(shift: np.ndarray, sums: np.ndarray, count: np.ndarray) -> CentralMoments:
    full = np.concatenate([count[None], sums], axis=0)
    delta = np.divide(sums[0], count, out=np.zeros_like(count), where=count > 0)
    central = recentre(full, delta)
    central[1] = 0.0
    return CentralMoments(count=count, mean=shift + delta, sums=central)


def _run_kernel(x2d: np.ndarray, shift: np.ndarray, max_order: int, omit: bool) -> CentralMoments:
    if omit:
        sums, counts = _kernels.shifted_power_sums_omit(x2d, shift, max_order, get_num_threads())
        return _moments_from_shifted(shift, sums.sum(axis=0), counts.sum(axis=0))
    kernel = _kernels.power_sums_to_4 if max_order <= 4 else _kernels.power_sums_to_8
    sums = kernel(x2d, shift, get_num_threads()).sum(axis=0)[:max_order]
    return _moments_from_shifted(shift, sums, np.full(x2d.shape[1], float(x2d.shape[0])))


def central_moments(x2d: np.ndarray, max_order: int, nan_policy: str = "propagate") -> CentralMoments:
    """One pass over ``x2d`` (n_samples, n_columns) giving its central power sums.

    Non-finite values (NaN, +-inf) follow ``nan_policy``: 'propagate' gives NaN
    for the affected columns, 'raise' raises ValueError, 'omit' drops them per
    column.  Detection costs nothing on clean data: it looks only at columns
    whose sums came out non-finite.

    Examples
    --------
    >>> import numpy as np
    >>> state = central_moments(np.array([[0.0, 1.0], [2.0, 3.0]]), 2)
    >>> state.mean, state.sums[2]
    (array([1., 2.]), array([2., 2.]))
    """
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    max_order = check_int("max_order", max_order, minimum=1, maximum=MAX_ORDER)
    shift = _pilot_shift(x2d)
    if nan_policy == "omit":
        return _run_kernel(x2d, shift, max_order, omit=True)
    moments = _run_kernel(x2d, shift, max_order, omit=False)
    bad = ~np.isfinite(moments.sums).all(axis=0) | ~np.isfinite(moments.mean)
    if not bad.any():
        return moments
    nonfinite = ~np.isfinite(x2d[:, bad]).all(axis=0)
    if not nonfinite.all():
        raise ValueError("power sums overflowed float64; rescale the data before estimating cumulants")
    if nan_policy == "raise":
        raise ValueError("x contains NaN or infinite values (nan_policy='raise'); use 'omit' to drop them")
    moments.sums[:, bad] = np.nan
    moments.mean[bad] = np.nan
    return moments


def mixed_central_moments(x2d: np.ndarray, y2d: np.ndarray, max_order: int):
    """Central mixed power sums of two equally shaped (n_samples, n_columns) arrays.

    Returns
    -------
    mean_x, mean_y : ndarray of shape (n_columns,)
    sums : ndarray of shape (max_order + 1, max_order + 1, n_columns)
        ``sums[a, b] = sum_i (x_i - mean_x)^a (y_i - mean_y)^b`` for ``a + b <= max_order``
        (zero above the anti-diagonal).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[0.0], [1.0], [2.0]])
    >>> mean_x, mean_y, sums = mixed_central_moments(x, -x, 2)
    >>> float(sums[1, 1, 0])  # sum (x - xbar)(y - ybar) = -2
    -2.0
    """
    shift_x, shift_y = _pilot_shift(x2d), _pilot_shift(y2d)
    sums = _kernels.shifted_mixed_power_sums(x2d, y2d, shift_x, shift_y, max_order, get_num_threads()).sum(axis=0)
    count = sums[0, 0]
    delta_x, delta_y = sums[1, 0] / count, sums[0, 1] / count
    # Re-centre both variables; terms above the anti-diagonal are never read.
    central = recentre(recentre(sums, delta_x, axis=0), delta_y, axis=1)
    central[1, 0] = central[0, 1] = 0.0
    return shift_x + delta_x, shift_y + delta_y, central
