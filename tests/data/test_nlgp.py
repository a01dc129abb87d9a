"""Data models against their exact analytic statistics, with sample-size-scaled tolerances."""

import numpy as np
import pytest
import scipy.stats

import cavitykit
from cavitykit.data import NLGP, GaussianClone, IndependentPixels, marginal_cumulants, two_class, two_class_batches
from cavitykit.testing import assert_within_sampling_error


def gaussian_frobenius_error(covariance, n_samples):
    """Expected relative Frobenius error of a sample covariance of n Gaussian samples:
    E||S - Sigma||_F^2 = (||Sigma||_F^2 + tr(Sigma)^2) / n."""
    norm2 = np.sum(covariance**2)
    return np.sqrt((norm2 + np.trace(covariance) ** 2) / n_samples / norm2)


@pytest.mark.parametrize("xi", [2.0, 20.0])
@pytest.mark.parametrize("model_kind", ["nlgp", "clone"])
def test_sample_covariance_within_sampling_error(rng, xi, model_kind):
    model = NLGP(100, xi, 10.0)
    source = model if model_kind == "nlgp" else GaussianClone(model)
    n_samples = 20_000
    X = source.sample(n_samples, rng)
    sample_cov = X.T @ X / n_samples  # known zero mean
    analytic = model.covariance()
    error = np.linalg.norm(sample_cov - analytic) / np.linalg.norm(analytic)
    assert error < 2 * gaussian_frobenius_error(analytic, n_samples)
    np.testing.assert_allclose(np.diag(analytic), 1.0, rtol=1e-12)


@pytest.mark.parametrize(("gain", "expected"), [(0.3, -0.295), (1.0, -1.200), (3.0, -1.757)])
def test_marginal_kurtosis_quadrature_matches_reference(gain, expected):
    kappa = marginal_cumulants(gain, 8)
    assert kappa[1] == pytest.approx(1.0, abs=1e-12)
    assert kappa[3] / kappa[1] ** 2 == pytest.approx(expected, abs=6e-4)
    np.testing.assert_allclose(kappa[[0, 2, 4, 6]], 0.0, atol=1e-15)


@pytest.mark.parametrize("gain", [1.0, 3.0])
def test_sample_marginal_kurtosis_within_three_standard_errors(rng, gain):
    pixel = NLGP(50, 3.0, gain).sample(100_000, rng)[:, 7]
    k = cavitykit.kstats(pixel, 4)
    standard_error = np.sqrt(cavitykit.kstatvar(pixel, 4)) / k[1] ** 2
    expected = marginal_cumulants(gain, 4)[3]
    assert_within_sampling_error(cavitykit.kurtosis(pixel), expected, standard_error, n_se=3)


def test_clone_higher_cumulants_vanish(rng):
    X = GaussianClone(NLGP(50, 3.0, 3.0)).sample(100_000, rng)
    for n in (3, 4):
        k = cavitykit.kstat(X[:, :5], n)
        assert np.all(np.abs(k) < 3.5 * np.sqrt(cavitykit.kstatvar(X[:, :5], n)))


def test_two_dimensional_latent_covariance_is_kronecker():
    one = NLGP(12, 2.5, 2.0)
    two = NLGP(12, 2.5, 2.0, dim=2)
    np.testing.assert_allclose(
        two.latent_covariance(), np.kron(one.latent_covariance(), one.latent_covariance()), atol=1e-14
    )
    assert two.D == 144 and two.shape == (12, 12)


def test_two_dimensional_samples_have_the_analytic_covariance(rng):
    model = NLGP(8, 1.5, 3.0, dim=2)
    n_samples = 40_000
    X = model.sample(n_samples, rng)
    analytic = model.covariance()
    error = np.linalg.norm(X.T @ X / n_samples - analytic) / np.linalg.norm(analytic)
    assert error < 2 * gaussian_frobenius_error(analytic, n_samples)


def test_gain_zero_is_gaussian_and_gain_one_is_uniform(rng):
    gaussian = NLGP(30, 2.0, 0.0)
    np.testing.assert_allclose(gaussian.covariance(), gaussian.latent_covariance())
    np.testing.assert_allclose(marginal_cumulants(0.0, 6), [0, 1, 0, 0, 0, 0], atol=1e-13)
    pixel = NLGP(30, 2.0, 1.0).sample(20_000, rng)[:, 3]
    assert scipy.stats.kstest(pixel, scipy.stats.uniform(-np.sqrt(3), 2 * np.sqrt(3)).cdf).pvalue > 1e-3
    assert np.max(np.abs(pixel)) <= np.sqrt(3)


def test_large_gain_gives_near_binary_pixels(rng):
    X = NLGP(30, 2.0, 100.0).sample(2000, rng)
    assert np.mean(np.abs(np.abs(X) - 1) < 0.1) > 0.9


def test_independent_pixels_are_uncorrelated_with_nlgp_marginals(rng):
    model = IndependentPixels(40, 3.0)
    X = model.sample(50_000, rng)
    off_diagonal = (X.T @ X / 50_000)[~np.eye(40, dtype=bool)]
    assert np.max(np.abs(off_diagonal)) < 5 / np.sqrt(50_000)
    np.testing.assert_array_equal(model.covariance(), np.eye(40))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_same_seed_same_samples(dtype):
    model = NLGP(10, 2.0, 3.0, dim=2, dtype=dtype)
    a = model.sample(40_000, np.random.default_rng(7))
    b = model.sample(40_000, np.random.default_rng(7))
    assert a.dtype == np.dtype(dtype)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, model.sample(40_000, np.random.default_rng(8)))


def test_clone_of_an_explicit_covariance(rng):
    covariance = np.array([[1.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.0]])
    clone = GaussianClone(IndependentPixels(3, 1.0), covariance=covariance)
    X = clone.sample(100_000, rng)
    np.testing.assert_allclose(X.T @ X / 100_000, covariance, atol=0.02)


def test_two_class_is_balanced_and_shuffled(rng):
    X, y = two_class(NLGP(20, 2.0, 3.0), NLGP(20, 10.0, 3.0), 1001, rng)
    assert X.shape == (1001, 20) and y.shape == (1001,)
    assert np.sum(y == 0) == 501 and np.sum(y == 1) == 500
    assert 0 < np.mean(y[:500]) < 1
    batch_X, batch_y = next(two_class_batches(NLGP(20, 2.0, 3.0), NLGP(20, 10.0, 3.0), 16, rng))
    assert batch_X.shape == (16, 20) and set(batch_y) <= {0, 1}


def test_descriptions_name_the_model():
    description = GaussianClone(NLGP(20, 2.0, 3.0, dim=2)).describe()
    assert description["data_model"] == "gaussian_clone" and description["clone_of_xi"] == 2.0
    assert NLGP(20, 2.0, 3.0).describe()["data_model"] == "nlgp"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: NLGP(1, 2.0, 1.0), ValueError, "L must be at least 2"),
        (lambda: NLGP(10, 0.0, 1.0), ValueError, "xi must be > 0"),
        (lambda: NLGP(10, 2.0, -1.0), ValueError, "gain must be >= 0"),
        (lambda: NLGP(10, 2.0, 1.0, dim=3), ValueError, "dim must be 1 or 2"),
        (lambda: NLGP(10, 2.0, 1.0, dtype="int32"), ValueError, "dtype must be one of"),
        (lambda: NLGP(10, 2.0, 1.0).sample(0, np.random.default_rng()), ValueError, "P must be at least 1"),
        (lambda: NLGP(10, 2.0, 1.0).sample(5, 42), TypeError, "rng must be a numpy.random.Generator"),
        (lambda: two_class(NLGP(10, 2.0, 1.0), NLGP(12, 2.0, 1.0), 10, np.random.default_rng()), ValueError, "D=10"),
    ],
)
def test_bad_input_is_named(call, error, message):
    with pytest.raises(error, match=message):
        call()
