"""The SGD kernel against a naive twin, and one step of every parameterization against a hand-made update."""

import math

import numpy as np
import pytest
import scipy.special
import torch

from cavitykit.network import PARAMETERIZATION_NAMES, _kernels, parameterization
from cavitykit.testing.anchor import CommitteePeer, committee_sgd

D, K = 12, 4
CODES = {"erf": _kernels.ERF, "relu": _kernels.RELU, "mse": _kernels.MSE, "cross_entropy": _kernels.CROSS_ENTROPY}


def naive_sgd(weight, mask, bias, readout, readout_mask, x, y, rates, output_scale, activation, loss):
    """Batch-1 SGD written out step by step in float64 numpy, gradients by hand; a readout (E, K) has one
    output (two classes), (E, C, K) C outputs (one-vs-all MSE or softmax cross-entropy)."""
    one_output = readout.ndim == 2
    weight, bias = (np.array(a, dtype=np.float64) for a in (weight, bias))
    readout = np.array(readout, dtype=np.float64).reshape(len(weight), -1, weight.shape[1])
    readout_mask = np.asarray(readout_mask).reshape(readout.shape)
    weight_rate, bias_rate, readout_rate = rates
    losses = np.empty(y.shape)
    sigma = {"erf": lambda z: scipy.special.erf(z / np.sqrt(2)), "relu": lambda z: np.maximum(z, 0.0)}[activation]
    slope = {"erf": lambda z: np.sqrt(2 / np.pi) * np.exp(-(z**2) / 2), "relu": lambda z: (z > 0) * 1.0}[activation]
    for e in range(weight.shape[0]):
        for s in range(x.shape[1]):
            z = weight[e] @ x[e, s] / np.sqrt(D) + (bias[e] if bias.shape[1] else 0.0)
            r = readout[e] * readout_mask[e]  # (C, K)
            f = output_scale * (r @ sigma(z))  # (C,)
            label = int(y[e, s])
            if one_output and loss == "mse":
                g = f - (2 * label - 1)
                losses[e, s] = 0.5 * g[0] ** 2
            elif one_output:
                g = 1 / (1 + np.exp(-f)) - label
                losses[e, s] = np.logaddexp(0, f[0]) - f[0] * label
            elif loss == "mse":
                g = f - np.where(np.arange(len(f)) == label, 1.0, -1.0)
                losses[e, s] = 0.5 * (g**2).sum()
            else:
                g = scipy.special.softmax(f) - (np.arange(len(f)) == label)
                losses[e, s] = scipy.special.logsumexp(f) - f[label]
            dloss_dlambda = output_scale * (g @ r) * slope(z)
            readout[e] -= readout_rate * output_scale * np.outer(g, sigma(z)) * readout_mask[e]
            if bias.shape[1]:
                bias[e] -= bias_rate * dloss_dlambda
            weight[e] -= weight_rate * np.outer(dloss_dlambda, x[e, s]) / np.sqrt(D) * mask[e]
    return weight, bias, readout[:, 0] if one_output else readout, losses


@pytest.mark.nojit
@pytest.mark.parametrize(("activation", "loss"), [("erf", "mse"), ("relu", "cross_entropy")])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("rates", [(0.3, 0.3, 0.3), (1.2, 0.1, 0.0)])
@pytest.mark.parametrize("n_outputs", [1, 3])
def test_kernel_equals_its_naive_twin(activation, loss, with_bias, rates, n_outputs):
    rng = np.random.default_rng(5)
    n_members, n_steps = 2, 9
    mask = (rng.random((n_members, K, D)) > 0.3).astype(np.float32)
    weight = (rng.standard_normal((n_members, K, D)) * mask).astype(np.float32)
    bias = rng.standard_normal((n_members, K if with_bias else 0)).astype(np.float32)
    readout = rng.standard_normal((n_members, n_outputs, K)).astype(np.float32)
    readout_mask = (rng.random((n_members, n_outputs, K)) > 0.2).astype(np.float32)
    x = rng.standard_normal((n_members, n_steps, D)).astype(np.float32)
    y = rng.integers(0, max(2, n_outputs), (n_members, n_steps)).astype(np.float32)
    given = (readout[:, 0], readout_mask[:, 0]) if n_outputs == 1 else (readout, readout_mask)
    expected = naive_sgd(weight, mask, bias, *given, x, y, rates, 0.7, activation, loss)
    losses = np.empty((n_members, n_steps), dtype=np.float32)
    _kernels.sgd_online_block(
        weight, mask, bias, readout, readout_mask, x, y, rates, 0.7, CODES[activation], CODES[loss], losses
    )
    readout = readout[:, 0] if n_outputs == 1 else readout
    for got, want in zip((weight, bias, readout, losses), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)
    assert np.all(weight[mask == 0] == 0)


def kernel_step(w, b, r, x, rates, output_scale, activation, loss):
    """One kernel step of one member, unmasked, towards class 1: w (K, D), b (K,), readout r (C, K), x (D,)
    in; the updated float32 weight, bias and readout, and the step's loss (float32 (1, 1)) out."""
    weight, bias, readout = (np.array(a, dtype=np.float32)[None] for a in (w, b, r))
    losses = np.empty((1, 1), np.float32)
    x = np.array(x, dtype=np.float32)[None, None]
    ones = np.ones_like
    label = np.ones((1, 1), np.float32)
    _kernels.sgd_online_block(
        weight,
        ones(weight),
        bias,
        readout,
        ones(readout),
        x,
        label,
        rates,
        output_scale,
        CODES[activation],
        CODES[loss],
        losses,
    )
    return weight[0], bias[0], readout[0], losses


# (output scale c_K, rate of w, rate of b, rate of v) for K = 2 units, D = 4 inputs, eta = 0.1, written
# out from the definitions: mean field c = 1/K, w at eta K, b at eta K / D; lazy c = 1/sqrt K, w at
# eta sqrt K, b at eta sqrt K / D; committee and two-layer c = 1, b (and v) at eta / D.
HAND_MADE = {
    "standard": (1 / math.sqrt(2), 0.1, 0.1, 0.1),
    "two_layer": (1.0, 0.1, 0.025, 0.025),
    "committee": (1.0, 0.1, 0.025, 0.0),
    "lazy": (1 / math.sqrt(2), 0.1 * math.sqrt(2), 0.1 * math.sqrt(2) / 4, 0.0),
    "mean_field": (0.5, 0.2, 0.05, 0.0),
}


def test_the_hand_made_table_covers_every_parameterization():
    assert set(HAND_MADE) == set(PARAMETERIZATION_NAMES)


@pytest.mark.parametrize("name", PARAMETERIZATION_NAMES)
def test_one_step_of_each_parameterization_is_the_hand_computed_update(name):
    """One erf step from w = [[1, 0, -1, 2], [0.5, 0.5, 0, 0]], b = (1, -1), v = (1, 1) on x = (1, -1, 2, 0), y = 1."""
    scale, weight_rate, bias_rate, readout_rate = HAND_MADE[name]
    chosen = parameterization(name)
    assert chosen.output_scale(2) == pytest.approx(scale, rel=1e-15)
    assert chosen.learning_rates(0.1, width=2, n_inputs=4) == pytest.approx((weight_rate, bias_rate, readout_rate))
    w = np.array([[1.0, 0.0, -1.0, 2.0], [0.5, 0.5, 0.0, 0.0]])
    b, v, x = np.array([1.0, -1.0]), np.array([1.0, 1.0]), np.array([1.0, -1.0, 2.0, 0.0])
    # lambda = w x / sqrt(4) + b = (-1/2 + 1, 0 - 1) = (0.5, -1)
    lam = np.array([0.5, -1.0])
    f = scale * (math.erf(0.5 / math.sqrt(2)) + math.erf(-1 / math.sqrt(2)))
    residual = f - 1.0  # target 2y - 1 = +1
    slope = np.sqrt(2 / np.pi) * np.exp(-(lam**2) / 2)
    expected_w = w - weight_rate * residual * scale * (v * slope)[:, None] * x[None, :] / 2
    expected_b = b - bias_rate * residual * scale * v * slope
    expected_v = v - readout_rate * residual * scale * np.array(
        [math.erf(0.5 / math.sqrt(2)), math.erf(-1 / math.sqrt(2))]
    )

    weight, bias, readout, losses = kernel_step(
        w, b, v[None], x, chosen.learning_rates(0.1, width=2, n_inputs=4), chosen.output_scale(2), "erf", "mse"
    )
    np.testing.assert_allclose(losses[0, 0], 0.5 * residual**2, rtol=1e-6)
    np.testing.assert_allclose(weight, expected_w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bias, expected_b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(readout[0], expected_v, rtol=1e-6, atol=1e-7)
    assert (readout == 1.0).all() == (readout_rate == 0.0)


@pytest.mark.parametrize("n_steps", [1, 300])
def test_the_mean_field_kernel_trains_as_the_anchors_code_does(n_steps):
    """Their MSE over two heads is (f - t)^2, ours 0.5 (f - t)^2: at twice their rate every step is theirs.

    Their class 0 has target +1 on the first head; ours has target 2y - 1, so our label is 1 - theirs.
    """
    rng = np.random.default_rng(11)
    width, inputs = 8, 36
    weight = (rng.standard_normal((width, inputs)) * 0.1).astype(np.float32)
    bias = np.where(np.arange(width) < width // 2, 1.0, -1.0).astype(np.float32)
    x = rng.standard_normal((n_steps, inputs)).astype(np.float32)
    classes = rng.integers(0, 2, n_steps)
    peer = CommitteePeer(torch.from_numpy(weight).double(), torch.from_numpy(bias).double())
    committee_sgd(peer, torch.from_numpy(x).double(), torch.from_numpy(classes).double(), 0.05)

    mean_field = parameterization("mean_field")
    ours_weight, ours_bias, readout = weight[None].copy(), bias[None].copy(), np.ones((1, 1, width), np.float32)
    _kernels.sgd_online_block(
        ours_weight,
        np.ones_like(ours_weight),
        ours_bias,
        readout,
        np.ones_like(readout),
        x[None],
        (1 - classes)[None].astype(np.float32),
        mean_field.learning_rates(0.1, width=width, n_inputs=inputs),
        mean_field.output_scale(width),
        _kernels.ERF,
        _kernels.MSE,
        np.empty((1, n_steps), np.float32),
    )
    np.testing.assert_allclose(ours_weight[0], peer.fc1.detach().numpy().T, rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(ours_bias[0], peer.bias.detach().numpy(), rtol=1e-4, atol=2e-5)
    assert not np.allclose(ours_weight[0], weight)  # it trained


# One step of a 3-class network, K = 4 ReLU units on D = 4 inputs, c_K = 1/sqrt(4) = 1/2, rate 0.1, written out
# by hand.  x = (1, -1, 2, 0), b = (1, -1, 0.5, 0):
#   lambda = w x / 2 + b = (-1/2 + 1, 0 - 1, 2 + 0.5, 1 + 0) = (0.5, -1, 2.5, 1), h = ReLU = (0.5, 0, 2.5, 1);
#   f = (1/2) r h = (1/2) (0.5, 2.5 - 1, -0.5 + 2) = (0.25, 0.75, 0.75); the class is 1.
THREE_CLASS = {
    "w": [[1.0, 0.0, -1.0, 2.0], [0.5, 0.5, 0.0, 0.0], [2.0, 0.0, 1.0, 0.0], [0.0, -2.0, 0.0, 1.0]],
    "b": [1.0, -1.0, 0.5, 0.0],
    "r": [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, -1.0], [-1.0, 0.0, 0.0, 2.0]],
    "x": [1.0, -1.0, 2.0, 0.0],
    "h": [0.5, 0.0, 2.5, 1.0],
}
# dloss/df: one-vs-all MSE against (-1, 1, -1) gives f - t = (1.25, -0.25, 1.75), loss 0.5 (1.5625 + 0.0625 +
# 3.0625); softmax cross-entropy gives p - e_1 with p = (1, e^0.5, e^0.5) / (1 + 2 e^0.5), loss -log p_1.
SOFTMAX_NORM = 1 + 2 * math.exp(0.5)
THREE_CLASS_LOSSES = {
    "mse": ([1.25, -0.25, 1.75], 2.34375),
    "cross_entropy": (
        [1 / SOFTMAX_NORM, math.exp(0.5) / SOFTMAX_NORM - 1, math.exp(0.5) / SOFTMAX_NORM],
        math.log(SOFTMAX_NORM) - 0.5,
    ),
}


def three_class_step_by_hand(loss: str):
    """The parameters after the step and its loss: r -= 0.1 (1/2) g_c h_k; with ReLU slopes (1, 0, 1, 1),
    dloss/dlambda_k = (1/2) sum_c g_c r_ck slope_k; b -= 0.1 dloss/dlambda; w -= 0.1 dloss/dlambda x / 2."""
    g, value = THREE_CLASS_LOSSES[loss]
    w, b, r, x, h = (np.array(THREE_CLASS[key]) for key in ("w", "b", "r", "x", "h"))
    g = np.array(g)
    dloss_dlambda = 0.5 * (g @ r) * np.array([1.0, 0.0, 1.0, 1.0])
    return w - 0.1 * np.outer(dloss_dlambda, x) / 2, b - 0.1 * dloss_dlambda, r - 0.1 * 0.5 * np.outer(g, h), value


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_one_step_of_a_three_class_network_is_the_hand_computed_update(loss):
    expected_w, expected_b, expected_r, expected_loss = three_class_step_by_hand(loss)
    weight, bias, readout, losses = kernel_step(
        *(np.array(THREE_CLASS[key]) for key in ("w", "b", "r", "x")), (0.1, 0.1, 0.1), 0.5, "relu", loss
    )
    np.testing.assert_allclose(losses[0, 0], expected_loss, rtol=1e-6)
    np.testing.assert_allclose(weight, expected_w, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(bias, expected_b, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(readout, expected_r, rtol=1e-6, atol=1e-7)
