"""k-statistics against scipy, exact rational arithmetic, Monte Carlo and long-double references."""

import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.stats

import cavitykit
from cavitykit.stats import kstat_variance
from cavitykit.testing import assert_within_sampling_error, kstat_by_definition, kstat_two_pass


def gamma_cumulants(shape, max_order):
    """kappa_n of Gamma(shape, scale=1): shape * (n - 1)!."""
    return np.array([shape * math.factorial(n - 1) for n in range(1, max_order + 1)], dtype=float)


@pytest.mark.nojit
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_scipy_kstat_orders_1_to_4(rng, dtype):
    x = rng.gamma(2.0, size=(3000, 5)).astype(dtype)
    ours = cavitykit.kstats(x, 4)
    for n in range(1, 5):
        reference = [scipy.stats.kstat(x[:, j].astype(np.float64), n) for j in range(5)]
        np.testing.assert_allclose(ours[n - 1], reference, rtol=1e-10)
        np.testing.assert_allclose(cavitykit.kstat(x, n), reference, rtol=1e-10)


@pytest.mark.nojit
def test_matches_scipy_kurtosis_and_skew(rng):
    x = rng.gamma(3.0, size=(2000, 4))
    for bias in (False, True):
        np.testing.assert_allclose(cavitykit.kurtosis(x, bias=bias), scipy.stats.kurtosis(x, bias=bias), rtol=1e-10)
        np.testing.assert_allclose(
            cavitykit.kurtosis(x, bias=bias, fisher=False), scipy.stats.kurtosis(x, bias=bias, fisher=False), rtol=1e-10
        )
        np.testing.assert_allclose(cavitykit.skew(x, bias=bias), scipy.stats.skew(x, bias=bias), rtol=1e-10)


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_any_axis_of_any_rank(rng, axis):
    x = rng.standard_normal((6, 7, 8)) ** 3
    ours = cavitykit.kstats(x, 4, axis=axis)
    assert ours.shape == (4, *np.delete(x.shape, axis))
    for n in range(1, 5):
        np.testing.assert_allclose(ours[n - 1], np.apply_along_axis(scipy.stats.kstat, axis, x, n), rtol=1e-10)


def test_one_dimensional_input_gives_scalars(rng):
    x = rng.standard_normal(100)
    assert cavitykit.kstat(x, 2).shape == ()
    assert cavitykit.kstats(x, 3).shape == (3,)


@pytest.mark.parametrize("order", range(1, 9))
def test_exact_against_rational_definition(order):
    """Orders 1..8 on small integer samples against the definition evaluated in Fractions."""
    samples = [[3, -1, 4, 1, -5, 9, 2, -6, 5], [0, 0, 1, 7, 2, 2, -3, 8, 1, 4]]
    size = order + 1 if order < 8 else order  # enumeration grows like size**order
    for sample in samples:
        exact = kstat_by_definition(sample[:size], order)
        ours = cavitykit.kstat(np.array(sample[:size]), order)
        assert float(ours) == pytest.approx(float(exact), rel=1e-12, abs=1e-12)


def test_rational_definition_reference_is_itself_right():
    # k_2 is the unbiased variance and k_1 the mean, by hand.
    sample = [1, 2, 4]
    assert kstat_by_definition(sample, 1) == Fraction(7, 3)
    assert kstat_by_definition(sample, 2) == Fraction(7, 3)  # ((1-7/3)^2 + (2-7/3)^2 + (4-7/3)^2) / 2


@pytest.mark.slow
def test_unbiased_for_gamma_cumulants_up_to_order_6(rng):
    """E[k_n] = kappa_n: mean over replicates within 4 standard errors of the replicate mean."""
    shape, n_samples, n_replicates = 3.0, 40, 40_000
    data = rng.gamma(shape, size=(n_samples, n_replicates))
    estimates = cavitykit.kstats(data, 6)  # (6, n_replicates)
    truth = gamma_cumulants(shape, 6)
    mean = estimates.mean(axis=1)
    standard_error = estimates.std(axis=1, ddof=1) / np.sqrt(n_replicates)
    assert_within_sampling_error(mean, truth, standard_error)
    # The naive plug-in cumulant (biased central moments) fails the same test at order 2..4.
    naive_k4 = scipy.stats.moment(data, 4, axis=0) - 3 * scipy.stats.moment(data, 2, axis=0) ** 2
    assert abs(naive_k4.mean() - truth[3]) > 4 * standard_error[3]


@pytest.mark.parametrize(("dtype", "offset_in_sigma"), [(np.float64, 1e6), (np.float32, 100.0)])
def test_robust_to_a_large_mean(rng, dtype, offset_in_sigma):
    """k_4 within 1e-6 relative of a long-double two-pass reference where raw-sum estimators fail."""
    noise = rng.gamma(2.0, size=(50_000, 3))
    x = (offset_in_sigma * noise.std() + noise).astype(dtype)
    reference = kstat_two_pass(x, 4).astype(np.float64)
    np.testing.assert_allclose(cavitykit.kstat(x, 4), reference, rtol=1e-6)
    scipy_k4 = np.array([scipy.stats.kstat(x[:, j], 4) for j in range(3)], dtype=np.float64)
    assert np.max(np.abs(scipy_k4 / reference - 1)) > 1e-3, "the case is meant to defeat raw power sums"


@pytest.mark.nojit
def test_chunks_and_merges_equal_one_pass(rng):
    x = rng.gamma(2.0, size=(10_007, 4)) + np.linspace(-50, 50, 10_007)[:, None] ** 2 / 100
    one_pass = cavitykit.kstats(x, 8)
    acc = cavitykit.MomentAccumulator(8)
    for chunk in np.array_split(x[:6000], 7):
        acc.update(chunk)
    other = cavitykit.MomentAccumulator(8)
    for chunk in np.array_split(x[6000:], 3):
        other.update(chunk)
    acc.merge(other)
    np.testing.assert_allclose(acc.kstats(), one_pass, rtol=1e-12)
    np.testing.assert_array_equal(acc.count, np.full(4, 10_007.0))
    np.testing.assert_allclose(acc.kstats(4), one_pass[:4], rtol=1e-12)


def test_accumulator_with_sample_axis_last(rng):
    x = rng.standard_normal((3, 5000)) ** 2
    acc = cavitykit.MomentAccumulator(4, axis=1)
    for chunk in np.array_split(x, 4, axis=1):
        acc.update(chunk)
    np.testing.assert_allclose(acc.kstats(), cavitykit.kstats(x, 4, axis=1), rtol=1e-12)


@pytest.mark.nojit
def test_nan_policies(rng):
    x = rng.standard_normal((200, 3))
    x[5, 1] = np.nan
    x[7, 2] = np.inf
    propagated = cavitykit.kstats(x, 4)
    assert np.all(np.isfinite(propagated[:, 0])) and np.all(np.isnan(propagated[:, 1:]))
    with pytest.raises(ValueError, match="NaN or infinite"):
        cavitykit.kstats(x, 4, nan_policy="raise")
    omitted = cavitykit.kstats(x, 4, nan_policy="omit")
    for j in range(3):
        column = x[:, j][np.isfinite(x[:, j])]
        np.testing.assert_allclose(omitted[:, j], [scipy.stats.kstat(column, n) for n in range(1, 5)], rtol=1e-10)
    with pytest.raises(ValueError, match="nan_policy"):
        cavitykit.kstats(x, 4, nan_policy="ignore")


def test_omit_leaves_too_short_columns_nan():
    x = np.full((6, 2), np.nan)
    x[:, 0] = np.arange(6.0)
    x[:2, 1] = [1.0, 2.0]
    out = cavitykit.kstats(x, 3, nan_policy="omit")
    assert np.all(np.isfinite(out[:, 0]))
    assert np.isfinite(out[1, 1]) and np.isnan(out[2, 1])


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: cavitykit.kstat(np.arange(3.0), 4), ValueError, "at least 4 samples"),
        (lambda: cavitykit.kstat(np.arange(30.0), 9), ValueError, "n must be in"),
        (lambda: cavitykit.kstats(np.arange(30.0), 0), ValueError, "max_order must be in"),
        (lambda: cavitykit.kstat(np.arange(30.0), 2.5), TypeError, "n must be an integer"),
        (lambda: cavitykit.kstat(np.ones((5, 4)), 2, axis=2), ValueError, "axis=2 is out of range"),
        (lambda: cavitykit.kstat(np.array(["a", "b", "c"]), 2), TypeError, "real numeric array"),
        (lambda: cavitykit.kstat(np.ones(5) + 1j, 2), TypeError, "real numeric array"),
        (lambda: cavitykit.kstat(np.float64(3.0), 1), ValueError, "at least one dimension"),
        (lambda: cavitykit.kurtosis(np.ones((50, 2))), ValueError, "zero variance"),
        (lambda: cavitykit.skew(np.ones(50), bias=True), ValueError, "zero variance"),
        (lambda: cavitykit.cumulant_spectrum(np.ones(50)), ValueError, "zero variance"),
        (lambda: cavitykit.kstats(np.array([1e300, -1e300, 1e300, 5.0]), 4), ValueError, "overflow"),
        (lambda: cavitykit.MomentAccumulator(4).kstats(), ValueError, "seen no data"),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_accumulator_rejects_mismatched_chunks(rng):
    acc = cavitykit.MomentAccumulator(4).update(rng.standard_normal((10, 3)))
    with pytest.raises(ValueError, match="non-sample shape"):
        acc.update(rng.standard_normal((10, 2)))
    with pytest.raises(ValueError, match="max_order"):
        acc.merge(cavitykit.MomentAccumulator(8))


def test_cumulant_spectrum_is_standardized_kstats(rng):
    x = rng.exponential(size=(4000, 2))
    spectrum = cavitykit.cumulant_spectrum(x, 6)
    k = cavitykit.kstats(x, 6)
    np.testing.assert_allclose(spectrum[1], 1.0)
    for n in range(1, 7):
        np.testing.assert_allclose(spectrum[n - 1], k[n - 1] / k[1] ** (n / 2), rtol=1e-12)
    np.testing.assert_allclose(spectrum[3], cavitykit.kurtosis(x), rtol=1e-12)


def test_variance_formula_and_estimator_are_exact_for_a_three_point_distribution():
    """Every sample of size 8 from a 3-point law, enumerated with its probability:
    E[k_n] = kappa_n, Var(k_n) = kstat_variance, and E[kstatvar] = Var(k_n)."""
    support, probs = np.array([-1.0, 0.0, 2.0]), np.array([0.5, 0.2, 0.3])
    n_samples = 8
    raw = [float(np.sum(probs * support**r)) for r in range(9)]
    kappa = [0.0] * 9  # cumulants from raw moments by the standard recursion
    for r in range(1, 9):
        kappa[r] = raw[r] - sum(math.comb(r - 1, m - 1) * kappa[m] * raw[r - m] for m in range(1, r))
    grid = np.array(np.meshgrid(*[np.arange(3)] * n_samples, indexing="ij")).reshape(n_samples, -1)
    weights = np.prod(probs[grid], axis=0)
    samples = support[grid]
    estimates = cavitykit.kstats(samples, 4)
    for n in range(1, 5):
        mean = np.sum(weights * estimates[n - 1])
        variance = np.sum(weights * (estimates[n - 1] - mean) ** 2)
        assert mean == pytest.approx(kappa[n], rel=1e-10, abs=1e-12)
        assert variance == pytest.approx(float(kstat_variance(np.array(kappa[1:]), n, n_samples)), rel=1e-10)
        assert np.sum(weights * cavitykit.kstatvar(samples, n)) == pytest.approx(variance, rel=1e-9)


def test_kstatvar_matches_scipy_for_orders_1_and_2(rng):
    x = rng.gamma(2.0, size=500)
    for n in (1, 2):
        assert float(cavitykit.kstatvar(x, n)) == pytest.approx(scipy.stats.kstatvar(x, n), rel=1e-10)


@pytest.mark.slow
def test_kstatvar_estimates_the_spread_of_k4(rng):
    n_samples, n_replicates = 200, 20_000
    data = rng.gamma(4.0, size=(n_samples, n_replicates))
    k4 = cavitykit.kstat(data, 4)
    predicted = kstat_variance(gamma_cumulants(4.0, 8), 4, n_samples)
    assert k4.var() == pytest.approx(predicted, rel=0.05)
    estimates = cavitykit.kstatvar(data, 4)
    assert_within_sampling_error(estimates.mean(), predicted, estimates.std() / np.sqrt(n_replicates))


@pytest.mark.nojit
def test_joint_kstats_reduce_to_univariate_and_covariance(rng):
    x = rng.gamma(2.0, size=(500, 3))
    joint = cavitykit.joint_kstats(x, x, 4)
    k = cavitykit.kstats(x, 4)
    for a in range(5):
        for b in range(5 - a):
            if a + b:
                np.testing.assert_allclose(joint[a, b], k[a + b - 1], rtol=1e-10)
    y = rng.standard_normal((500, 3)) + x
    np.testing.assert_allclose(
        cavitykit.joint_kstats(x, y, 2)[1, 1], [np.cov(x[:, j], y[:, j])[0, 1] for j in range(3)], rtol=1e-10
    )


@pytest.mark.parametrize("order", [2, 3, 4, 6])
def test_joint_kstats_polarize_the_univariate_ones(rng, order):
    """k_n(x + t y) = sum_b C(n, b) t^b k_{n-b, b}(x, y) exactly, for any t."""
    x, y = rng.gamma(2.0, size=(300, 2)), rng.exponential(size=(300, 2))
    joint = cavitykit.joint_kstats(x, y, order)
    for t in (-0.7, 0.3, 2.0):
        direct = cavitykit.kstat(x + t * y, order)
        expanded = sum(math.comb(order, b) * t**b * joint[order - b, b] for b in range(order + 1))
        np.testing.assert_allclose(expanded, direct, rtol=1e-10)


@pytest.mark.slow
def test_joint_kstats_are_unbiased(rng):
    """x = G1, y = G1 + G2 with independent Gammas: kappa_{a,b} = kappa_{a+b}(G1) for a, b >= 1."""
    n_samples, n_replicates = 30, 40_000
    g1 = rng.gamma(2.0, size=(n_samples, n_replicates))
    joint = cavitykit.joint_kstats(g1, g1 + rng.gamma(2.0, size=g1.shape), 4)
    truth = gamma_cumulants(2.0, 4)
    for a, b in [(1, 1), (2, 1), (1, 2), (3, 1), (2, 2), (1, 3)]:
        estimate = joint[a, b]
        error = estimate.std(ddof=1) / np.sqrt(n_replicates)
        assert_within_sampling_error(estimate.mean(), truth[a + b - 1], error)
