"""k-statistics (unbiased cumulant estimators) of orders 1..8, and what is built on them.

scipy.stats names and keywords, but ``axis=0`` by default.  Every function makes
one fused pass over the data (see ``moments``) and evaluates the closed forms
derived in ``theory/derive_kstatistics.py`` on central power sums.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import comb

import numpy as np

from cavitykit._validation import check_int
from cavitykit.stats._kstat_formulas import KSTAT_TERMS, POLYKAY_TERMS
from cavitykit.stats.moments import (
    MAX_ORDER,
    CentralMoments,
    as_sample_matrix,
    central_moments,
    merge,
    mixed_central_moments,
)

__all__ = [
    "MomentAccumulator",
    "cumulant_spectrum",
    "joint_kstats",
    "kstat",
    "kstats",
    "kstatvar",
    "kurtosis",
    "skew",
]


@lru_cache(maxsize=8192)
def _coefficient(numerator: tuple[int, ...], denominator: tuple[int, ...], n: int) -> float:
    """Exact value of numerator(n) / denominator(n), rounded once to float64 (NaN where undefined)."""

    def horner(coefficients):
        value = 0
        for c in coefficients:
            value = value * n + c
        return value

    below = horner(denominator)
    return float(Fraction(horner(numerator), below)) if below else float("nan")


def _coefficients(numerator, denominator, count: np.ndarray) -> np.ndarray:
    """The rational coefficient at each column's sample count (NaN where undefined)."""
    out = np.full(count.shape, np.nan)
    for n in np.unique(count[count > 0]):
        out[count == n] = _coefficient(numerator, denominator, int(n))
    return out


def _evaluate_terms(terms, count: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """Sum of coefficient(N) * prod_r sums[r] over generated terms (see ``_kstat_formulas``)."""
    total = np.zeros(count.shape)
    for powers, numerator, denominator in terms:
        term = _coefficients(numerator, denominator, count)
        for r in powers:
            term = term * sums[r]
        total += term
    return total


def _kstats_from_moments(moments: CentralMoments, max_order: int) -> np.ndarray:
    """Stack k_1..k_max_order (max_order, n_columns); NaN where a column has too few samples."""
    out = np.empty((max_order, moments.count.shape[0]))
    out[0] = moments.mean
    for order in range(2, max_order + 1):
        out[order - 1] = _evaluate_terms(KSTAT_TERMS[order], moments.count, moments.sums)
    return out


def _check_sample_count(n_samples: int, needed: int, what: str) -> None:
    if n_samples < needed:
        raise ValueError(f"{what} needs at least {needed} samples along axis, got {n_samples}")


def kstats(x, max_order: int = 4, *, axis: int = 0, nan_policy: str = "propagate") -> np.ndarray:
    """k-statistics k_1..k_max_order along an axis, in one pass over the data.

    Parameters
    ----------
    x : array_like of shape (..., n_samples, ...)
        Real data, float32 or float64 (integers are converted to float64).
        Accumulation is always float64 on shifted power sums, so a large mean
        costs no precision.
    max_order : int, default 4
        Highest order, 1..8.
    axis : int, default 0
        Axis of the samples.
    nan_policy : {'propagate', 'raise', 'omit'}, default 'propagate'
        What to do with NaN and +-inf entries.  With 'omit', a column left with
        fewer samples than an order gets NaN for that order.

    Returns
    -------
    ndarray of shape (max_order, *rest)
        ``out[n - 1]`` is k_n; ``rest`` is the shape of ``x`` without ``axis``.

    See Also
    --------
    kstat : a single order, scipy.stats.kstat's signature.
    MomentAccumulator : the same estimates from chunks.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).gamma(2.0, size=(200_000, 3))
    >>> kstats(x, 4).shape  # k_1..k_4 of each column
    (4, 3)
    >>> bool(np.allclose(kstats(x, 4)[:, 0], [2, 2, 4, 12], rtol=0.1))  # Gamma(2): kappa_n = 2 (n-1)!
    True
    """
    max_order = check_int("max_order", max_order, minimum=1, maximum=MAX_ORDER)
    x2d, rest = as_sample_matrix("x", x, axis)
    _check_sample_count(x2d.shape[0], max_order, f"k-statistic of order {max_order}")
    moments = central_moments(x2d, max_order, nan_policy)
    return _kstats_from_moments(moments, max_order).reshape((max_order, *rest))


def kstat(x, n: int = 2, *, axis: int = 0, nan_policy: str = "propagate") -> np.ndarray:
    """The k-statistic k_n along an axis (scipy.stats.kstat, with orders up to 8).

    Parameters
    ----------
    x : array_like
    n : int, default 2
        Order, 1..8.
    axis : int, default 0
    nan_policy : {'propagate', 'raise', 'omit'}

    Returns
    -------
    ndarray of the shape of ``x`` without ``axis`` (a 0-d array for 1-d input).

    Examples
    --------
    >>> import numpy as np, scipy.stats
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> bool(np.isclose(kstat(x, 3), scipy.stats.kstat(x, 3)))
    True
    """
    n = check_int("n", n, minimum=1, maximum=MAX_ORDER)
    return kstats(x, n, axis=axis, nan_policy=nan_policy)[n - 1]


def kstat_variance(cumulants: np.ndarray, n: int, count) -> np.ndarray:
    """Sampling variance of k_n given the population cumulants (Kendall & Stuart 12.x).

    Parameters
    ----------
    cumulants : ndarray of shape (2 * n, ...)
        kappa_1..kappa_2n (``cumulants[r - 1]`` is kappa_r).
    n : int
        Order of the k-statistic, 1..4.
    count : int or ndarray
        Sample size N.

    Returns
    -------
    ndarray of shape (...): Var(k_n).
    """
    n = check_int("n", n, minimum=1, maximum=4)
    k = {r: cumulants[r - 1] for r in range(1, 2 * n + 1)}
    N = np.asarray(count, dtype=np.float64)
    if n == 1:
        return k[2] / N
    if n == 2:
        return k[4] / N + 2 * k[2] ** 2 / (N - 1)
    if n == 3:
        return k[6] / N + 9 * (k[2] * k[4] + k[3] ** 2) / (N - 1) + 6 * N * k[2] ** 3 / ((N - 1) * (N - 2))
    return (
        k[8] / N
        + (16 * k[2] * k[6] + 48 * k[3] * k[5] + 34 * k[4] ** 2) / (N - 1)
        + 72 * N * (k[2] ** 2 * k[4] + 2 * k[2] * k[3] ** 2) / ((N - 1) * (N - 2))
        + 24 * N * (N + 1) * k[2] ** 4 / ((N - 1) * (N - 2) * (N - 3))
    )


def kstatvar(x, n: int = 2, *, axis: int = 0, nan_policy: str = "propagate") -> np.ndarray:
    """Unbiased estimate of the sampling variance of k_n, n = 1..4.

    ``k_n**2 - k_nn``, with the polykay k_nn the unbiased estimator of kappa_n**2
    (``k_2 / N`` for n = 1), so its expectation is exactly ``Var(k_n)``;
    ``np.sqrt(kstatvar(x, n))`` is the standard error of ``kstat(x, n)``.  For
    n = 1, 2 this is scipy.stats.kstatvar; it needs the central sums up to
    order 2n, so at least 2n samples.  Like any unbiased variance estimate
    from a small sample it can come out negative.

    Parameters
    ----------
    x : array_like
    n : int, default 2
        Order, 1..4.
    axis : int, default 0
    nan_policy : {'propagate', 'raise', 'omit'}

    Returns
    -------
    ndarray of the shape of ``x`` without ``axis``.

    See Also
    --------
    kstat_variance : the variance from known population cumulants.

    Examples
    --------
    >>> import numpy as np, scipy.stats
    >>> x = np.random.default_rng(0).standard_normal(1000)
    >>> bool(np.isclose(kstatvar(x, 2), scipy.stats.kstatvar(x, 2)))
    True
    >>> round(float(np.sqrt(kstatvar(x, 4))), 2)  # standard error of k_4, about sqrt(24 / N)
    0.21
    """
    n = check_int("n", n, minimum=1, maximum=4)
    x2d, rest = as_sample_matrix("x", x, axis)
    _check_sample_count(x2d.shape[0], 2 * n, f"the variance of k_{n}")
    moments = central_moments(x2d, 2 * n, nan_policy)
    if n == 1:
        variance = _evaluate_terms(KSTAT_TERMS[2], moments.count, moments.sums) / moments.count
    else:
        k_n = _evaluate_terms(KSTAT_TERMS[n], moments.count, moments.sums)
        variance = k_n**2 - _evaluate_terms(POLYKAY_TERMS[n, n], moments.count, moments.sums)
    return variance.reshape(rest)


def standardize_kstats(k: np.ndarray) -> np.ndarray:
    """Standardized cumulants k_n / k_2^(n/2) from a stack k_1..k_max as returned by ``kstats``.

    Parameters
    ----------
    k : ndarray of shape (max_order >= 2, ...)

    Returns
    -------
    ndarray of the same shape; entry n - 1 is order n (order 2 is 1).
    """
    orders = np.arange(1, k.shape[0] + 1).reshape((-1,) + (1,) * (k.ndim - 1))
    return k / k[1] ** (orders / 2)


def _standardized(x, orders, axis, nan_policy, name):
    """k_n / k_2^(n/2) for each n in ``orders``; raises on zero variance."""
    values = kstats(x, max(orders), axis=axis, nan_policy=nan_policy)
    if np.any(values[1] == 0):
        raise ValueError(f"{name} is undefined for data with zero variance along axis {axis}")
    return standardize_kstats(values)[np.asarray(orders) - 1]


def _biased_from_moments(moments: CentralMoments, order: int) -> np.ndarray:
    m2 = moments.sums[2] / moments.count
    return (moments.sums[order] / moments.count) / m2 ** (order / 2)


def skew(x, *, axis: int = 0, bias: bool = False, nan_policy: str = "propagate") -> np.ndarray:
    """Sample skewness along an axis.

    ``bias=False`` (default, unlike scipy) gives k_3 / k_2^(3/2), the adjusted
    Fisher-Pearson coefficient G1 (scipy.stats.skew(bias=False)); ``bias=True``
    gives m_3 / m_2^(3/2) with biased central moments.

    Returns
    -------
    ndarray of the shape of ``x`` without ``axis``.

    Examples
    --------
    >>> import numpy as np, scipy.stats
    >>> x = np.random.default_rng(0).exponential(size=100_000)
    >>> round(float(skew(x)), 1)  # exponential: 2
    2.0
    >>> bool(np.isclose(skew(x), scipy.stats.skew(x, bias=False)))
    True
    """
    if not bias:
        return _standardized(x, (3,), axis, nan_policy, "skewness")[0]
    return _biased_statistic(x, 3, axis, nan_policy, "skewness")


def _biased_statistic(x, order, axis, nan_policy, name):
    x2d, rest = as_sample_matrix("x", x, axis)
    _check_sample_count(x2d.shape[0], 2, name)
    moments = central_moments(x2d, order, nan_policy)
    if np.any(moments.sums[2] == 0):
        raise ValueError(f"{name} is undefined for data with zero variance along axis {axis}")
    return _biased_from_moments(moments, order).reshape(rest)


def kurtosis(x, *, axis: int = 0, fisher: bool = True, bias: bool = False, nan_policy: str = "propagate") -> np.ndarray:
    """Sample kurtosis along an axis.

    ``bias=False`` (default, unlike scipy) gives k_4 / k_2^2, the unbiased-cumulant
    ratio G2 that scipy.stats.kurtosis(bias=False) returns; ``bias=True`` gives
    m_4 / m_2^2 - 3.  ``fisher=False`` adds 3 (Pearson's kurtosis).

    Returns
    -------
    ndarray of the shape of ``x`` without ``axis``.

    Examples
    --------
    >>> import numpy as np, scipy.stats
    >>> x = np.random.default_rng(0).uniform(-1, 1, (100_000, 2))
    >>> np.round(kurtosis(x), 2)  # uniform: -6/5
    array([-1.2, -1.2])
    >>> bool(np.allclose(kurtosis(x), scipy.stats.kurtosis(x, bias=False)))
    True
    """
    if bias:
        excess = _biased_statistic(x, 4, axis, nan_policy, "kurtosis") - 3.0
    else:
        excess = _standardized(x, (4,), axis, nan_policy, "kurtosis")[0]
    return excess if fisher else excess + 3.0


def cumulant_spectrum(x, max_order: int = 8, *, axis: int = 0, nan_policy: str = "propagate") -> np.ndarray:
    """Standardized cumulants k_n / k_2^(n/2) for n = 1..max_order.

    Entry n - 1 is order n, as in ``kstats``: order 2 is 1 by construction, order 3
    the skewness G1, order 4 the excess kurtosis G2.  For Gaussian data every
    order >= 3 vanishes.

    Parameters
    ----------
    x : array_like
    max_order : int, default 8
        2..8.
    axis : int, default 0
    nan_policy : {'propagate', 'raise', 'omit'}

    Returns
    -------
    ndarray of shape (max_order, *rest)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).choice([-1.0, 1.0], size=(100_000, 1))  # a fair coin
    >>> np.round(cumulant_spectrum(x, 6)[:, 0], 1) + 0.0  # 0, 1, 0, -2, 0, 16
    array([ 0.,  1.,  0., -2.,  0., 16.])
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=MAX_ORDER)
    return _standardized(x, range(1, max_order + 1), axis, nan_policy, "the cumulant spectrum")


def polarized_kstat(order: int, count: np.ndarray, mixed_sums: np.ndarray) -> np.ndarray:
    """Joint k-statistics k_{order-b, b}, b = 0..order, from central mixed power sums.

    The k-statistic of x + t y is a polynomial of degree ``order`` in t whose
    coefficient of t^b is C(order, b) k_{order-b, b}(x, y) (polarization).  Each
    central power sum of x + t y is sum_b C(r, b) t^b M_{r-b, b}, so the closed
    forms of k_order evaluated on these polynomials give all joint k-statistics
    of that total order at once.

    Parameters
    ----------
    order : int
        Total order, 2..8.
    count : ndarray of shape (...)
        Sample size per entry.
    mixed_sums : ndarray of shape (order + 1, order + 1, ...)
        ``mixed_sums[a, b] = sum_i (x_i - mean_x)^a (y_i - mean_y)^b`` for a + b <= order.

    Returns
    -------
    ndarray of shape (order + 1, ...): entry b is k_{order-b, b}.
    """

    def power_sum_polynomial(r):
        return np.stack([comb(r, b) * mixed_sums[r - b, b] for b in range(r + 1)])

    total = np.zeros((order + 1, *count.shape))
    for powers, numerator, denominator in KSTAT_TERMS[order]:
        product = np.ones((1, *count.shape))
        for r in powers:
            product = _polynomial_product(product, power_sum_polynomial(r))
        total[: product.shape[0]] += _coefficients(numerator, denominator, count) * product
    return total / np.array([comb(order, b) for b in range(order + 1)]).reshape((-1,) + (1,) * count.ndim)


def _polynomial_product(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Product of polynomials with coefficient arrays along axis 0 (lowest degree first)."""
    out = np.zeros((p.shape[0] + q.shape[0] - 1, *p.shape[1:]))
    for i in range(p.shape[0]):
        out[i : i + q.shape[0]] += p[i] * q
    return out


def joint_kstats(x, y, max_order: int = 4, *, axis: int = 0) -> np.ndarray:
    """Joint (bivariate) k-statistics k_{a,b}(x, y) for 1 <= a + b <= max_order.

    k_{a,b} is the unique symmetric unbiased estimator of the joint cumulant
    kappa(x, ..., x, y, ..., y) with a copies of x and b of y: k_{1,1} is the
    sample covariance (ddof=1), k_{a,0} = k_a(x), k_{0,b} = k_b(y).

    Parameters
    ----------
    x, y : array_like of the same shape (..., n_samples, ...)
    max_order : int, default 4
        Highest total order, 1..8.
    axis : int, default 0

    Returns
    -------
    ndarray of shape (max_order + 1, max_order + 1, *rest)
        ``out[a, b]`` is k_{a,b}; NaN for a + b = 0 and a + b > max_order.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal(100_000)
    >>> k = joint_kstats(x, 2 * x, 2)  # k[a, b] = k_{a,b}(x, y)
    >>> round(float(k[1, 1]), 1), round(float(k[0, 2]), 1)  # Cov(x, 2x) = 2, Var(2x) = 4
    (2.0, 4.0)
    """
    max_order = check_int("max_order", max_order, minimum=1, maximum=MAX_ORDER)
    x2d, rest = as_sample_matrix("x", x, axis)
    y2d, rest_y = as_sample_matrix("y", y, axis)
    if x2d.shape != y2d.shape or rest != rest_y:
        raise ValueError(f"x and y must have the same shape, got {np.shape(x)} and {np.shape(y)}")
    _check_sample_count(x2d.shape[0], max_order, f"joint k-statistics of total order {max_order}")
    if not (np.isfinite(x2d).all() and np.isfinite(y2d).all()):
        raise ValueError("x and y must be finite for joint k-statistics")
    mean_x, mean_y, sums = mixed_central_moments(x2d, y2d, max_order)
    count = sums[0, 0]
    out = np.full((max_order + 1, max_order + 1, count.shape[0]), np.nan)
    out[1, 0], out[0, 1] = mean_x, mean_y
    for order in range(2, max_order + 1):
        by_b = polarized_kstat(order, count, sums)
        for b in range(order + 1):
            out[order - b, b] = by_b[b]
    return out.reshape((max_order + 1, max_order + 1, *rest))


class MomentAccumulator:
    """Streaming, mergeable k-statistics: feed chunks, merge partial results, ask for k_n.

    The state is exact central power sums (see ``moments.CentralMoments``), so
    any split of the data into chunks, across threads or machines, gives the
    one-pass k-statistics up to float64 rounding.

    Parameters
    ----------
    max_order : int, default 8
        Highest order that ``kstats`` can return later, 1..8.
    axis : int, default 0
        Axis of the samples in every chunk.
    nan_policy : {'propagate', 'raise', 'omit'}

    Examples
    --------
    >>> acc = MomentAccumulator(max_order=4)
    >>> for chunk in np.array_split(data, 10):          # doctest: +SKIP
    ...     acc.update(chunk)
    >>> acc.kstats()                                    # doctest: +SKIP
    """

    def __init__(self, max_order: int = 8, *, axis: int = 0, nan_policy: str = "propagate"):
        self.max_order = check_int("max_order", max_order, minimum=1, maximum=MAX_ORDER)
        self.axis = axis
        self.nan_policy = nan_policy
        self._moments: CentralMoments | None = None
        self._shape: tuple[int, ...] | None = None

    @property
    def count(self) -> np.ndarray:
        """Samples seen so far, of shape ``rest`` (0 before the first update)."""
        return 0 if self._moments is None else self._moments.count.reshape(self._shape)

    def update(self, chunk) -> MomentAccumulator:
        """Add a chunk of shape (..., n_chunk_samples, ...); other axes must match earlier chunks."""
        x2d, rest = as_sample_matrix("chunk", chunk, self.axis)
        if self._shape is not None and rest != self._shape:
            raise ValueError(f"chunk has non-sample shape {rest}, earlier chunks had {self._shape}")
        if x2d.shape[0] == 0:
            return self
        self._merge_moments(central_moments(x2d, self.max_order, self.nan_policy), rest)
        return self

    def merge(self, other: MomentAccumulator) -> MomentAccumulator:
        """Fold another accumulator's data into this one (in place); returns self."""
        if not isinstance(other, MomentAccumulator):
            raise TypeError(f"other must be a MomentAccumulator, got {type(other).__name__}")
        if other.max_order != self.max_order:
            raise ValueError(f"cannot merge max_order={other.max_order} into max_order={self.max_order}")
        if other._moments is not None:
            self._merge_moments(other._moments, other._shape)
        return self

    def _merge_moments(self, moments: CentralMoments, shape) -> None:
        if self._moments is None:
            self._moments, self._shape = moments, shape
        elif shape != self._shape:
            raise ValueError(f"cannot merge non-sample shape {shape} into {self._shape}")
        else:
            self._moments = merge(self._moments, moments)

    def kstats(self, max_order: int | None = None) -> np.ndarray:
        """k_1..k_max_order of everything seen: ndarray of shape (max_order, *rest)."""
        max_order = (
            self.max_order
            if max_order is None
            else check_int("max_order", max_order, minimum=1, maximum=self.max_order)
        )
        if self._moments is None:
            raise ValueError("MomentAccumulator has seen no data yet; call update() first")
        total = int(self._moments.count.max())
        _check_sample_count(total, max_order, f"k-statistic of order {max_order}")
        return _kstats_from_moments(self._moments, max_order).reshape((max_order, *self._shape))
