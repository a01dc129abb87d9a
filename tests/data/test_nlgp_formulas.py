"""The NLGP pixel's closed forms against quadrature, and the cumulant recursion against textbook laws."""

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats

from cavitykit.data.nlgp import cumulants_from_raw_moments, gain_normalization, nlgp_nonlinearity


def gaussian_average(f):
    return scipy.integrate.quad(lambda z: f(z) * scipy.stats.norm.pdf(z), -np.inf, np.inf, epsabs=1e-13)[0]


@pytest.mark.parametrize("gain", [0.3, 1.0, 3.0, 30.0])
def test_gain_normalization_is_the_variance_of_erf_by_quadrature(gain):
    expected = gaussian_average(lambda z: scipy.special.erf(gain * z / math.sqrt(2)) ** 2)
    assert gain_normalization(gain) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("gain", [0.3, 1.0, 3.0])
def test_the_nonlinearity_has_unit_variance_and_is_odd(gain):
    variance = gaussian_average(lambda z: float(nlgp_nonlinearity(np.array([z]), gain)[0]) ** 2)
    assert variance == pytest.approx(1.0, rel=1e-9)
    z = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(nlgp_nonlinearity(-z, gain), -nlgp_nonlinearity(z, gain))


def test_the_nonlinearity_at_gain_zero_is_the_identity_and_keeps_the_dtype():
    z = np.array([-1.5, 0.25], dtype=np.float32)
    assert nlgp_nonlinearity(z, 0.0) is z
    assert nlgp_nonlinearity(z, 3.0).dtype == np.float32
    # gain 1: erf(z / sqrt 2) / sqrt(gamma(1)), gamma(1) = (2 / pi) arcsin(1 / 2) = 1 / 3
    np.testing.assert_allclose(nlgp_nonlinearity(np.array([1.0]), 1.0), [math.sqrt(3) * math.erf(1 / math.sqrt(2))])


def test_cumulants_from_raw_moments_of_the_exponential_and_the_poisson():
    # Exponential(1): E[x^n] = n!, kappa_n = (n - 1)!
    raw = np.array([math.factorial(n) for n in range(7)], dtype=float)
    np.testing.assert_allclose(cumulants_from_raw_moments(raw), [math.factorial(n - 1) for n in range(1, 7)])
    # Poisson(2): every cumulant is 2; raw moments are Touchard polynomials sum_k S(n, k) 2^k
    stirling = [[1], [0, 1], [0, 1, 1], [0, 1, 3, 1], [0, 1, 7, 6, 1], [0, 1, 15, 25, 10, 1]]
    raw = np.array([sum(s * 2.0**k for k, s in enumerate(row)) for row in stirling])
    np.testing.assert_allclose(cumulants_from_raw_moments(raw), [2.0] * 5)
