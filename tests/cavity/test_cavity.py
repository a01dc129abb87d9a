"""Cavity effects: exact identity against brute force, expansions against exact, theory against data."""

import os
import subprocess
import sys
from functools import partial

import numba
import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from cavitykit import cavity
from cavitykit.cavity._driver import KEPT_ROUTE_MAX_DENSITY, first_layer_sums
from cavitykit.data import NLGP, GaussianClone, IndependentPixels, marginal_cumulants
from cavitykit.stats.moments import central_moments
from cavitykit.testing import assert_close_to_reference, assert_within_sampling_error, brute_force_cavity

STATISTICS = ["k2", "k3", "k4", "k5", "k6", "variance", "skewness", "excess_kurtosis"]


@pytest.fixture(scope="module")
def small_case():
    rng = np.random.default_rng(2024)
    weights = rng.standard_normal((4, 32))
    mask = rng.random((4, 32)) > 0.25
    inputs = NLGP(32, 3.0, 3.0).sample(2000, rng)
    return weights, mask, inputs


@pytest.mark.parametrize("statistic", STATISTICS)
@pytest.mark.parametrize("use_mask", [False, True])
def test_exact_equals_brute_force(small_case, statistic, use_mask):
    weights, mask, inputs = small_case
    if use_mask:
        result = cavity.exact(weights, inputs, statistic=statistic, mask=mask, batch_size=300)
        reference = brute_force_cavity(weights, inputs, statistic=statistic, mask=mask)
        assert np.isnan(result.values[~mask]).all()
    else:
        result = cavity.exact(np.where(mask, weights, 0.0), inputs, statistic=statistic)
        reference = brute_force_cavity(np.where(mask, weights, 0.0), inputs, statistic=statistic)
    assert_close_to_reference(result.values, reference)


def test_float32_inputs_accumulate_in_float64(small_case):
    weights, _, inputs = small_case
    inputs32 = inputs.astype(np.float32)
    result = cavity.exact(weights, inputs32)
    assert_close_to_reference(result.values, brute_force_cavity(weights, inputs32.astype(np.float64)))


def test_result_is_labelled(small_case):
    weights, mask, inputs = small_case
    result = cavity.exact(weights, inputs, mask=mask)
    assert result.dims == ("neuron", "input")
    assert result.shape == (4, 32)
    np.testing.assert_array_equal(result.neuron, np.arange(4))
    expected = scipy.stats.kurtosis(inputs @ np.where(mask, weights, 0).T / np.sqrt(32), bias=False)
    np.testing.assert_allclose(result.statistic_value, expected, rtol=1e-10)
    assert result.attrs["statistic"] == "excess_kurtosis" and result.attrs["n_samples"] == 2000


@pytest.mark.parametrize("statistic", ["k3", "k4", "excess_kurtosis"])
def test_expansion_to_full_degree_of_a_kstatistic_is_exact(small_case, statistic):
    weights, _, inputs = small_case
    exact = cavity.exact(weights, inputs, statistic=statistic).values
    order = 4
    approx = cavity.expansion(weights, inputs, statistic=statistic, order=order).values
    if statistic == "excess_kurtosis":  # a ratio: the series does not terminate, but order 4 is close
        assert np.median(np.abs(approx - exact) / np.abs(exact)) < 1e-2
    else:
        assert_close_to_reference(approx, exact)


def test_first_order_expansion_is_the_derivative(small_case):
    weights, _, inputs = small_case
    first = cavity.expansion(weights, inputs, order=1).values
    # Central difference of the exact change at a tiny removal fraction, for one weight.
    k, i, h = 1, 5, 1e-4
    x = inputs @ weights.T / np.sqrt(32)
    step = weights[k, i] / np.sqrt(32) * inputs[:, i]

    def kurt(fraction):
        return scipy.stats.kurtosis(x[:, k] - fraction * step, bias=False)

    derivative = (kurt(h) - kurt(-h)) / (2 * h)
    assert first[k, i] == pytest.approx(derivative, rel=1e-5)


@pytest.fixture(scope="module")
def expansion_errors():
    """Median relative error of orders 1, 2, 3 against exact, w ~ N(0, 1/D), NLGP(xi=3, g=3) data."""
    rng = np.random.default_rng(5)
    errors = {}
    for n_inputs in (64, 256):
        weights = rng.standard_normal((8, n_inputs)) / np.sqrt(n_inputs)
        inputs = NLGP(n_inputs, 3.0, 3.0).sample(20_000, rng)
        exact = cavity.exact(weights, inputs).values
        errors[n_inputs] = [
            np.median(np.abs(cavity.expansion(weights, inputs, order=m).values - exact) / np.abs(exact))
            for m in (1, 2, 3)
        ]
    return errors


def test_expansion_error_falls_with_order_and_dimension(expansion_errors):
    for errors in expansion_errors.values():
        assert errors[0] > errors[1] > errors[2]
    assert all(big < small for big, small in zip(expansion_errors[256], expansion_errors[64], strict=True))
    # theory/cavity.md tabulates the measured fall: 10%, 1.8%, 0.25% at D = 256.
    assert expansion_errors[256][0] < 0.2 and expansion_errors[256][2] < 0.01


def test_gaussian_clone_effects_vanish_within_paired_error():
    rng = np.random.default_rng(11)
    model = NLGP(64, 3.0, 3.0)
    weights = rng.standard_normal((4, 64))
    for source, expect_zero in ((GaussianClone(model), True), (model, False)):
        inputs = source.sample(40_000, rng)
        delta = cavity.exact(weights, inputs).values
        se = cavity.standard_error(weights, inputs, n_batches=20).values
        z = delta / se
        if expect_zero:
            assert np.sqrt(np.mean(z**2)) < 1.5
            assert np.mean(np.abs(z) > 4) < 0.01
        else:  # the same test detects the effects on the non-Gaussian data
            assert np.sqrt(np.mean(z**2)) > 3  # measured 5.1-6.4 over three seeds


def test_independent_pixels_agree_with_independent_theory():
    rng = np.random.default_rng(13)
    gain, n_inputs = 3.0, 48
    kappa = marginal_cumulants(gain, 4)
    weights = rng.standard_normal((3, n_inputs)) * np.exp(-np.abs(np.arange(n_inputs) - 24) / 6.0)
    inputs = IndependentPixels(n_inputs, gain).sample(100_000, rng)
    theory = cavity.independent_theory(weights, kappa[3] / kappa[1] ** 2)
    delta = cavity.exact(weights, inputs)
    se = cavity.standard_error(weights, inputs, n_batches=20).values
    z = (delta.values - theory.values) / se
    assert np.sqrt(np.mean(z**2)) < 1.6
    assert np.corrcoef(delta.values.ravel(), theory.values.ravel())[0, 1] > 0.95
    # The kurtosis of a unit is a sample estimate: its error is about 3 sqrt(24 / P) for these heavy weights.
    assert_within_sampling_error(delta.statistic_value, theory.statistic_value, 3 * np.sqrt(24 / 100_000), n_se=5)


def receptive_fields(model, rng):
    """A bump narrower than xi, a noisy bump of width xi, an extended field, a random field, a random
    local patch: (5, D) on the model's ring or torus, centred."""
    coordinates = np.indices(model.shape).reshape(model.dim, -1).T
    distance2 = (((coordinates - model.L // 2) % model.L - model.L // 2) ** 2).sum(axis=1)
    fields = np.stack(
        [
            np.exp(-distance2 / 2.0) * (distance2 <= 9),
            np.exp(-distance2 / 8.0) * (1 + 0.3 * rng.standard_normal(model.D)) * (distance2 <= 16),
            np.exp(-distance2 / 50.0),
            rng.standard_normal(model.D),
            rng.standard_normal(model.D) * (distance2 < 10),
        ]
    )
    return fields


@pytest.mark.parametrize(("L", "dim", "xi", "gain"), [(48, 1, 3.0, 3.0), (10, 2, 2.0, 3.0), (10, 2, 1.5, 10.0)])
def test_nlgp_theory_agrees_with_exact_ablation_on_samples(L, dim, xi, gain):
    # Fields it was not tuned on, on a ring and a torus, within the paired sampling error of
    # cavity.exact, which shrinks like 1 / sqrt(P).  The default window (2.5 xi) for the bumps, the
    # extended and the random field; a random-sign patch wider than xi needs 3 xi (docs/cavity.md).
    rng = np.random.default_rng(L + dim)
    model = NLGP(L, xi, gain, dim=dim)
    weights = receptive_fields(model, rng)
    inputs = model.sample(200_000, rng)
    delta = cavity.exact(weights, inputs)
    se = cavity.standard_error(weights, inputs).values
    theory = cavity.nlgp_theory(weights[:4], model).values
    theory = np.vstack([theory, cavity.nlgp_theory(weights[4:], model, radius=3 * xi).values])
    kept = np.isfinite(delta.values)
    np.testing.assert_array_equal(np.isfinite(theory), kept)
    for unit in range(5):
        z = ((theory[unit] - delta.values[unit]) / se[unit])[kept[unit]]
        assert np.sqrt(np.mean(z**2)) < 1.5, unit
        assert np.abs(z).max() < 5, unit
    assert np.abs(delta.values[kept]).max() > 20 * np.median(se[kept])  # the effects are resolved, not noise
    gamma = cavity.nlgp_theory(weights, model, radius=3 * xi).statistic_value
    assert_within_sampling_error(delta.statistic_value, gamma, 3 * np.sqrt(24 / 200_000), n_se=4)


def test_nlgp_theory_is_the_independent_theory_when_pixels_are_uncorrelated():
    model = NLGP(30, 0.05, 3.0)
    weights = np.random.default_rng(4).standard_normal((3, 30))
    mask = np.random.default_rng(5).random((3, 30)) > 0.3
    kappa_x = marginal_cumulants(3.0, 4)[3]
    theory = cavity.nlgp_theory(weights, model, mask=mask)
    np.testing.assert_allclose(theory.values, cavity.independent_theory(weights, kappa_x, mask=mask).values, atol=1e-12)
    np.testing.assert_allclose(theory.coherence, 1.0)
    assert np.isnan(theory.values[~mask]).all()
    assert theory.attrs["method"] == "nlgp_theory" and theory.attrs["radius"] == 2.5 * 0.05


def test_nlgp_theory_on_the_gaussian_limit_and_bad_arguments():
    weights = np.random.default_rng(6).standard_normal((2, 16))
    assert np.all(cavity.nlgp_theory(weights, NLGP(16, 2.0, 0.0)).values == 0)
    with pytest.raises(TypeError, match=r"model must be a cavitykit\.data\.NLGP, got GaussianClone"):
        cavity.nlgp_theory(weights, GaussianClone(NLGP(16, 2.0, 3.0)))
    with pytest.raises(
        ValueError, match=r"weights must have D = 25 inputs to match the model's shape \(5, 5\), got 16"
    ):
        cavity.nlgp_theory(weights, NLGP(5, 2.0, 3.0, dim=2))
    with pytest.raises(ValueError, match="radius must be a number > 0"):
        cavity.nlgp_theory(weights, NLGP(16, 2.0, 3.0), radius=0)


def test_independent_theory_follows_the_ipr_threshold():
    rng = np.random.default_rng(3)
    weights = rng.standard_normal((5, 20))
    theory = cavity.independent_theory(weights, -2.0)
    s2 = np.sum(weights**2, axis=1, keepdims=True)
    s4 = np.sum(weights**4, axis=1, keepdims=True)
    raises_ipr = weights**2 < 2 * s2 * s4 / (s2**2 + s4)
    np.testing.assert_array_equal(theory.values < 0, raises_ipr)  # kappa_x < 0: higher IPR, more negative
    np.testing.assert_allclose(theory.ipr, (s4 / s2**2)[:, 0])
    lone = np.zeros((1, 4))
    lone[0, 2] = 1.0
    assert np.isnan(cavity.independent_theory(lone, -1.0).values).all()  # pruned, or the last weight


def test_group_of_one_weight_equals_the_single_effect(small_case):
    weights, mask, inputs = small_case
    removed = np.zeros_like(mask)
    removed[np.arange(4), [0, 3, 5, 7]] = True
    removed &= mask
    group = cavity.group_effect(weights, inputs, removed, mask=mask)
    singles = cavity.exact(weights, inputs, mask=mask).values
    expected = np.where(removed, singles, 0.0).sum(axis=1)
    np.testing.assert_allclose(group.group, expected, atol=1e-10 * np.abs(expected).max())
    np.testing.assert_allclose(group.sum_of_singles, expected)


def test_group_of_many_weights_is_not_the_sum_of_singles(small_case):
    weights, mask, inputs = small_case
    removed = mask & (np.abs(weights) < np.quantile(np.abs(weights), 0.5))
    group = cavity.group_effect(weights, inputs, removed, mask=mask)
    kept = np.where(mask & ~removed, weights, 0.0)
    scale = 1 / np.sqrt(32)
    direct = scipy.stats.kurtosis(inputs @ kept.T * scale, bias=False) - scipy.stats.kurtosis(
        inputs @ np.where(mask, weights, 0).T * scale, bias=False
    )
    np.testing.assert_allclose(group.group, direct, rtol=1e-9)
    np.testing.assert_array_equal(group.n_removed, removed.sum(axis=1))


@pytest.mark.parametrize("activation", ["erf", "relu"])
def test_next_layer_exact_equals_brute_force(activation):
    rng = np.random.default_rng(17)
    n_hidden, n_inputs, n_out = 3, 12, 2
    weights = rng.standard_normal((n_hidden, n_inputs))
    readout = rng.standard_normal((n_out, n_hidden))
    bias = 0.2 * rng.standard_normal(n_hidden)
    inputs = NLGP(n_inputs, 2.0, 3.0).sample(3000, rng)
    sigma = {"erf": lambda z: scipy.special.erf(z / np.sqrt(2)), "relu": lambda z: np.maximum(z, 0)}[activation]

    def output_kurtosis(first):
        hidden = sigma(inputs @ first.T / np.sqrt(n_inputs) + bias)
        return scipy.stats.kurtosis(hidden @ readout.T / np.sqrt(n_hidden), axis=0, bias=False)

    base = output_kurtosis(weights)
    reference = np.empty((n_out, n_hidden, n_inputs))
    for k in range(n_hidden):
        for i in range(n_inputs):
            removed = weights.copy()
            removed[k, i] = 0.0
            reference[:, k, i] = output_kurtosis(removed) - base
    result = cavity.next_layer_exact(weights, readout, inputs, activation=activation, bias=bias, batch_size=700)
    assert result.dims == ("output", "neuron", "input")
    assert_close_to_reference(result.values, reference)


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda w, x: cavity.exact(w, x[:, :5]), ValueError, r"inputs must have shape \(P, 8\)"),
        (lambda w, x: cavity.exact(w[0], x), ValueError, "weights must be a non-empty 2-D"),
        (lambda w, x: cavity.exact(w, x[:3]), ValueError, "at least 4 samples"),
        (lambda w, x: cavity.exact(w, x, mask=np.ones((2, 2), bool)), ValueError, "mask must have the shape"),
        (lambda w, x: cavity.exact(w, x, mask=np.ones(w.shape)), TypeError, "mask must be a boolean"),
        (lambda w, x: cavity.exact(w, np.where(x > 1, np.nan, x)), ValueError, "inputs contain NaN"),
        (lambda w, x: cavity.exact(np.where(w > 1, np.inf, w), x), ValueError, "weights contain NaN"),
        (lambda w, x: cavity.exact(w, x, statistic="kurt"), ValueError, "statistic must be one of"),
        (lambda w, x: cavity.exact(w, np.ones_like(x)), ValueError, "neuron 0 is constant"),
        (lambda w, x: cavity.exact(w, x, batch_size=0), ValueError, "batch_size must be"),
        (lambda w, x: cavity.expansion(w, x, order=0), ValueError, "order must be"),
        (lambda w, x: cavity.independent_theory(w, "a"), TypeError, "kappa_x must be a real"),
        (lambda w, x: cavity.standard_error(w, x, n_batches=1), ValueError, "n_batches must be"),
        (lambda w, x: cavity.group_effect(w, x, np.ones(3, bool)), ValueError, "removed must be a boolean"),
        (lambda w, x: cavity.next_layer_exact(w, np.ones((1, 5)), x), ValueError, r"readout must have shape"),
        (lambda w, x: cavity.next_layer_exact(w, np.ones((1, 3)), x, activation="tanh"), ValueError, "activation"),
    ],
)
def test_bad_input_is_named(call, error, message):
    rng = np.random.default_rng(0)
    with pytest.raises(error, match=message):
        call(rng.standard_normal((3, 8)), rng.standard_normal((50, 8)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_request_without_cuda_is_a_clear_error(small_case):
    weights, _, inputs = small_case
    with pytest.raises(ValueError, match="no CUDA device"):
        cavity.exact(weights, inputs, device="cuda")


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_equals_cpu(small_case):
    weights, mask, inputs = small_case
    on_gpu = cavity.exact(weights, inputs, mask=mask, device="cuda").values
    on_cpu = cavity.exact(weights, inputs, mask=mask, device="cpu").values
    assert_close_to_reference(on_gpu, on_cpu, rtol=1e-12)


def test_exact_and_expansion_in_one_pass_equal_the_separate_calls(small_case):
    weights, mask, inputs = small_case
    exact, expansions = cavity.exact_and_expansion(weights, inputs, orders=(1, 3), mask=mask)
    np.testing.assert_array_equal(exact.values, cavity.exact(weights, inputs, mask=mask).values)
    assert expansions.dims == ("approx_order", "neuron", "input")
    for order in (1, 3):
        np.testing.assert_array_equal(
            expansions.sel(approx_order=order).values, cavity.expansion(weights, inputs, order=order, mask=mask).values
        )


@pytest.fixture(scope="module")
def pruned_case():
    """A layer late in IMP: 30% of the weights kept, unit 2 pruned away entirely."""
    rng = np.random.default_rng(7)
    weights = rng.standard_normal((4, 12))
    mask = rng.random((4, 12)) < 0.3
    mask[2] = False
    mask[[0, 1, 3], 0] = True
    inputs = NLGP(12, 2.0, 3.0).sample(700, rng) + 0.5  # not centred; 700 rows: a partial last block
    return np.where(mask, weights, 0.0), mask, inputs


@pytest.mark.nojit
@pytest.mark.parametrize("powers", [[2], [3], [2, 3], [2, 4]])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kept_weight_route_equals_the_gemm_route(pruned_case, powers, dtype):
    weights, mask, inputs = pruned_case
    inputs = inputs.astype(dtype)
    moments = central_moments(inputs, max(powers))
    sums = {
        route: first_layer_sums(
            inputs, moments, weights, mask, powers, batch_size=None, device=torch.device("cpu"), route=route
        )
        for route in ("gemm", "kept")
    }
    kept = np.broadcast_to(mask, sums["gemm"].shape)
    np.testing.assert_allclose(sums["kept"][kept], sums["gemm"][kept], rtol=1e-12, atol=1e-9)
    mixed = np.zeros_like(kept)
    mixed[1:, 1:] = True
    assert not sums["kept"][mixed & ~kept].any()  # pruned pairs are left at zero
    np.testing.assert_allclose(sums["kept"][:, 0], sums["gemm"][:, 0], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(sums["kept"][0], sums["gemm"][0])


@pytest.mark.parametrize("statistic", ["variance", "k3", "k4", "skewness", "excess_kurtosis"])
def test_exact_on_a_pruned_layer_equals_brute_force(pruned_case, statistic):
    weights, mask, inputs = pruned_case
    alive = mask.any(axis=1)
    assert mask[alive].mean() <= KEPT_ROUTE_MAX_DENSITY  # the kept-weight route runs
    result = cavity.exact(weights[alive], inputs, statistic=statistic, mask=mask[alive])
    reference = brute_force_cavity(weights[alive], inputs, statistic=statistic, mask=mask[alive])
    # Units of three to five weights: one removal changes the statistic by O(1), and the identity's
    # cancellation costs a digit more than in small_case; the GEMM route, whose sums run over
    # every input of a unit, pruned ones included, loses up to three digits more.
    assert_close_to_reference(result.values, reference, rtol=1e-9)
    assert result.attrs["route"] == "kept"
    forced = cavity.exact(weights[alive], inputs, statistic=statistic, mask=mask[alive], route="gemm")
    assert forced.attrs["route"] == "gemm"
    assert_close_to_reference(forced.values, reference, rtol=1e-6)


def test_exact_takes_the_gemm_route_on_a_dense_layer_and_names_a_bad_route(small_case):
    weights, _, inputs = small_case
    assert cavity.exact(weights, inputs).attrs["route"] == "gemm"
    with pytest.raises(ValueError, match=r"route must be one of .*; got 'dense'"):
        cavity.exact(weights, inputs, route="dense")


def test_kept_weight_route_does_not_depend_on_the_thread_count(pruned_case):
    weights, mask, inputs = pruned_case
    moments = central_moments(inputs, 4)
    threads = numba.get_num_threads()

    def sums(n_threads):
        numba.set_num_threads(n_threads)
        try:
            return first_layer_sums(inputs, moments, weights, mask, [2, 4], batch_size=None, device=torch.device("cpu"))
        finally:
            numba.set_num_threads(threads)

    np.testing.assert_array_equal(sums(1), sums(threads))


def test_kept_weight_route_refuses_what_it_cannot_sum(pruned_case):
    weights, mask, inputs = pruned_case
    sums = partial(first_layer_sums, inputs, central_moments(inputs, 6), weights, mask)
    with pytest.raises(ValueError, match="up to 4, not 6"):
        sums([2, 6], batch_size=None, device=torch.device("cpu"), route="kept")
    with pytest.raises(ValueError, match="route"):
        sums([2], batch_size=None, device=torch.device("cpu"), route="dense")


_KEPT_ROUTE_SCRIPT = """
import hashlib, sys
import numpy as np, torch
from cavitykit.cavity._driver import first_layer_sums
from cavitykit.stats.moments import central_moments
rng = np.random.default_rng(3)
x = rng.standard_normal((5000, 40)).astype(np.float32)
w, mask = rng.standard_normal((8, 40)), rng.random((8, 40)) < 0.3
sums = first_layer_sums(
    x, central_moments(x, 4), np.where(mask, w, 0.0), mask, [2, 4], batch_size=None, device=torch.device("cpu"),
    route="kept",
)
sys.stdout.write(hashlib.sha256(sums.tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_kept_weight_route_sums_alike_in_every_process(tmp_path):
    # A run resumed in a new process must equal an uninterrupted one.  The second process would find
    # the first one's compiled kernel in the shared cache if the kernel were cached: that copy summed
    # in another order.
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    digests = [
        subprocess.run(
            [sys.executable, "-c", _KEPT_ROUTE_SCRIPT], env=environment, capture_output=True, text=True, check=True
        ).stdout
        for _ in range(2)
    ]
    assert len(digests[0]) == 64 and digests[0] == digests[1]


@pytest.mark.parametrize(("parameterization", "scale"), [("standard", 1 / np.sqrt(3)), ("mean_field", 1 / 3)])
def test_next_layer_exact_uses_the_networks_output_scale(parameterization, scale):
    """The variance of mu = c_K v . h changes with c_K^2: brute force with the scale of each parameterization."""
    rng = np.random.default_rng(3)
    weights, readout = rng.standard_normal((3, 8)), rng.standard_normal((1, 3))
    inputs = NLGP(8, 2.0, 3.0).sample(2000, rng)

    def variance(first):
        mu = scipy.special.erf(inputs @ first.T / np.sqrt(8) / np.sqrt(2)) @ readout.T * scale
        return np.var(mu, axis=0, ddof=1)

    reference = np.empty((1, 3, 8))
    for k, i in np.ndindex(3, 8):
        removed = weights.copy()
        removed[k, i] = 0.0
        reference[:, k, i] = variance(removed) - variance(weights)
    result = cavity.next_layer_exact(weights, readout, inputs, statistic="k2", parameterization=parameterization)
    assert_close_to_reference(result.values, reference)


@pytest.mark.parametrize("route", ["gemm", "kept"])
def test_a_unit_pruned_away_gets_nan_and_a_warning_and_the_rest_is_computed(route):
    rng = np.random.default_rng(11)
    weights, inputs = rng.standard_normal((4, 12)), rng.uniform(-1, 1, (3000, 12))
    mask = rng.random(weights.shape) < 0.3
    mask[2] = False
    with pytest.warns(UserWarning, match=r"neuron\(s\) 2 have no weight left"):
        effects = cavity.exact(weights * mask, inputs, mask=mask, route=route)
    assert np.isnan(effects[2]).all() and np.isnan(effects.statistic_value[2])
    alive = [0, 1, 3]
    np.testing.assert_allclose(effects[alive], brute_force_cavity(weights[alive] * mask[alive], inputs), atol=1e-9)
    with pytest.warns(UserWarning, match="no weight left"):
        expanded = cavity.expansion(weights * mask, inputs, mask=mask, order=2)
    assert np.isnan(expanded[2]).all() and np.isfinite(expanded[alive].values[mask[alive]]).all()


def test_a_layer_in_blocks_equals_the_layer_at_once_in_either_convention(rng):
    """Blocks of 2 units cross a unit with no weight left; nn.Linear's W gives the effects of W sqrt(D)."""
    W, x = rng.standard_normal((5, 6)), rng.standard_normal((3000, 6))
    W[2] = 0.0
    whole = cavity.exact(W * np.sqrt(6), x)
    with pytest.warns(UserWarning, match=r"neuron\(s\) 2 have no weight left"):
        blocks = cavity.layer_effects(W, x, convention="linear", bias=np.ones(5), block=2)
    np.testing.assert_allclose(blocks.values, whole.values, rtol=1e-9, atol=1e-12, equal_nan=True)
    assert np.isnan(blocks.sel(neuron=2)).all() and "+ b" in blocks.attrs["preactivation"]
