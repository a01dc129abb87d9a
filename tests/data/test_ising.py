"""Ising sampler against the exact 1D transfer-matrix correlations and Onsager's 2D magnetization."""

import numba
import numpy as np
import pytest

from cavitykit.data import GaussianClone, Ising, ising_correlation_length, ising_temperature, periodic_autocorrelation
from cavitykit.testing import assert_within_sampling_error


def chain_means(model, X, statistic):
    """Per-chain averages of a per-sample statistic: independent replicates for a standard error."""
    values = statistic(X).reshape(-1, model.n_chains)
    return values.mean(axis=0)


@pytest.mark.parametrize("temperature", [1.0, 2.0, 5.0])
def test_one_dimensional_correlations_match_transfer_matrix(rng, temperature):
    model = Ising(48, temperature, burn_in=500, thin=10, n_chains=16)
    X = model.sample(16 * 200, rng)
    exact = model.covariance_kernel()
    for d in (1, 2, 4):
        means = chain_means(model, X, lambda X, d=d: np.mean(X * np.roll(X, -d, axis=1), axis=1))
        se = means.std(ddof=1) / np.sqrt(len(means))
        assert_within_sampling_error(means.mean(), exact[d], se + 1e-12)
    np.testing.assert_allclose(periodic_autocorrelation(X, model.shape)[1], np.mean(X * np.roll(X, -1, axis=1)))


def test_equilibrium_report_recovers_the_correlation_length(rng):
    model = Ising(64, 1.5)
    report = model.equilibrium(model.sample(4000, rng))
    assert report["correlation_length_exact"] == pytest.approx(-1 / np.log(np.tanh(1 / 1.5)))
    assert report["correlation_length"] == pytest.approx(report["correlation_length_exact"], rel=0.05)
    assert ising_correlation_length(1.5) == model.correlation_length


@pytest.mark.parametrize("correlation_length", [0.3, 1.0, 4.0, 20.0])
def test_temperature_inverts_the_correlation_length(correlation_length):
    temperature = ising_temperature(correlation_length)
    # Independent route: tanh(1/T) = exp(-1/xi).
    assert np.tanh(1 / temperature) == pytest.approx(np.exp(-1 / correlation_length), rel=1e-12)
    assert ising_correlation_length(temperature) == pytest.approx(correlation_length, rel=1e-12)
    with pytest.raises(ValueError, match="correlation_length"):
        ising_temperature(-1.0)


def test_spins_are_binary_with_exact_cumulants(rng):
    model = Ising(32, 2.0)
    X = model.sample(1000, rng)
    assert set(np.unique(X)) == {-1.0, 1.0}
    np.testing.assert_array_equal(model.marginal_cumulants(8), [0, 1, 0, -2, 0, 16, 0, -272])
    assert np.allclose(np.diag(model.covariance()), 1.0)


def test_two_dimensional_ordered_phase_has_onsager_magnetization(rng):
    temperature = 1.5
    model = Ising(16, temperature, dim=2, burn_in=300, thin=5, n_chains=8)
    X = model.sample(800, rng)
    onsager = (1 - np.sinh(2 / temperature) ** -4) ** 0.125
    means = chain_means(model, X, lambda X: np.abs(X.mean(axis=1)))
    assert means.mean() == pytest.approx(onsager, abs=max(5 * means.std(ddof=1) / np.sqrt(8), 2e-3))


def test_two_dimensional_high_temperature_is_weakly_correlated(rng):
    model = Ising(12, 20.0, dim=2, burn_in=50, thin=2)
    X = model.sample(2000, rng)
    correlation = periodic_autocorrelation(X, model.shape)
    assert correlation[0, 0] == pytest.approx(1.0, abs=1e-12)
    assert correlation[0, 1] == pytest.approx(np.tanh(1 / 20), abs=0.02)  # high-T series, leading term
    with pytest.raises(NotImplementedError, match="dim=1"):
        model.covariance()


def test_same_seed_same_samples_whatever_the_thread_count():
    model = Ising(16, 2.0, dim=2, burn_in=20, thin=2, n_chains=4)
    threads = numba.get_num_threads()
    first = model.sample(50, np.random.default_rng(3))
    numba.set_num_threads(1)
    try:
        second = model.sample(50, np.random.default_rng(3))
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(first, second)


def test_gaussian_clone_of_the_chain_has_the_exact_covariance(rng):
    model = Ising(40, 2.0)
    X = GaussianClone(model).sample(20_000, rng)
    np.testing.assert_allclose(X.T @ X / len(X), model.covariance(), atol=0.05)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"L": 1, "temperature": 1.0}, ValueError, "L must be"),
        ({"L": 8, "temperature": 0.0}, ValueError, "temperature must be > 0"),
        ({"L": 8, "temperature": 1.0, "dim": 3}, ValueError, "dim must be 1 or 2"),
        ({"L": 8, "temperature": 1.0, "burn_in": -1}, ValueError, "burn_in must be"),
        ({"L": 8, "temperature": 1.0, "thin": 0}, ValueError, "thin must be"),
        ({"L": 8, "temperature": 1.0, "n_chains": 1.5}, TypeError, "n_chains must be an integer"),
    ],
)
def test_bad_input_is_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        Ising(**kwargs)
