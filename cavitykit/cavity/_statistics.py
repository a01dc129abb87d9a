"""Statistics the cavity method can follow, as exact polynomials and truncated series in the removed weight.

Removing weight (k, i) changes the pre-activation to lambda + s x_i with
s = -w_ki / sqrt(D).  For every order n the k-statistic of lambda + s x is
the polynomial k_n(s) = sum_b C(n, b) s^b k_{n-b, b}(lambda, x) (joint
k-statistics), exact on the sample.  A standardized statistic
k_n / k_2^(n/2) is a ratio of two such polynomials: its change is evaluated
without cancellation (exact) or as its Taylor series in s truncated at order m
(the analytic cavity approximation).  Derivation: ``theory/cavity.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import comb

import numpy as np

from cavitykit.stats.kstatistics import polarized_kstat

# Relative cavity variance below which the cavity pre-activation counts as constant.
CONSTANT_TOLERANCE = 1e-10


@dataclass(frozen=True)
class Statistic:
    name: str
    order: int
    standardized: bool
    description: str

    @property
    def orders(self) -> tuple[int, ...]:
        """k-statistic orders the statistic is built from."""
        return (2, self.order) if self.standardized else (self.order,)


STATISTICS = {
    **{
        f"k{n}": Statistic(f"k{n}", n, False, f"k-statistic k_{n} (unbiased estimator of the cumulant kappa_{n})")
        for n in range(2, 9)
    },
    "variance": Statistic("variance", 2, False, "k_2, the unbiased sample variance"),
    "skewness": Statistic("skewness", 3, True, "k_3 / k_2^(3/2), as scipy.stats.skew(bias=False)"),
    "excess_kurtosis": Statistic("excess_kurtosis", 4, True, "k_4 / k_2^2, as scipy.stats.kurtosis(bias=False)"),
}


def polynomials(statistic: Statistic, count: np.ndarray, sums: np.ndarray) -> dict[int, np.ndarray]:
    """Coefficients of k_n(s) for each order the statistic needs.

    Parameters
    ----------
    count : ndarray of shape (J, Q)
    sums : ndarray of shape (R + 1, R + 1, J, Q)
        Central mixed power sums (see ``_engine.MixedSums``).

    Returns
    -------
    dict order -> ndarray of shape (order + 1, J, Q), entry b the coefficient of s^b.
    """
    out = {}
    for order in statistic.orders:
        joint = polarized_kstat(order, count, sums)
        binomials = np.array([comb(order, b) for b in range(order + 1)], dtype=float)
        out[order] = joint * binomials.reshape(-1, 1, 1)
    return out


def value(statistic: Statistic, polys: dict[int, np.ndarray]) -> np.ndarray:
    """The statistic at s = 0 (the intact unit), shape (J, Q)."""
    k_n = polys[statistic.order][0]
    if not statistic.standardized:
        return k_n
    with np.errstate(invalid="ignore", divide="ignore"):  # a unit with no weight left: NaN
        return k_n / polys[2][0] ** (statistic.order / 2)


def _change(coefficients: np.ndarray, s: np.ndarray, max_degree: int) -> np.ndarray:
    """sum_{b=1..max_degree} coefficients[b] s^b (the change of a polynomial from s = 0)."""
    total = np.zeros(np.broadcast_shapes(coefficients.shape[1:], np.shape(s)))
    power = np.ones_like(total)
    for b in range(1, min(max_degree, coefficients.shape[0] - 1) + 1):
        power = power * s
        total += coefficients[b] * power
    return total


def exact_change(statistic: Statistic, polys: dict[int, np.ndarray], s: np.ndarray) -> np.ndarray:
    """S(s) - S(0) evaluated exactly, without subtracting two nearly equal numbers.

    For a ratio k_n / k_2^(n/2): dk_n (k_2 + dk_2)^(-n/2) + k_n k_2^(-n/2) expm1(-(n/2) log1p(dk_2 / k_2)).
    NaN where the cavity variance vanishes to rounding (the unit's last weight).
    """
    n = statistic.order
    d_n = _change(polys[n], s, n)
    if not statistic.standardized:
        return d_n
    k_2, k_n = polys[2][0], polys[n][0]
    with np.errstate(invalid="ignore", divide="ignore"):  # k_2 = 0: a unit with no weight left
        relative = _change(polys[2], s, 2) / k_2
        out = d_n * (k_2 * (1.0 + relative)) ** (-n / 2) + k_n * k_2 ** (-n / 2) * np.expm1(
            -(n / 2) * np.log1p(relative)
        )
    # A cavity variance at rounding level of the full one: removal leaves a constant pre-activation.
    return np.where(relative > -1.0 + CONSTANT_TOLERANCE, out, np.nan)


def series_change(statistic: Statistic, polys: dict[int, np.ndarray], s: np.ndarray, order: int) -> np.ndarray:
    """Taylor series of S(s) - S(0) in s, truncated after s^order (coefficients: joint cumulants).

    A k-statistic is a polynomial, truncated at degree ``order``.  For a ratio,
    (k_2(s) / k_2)^(-n/2) = sum_j binom(-n/2, j) u(s)^j with u = (k_2(s) - k_2) / k_2,
    multiplied by k_n(s) / k_2^(n/2) and truncated: truncation in cumulant space.
    """
    n = statistic.order
    if not statistic.standardized:
        return _change(polys[n], s, order)
    with np.errstate(invalid="ignore", divide="ignore"):  # k_2 = 0: a unit with no weight left, NaN
        k_2 = polys[2][0]
        u = np.zeros((order + 1, *k_2.shape))
        u[1 : min(order, 2) + 1] = polys[2][1 : min(order, 2) + 1] / k_2
        factor = np.zeros_like(u)
        factor[0] = 1.0
        u_power = factor.copy()
        binomial = 1.0  # binom(-n/2, j), built up term by term (scipy's binom is NaN at negative integers)
        for j in range(1, order + 1):
            u_power = _truncated_product(u_power, u)
            binomial *= (-n / 2 - (j - 1)) / j
            factor += binomial * u_power
        numerator = np.zeros_like(u)
        numerator[: min(order, n) + 1] = polys[n][: min(order, n) + 1]
        series = _truncated_product(numerator, factor) / k_2 ** (n / 2)
        return _change(series, s, order)


def _truncated_product(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Product of two power series (coefficients along axis 0), keeping their common length."""
    out = np.zeros_like(p)
    for i in range(p.shape[0]):
        out[i:] += p[i] * q[: p.shape[0] - i]
    return out
