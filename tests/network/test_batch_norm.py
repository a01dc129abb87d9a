"""Batch normalization of every layer's input (``network.batch_norm``): a training step against torch's own
``batch_norm`` on each batch, evaluation against it with the fitted statistics, the fitted statistics
against numpy over the training set, and folding into the weights against the normalized input."""

import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cavitykit.config import TrainingConfig
from cavitykit.imp.train import Task, train_ensemble
from cavitykit.network.ensemble import Ensemble, Network, initial_parameters, member_of
from cavitykit.network.formulas import NORM_EPSILON, Normalization, preactivation
from cavitykit.network.mask import Mask

E, D, WIDTHS, C = 2, 6, (5, 4), 3


def _normalized_ensemble(rng):
    """Members of hidden widths WIDTHS on D inputs with C outputs, random weights, masks and normalizations."""
    masks = Mask.stack(
        [
            Mask(
                rng.random((WIDTHS[0], D)) > 0.3,
                rng.random((C, WIDTHS[-1])) > 0.2,
                prunes_readout=True,
                deep=tuple(rng.random((out, below)) > 0.3 for below, out in itertools.pairwise(WIDTHS)),
            )
            for _ in range(E)
        ]
    )
    fan_ins = (D, *WIDTHS)
    norm = [
        Normalization(
            rng.uniform(0.5, 2.0, (E, n)),
            rng.standard_normal((E, n)),
            rng.standard_normal((E, n)),
            rng.uniform(0.5, 2, (E, n)),
        )
        for n in fan_ins
    ]
    return Ensemble(
        rng.standard_normal((E, WIDTHS[0], D)),
        rng.standard_normal((E, C, WIDTHS[-1])),
        masks,
        bias=rng.standard_normal((E, WIDTHS[0])),
        deep=[rng.standard_normal((E, out, below)) for below, out in itertools.pairwise(WIDTHS)],
        deep_bias=[rng.standard_normal((E, width)) for width in WIDTHS[1:]],
        norm=norm,
        activation="relu",
    )


def _by_torch(ensemble: Ensemble, x: torch.Tensor, member: int, *, training: bool) -> torch.Tensor:
    """One member's outputs by torch.nn.functional: batch_norm, then linear layers in the runs' scaling."""
    weights = [ensemble.weight[member], *(layer[member] for layer in ensemble.deep)]
    biases = [ensemble.bias[member], *(layer[member] for layer in ensemble.deep_bias)]
    hidden = x

    def normalized(inputs, norm):
        mean, var = (None, None) if training else (norm.mean[member], norm.var[member])
        return F.batch_norm(inputs, mean, var, norm.scale[member], norm.shift[member], training=training, eps=1e-5)

    for weight, bias, norm in zip(weights, biases, ensemble.norm, strict=False):
        hidden = torch.relu(F.linear(normalized(hidden, norm), weight / weight.shape[1] ** 0.5, bias))
    readout = ensemble.readout[member]
    return F.linear(normalized(hidden, ensemble.norm[-1]), readout) / readout.shape[1] ** 0.5


def test_a_training_step_normalizes_by_the_batch_and_evaluation_by_the_fitted_statistics():
    ensemble = _normalized_ensemble(np.random.default_rng(0))
    x = torch.randn(E, 40, D) * 3 + 1
    training, evaluated = ensemble.forward(x, batch_statistics=True), ensemble.forward(x)
    for member in range(E):
        torch.testing.assert_close(training[member], _by_torch(ensemble, x[member], member, training=True))
        torch.testing.assert_close(evaluated[member], _by_torch(ensemble, x[member], member, training=False))
    assert not torch.allclose(training, evaluated)


def test_the_fitted_statistics_are_each_layer_input_s_over_the_training_set():
    rng = np.random.default_rng(1)
    ensemble = _normalized_ensemble(rng)
    inputs = [torch.from_numpy(rng.standard_normal((1000, D)) * 2 + 0.5).float() for _ in range(E)]
    ensemble.fit_normalization(inputs, chunk=300)  # four chunks, the last short
    for member in range(E):
        x = inputs[member].double().numpy()
        norm = [
            Normalization(*(getattr(n, f)[member].double().numpy() for f in ("scale", "shift", "mean", "var")))
            for n in ensemble.norm
        ]
        np.testing.assert_allclose(norm[0].mean, x.mean(axis=0), rtol=1e-6)
        np.testing.assert_allclose(norm[0].var, x.var(axis=0), rtol=1e-5)
        # the first hidden layer under the statistics just fitted: relu(W x_hat / sqrt(D) + b)
        w, b = ensemble.weight[member].double().numpy(), ensemble.bias[member].double().numpy()
        hidden = np.maximum(norm[0].apply(x) @ w.T / np.sqrt(D) + b, 0.0)
        np.testing.assert_allclose(norm[1].mean, hidden.mean(axis=0), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(norm[1].var, hidden.var(axis=0), rtol=1e-4, atol=1e-6)
    with pytest.raises(ValueError, match="one training set per member"):
        ensemble.fit_normalization(inputs[:1])


def test_folding_a_normalization_into_the_weights_gives_the_same_pre_activation():
    rng = np.random.default_rng(2)
    norm = Normalization(rng.uniform(0.5, 2, 7), rng.standard_normal(7), rng.standard_normal(7), rng.uniform(0.1, 3, 7))
    x, w, b = rng.standard_normal((50, 7)), rng.standard_normal((3, 7)), rng.standard_normal(3)
    for bias in (b, None):
        folded = norm.fold(w, bias)
        np.testing.assert_allclose(preactivation(x, *folded), preactivation(norm.apply(x), w, bias), atol=1e-12)
    np.testing.assert_allclose(
        norm.apply(x), (x - norm.mean) / np.sqrt(norm.var + NORM_EPSILON) * norm.scale + norm.shift
    )


def test_a_network_s_evaluated_layers_fold_each_hidden_layer_s_normalization():
    rng = np.random.default_rng(3)
    ensemble = _normalized_ensemble(rng)
    network = member_of(ensemble.state(), 1, _member_like(ensemble))
    x = torch.randn(1, 30, D)
    weights, biases = network.evaluated_layers()
    hidden = x[0].double().numpy()
    for weight, bias in zip(weights, biases, strict=True):
        hidden = np.maximum(preactivation(hidden, weight, bias), 0.0)
    last = network.norm[-1].apply(hidden)
    expected = last @ network.readout.T / np.sqrt(WIDTHS[-1])
    got = _by_torch(ensemble, x[0], 1, training=False).double().numpy()
    np.testing.assert_allclose(expected, got, rtol=1e-4, atol=1e-4)


def _member_like(ensemble: Ensemble) -> Network:
    """A Network with member 1's masks, for ``member_of``."""
    mask = ensemble.mask
    return Network(
        np.zeros(mask.weight.shape[1:]),
        np.zeros(mask.readout.shape[1:]),
        Mask(mask.weight[1], mask.readout[1], prunes_readout=True, deep=tuple(layer[1] for layer in mask.deep)),
    )


def test_initial_parameters_normalize_every_input_without_drawing_anything():
    plain = initial_parameters(
        D, WIDTHS[0], deeper=WIDTHS[1:], bias=True, n_classes=C, generator=torch.Generator().manual_seed(0)
    )
    normed = initial_parameters(
        D,
        WIDTHS[0],
        deeper=WIDTHS[1:],
        bias=True,
        n_classes=C,
        generator=torch.Generator().manual_seed(0),
        batch_norm=True,
    )
    for name, value in plain.items():
        torch.testing.assert_close(normed[name], value)  # the same draws
    assert [normed[f"norm_scale_{layer}"].shape[0] for layer in (1, 2, 3)] == [D, *WIDTHS]
    assert all(
        normed[f"norm_var_{layer}"].eq(1).all() and normed[f"norm_shift_{layer}"].eq(0).all() for layer in (1, 2, 3)
    )


def test_training_moves_the_scales_and_shifts_and_keeps_pruned_weights_zero():
    rng = np.random.default_rng(4)
    ensemble = _normalized_ensemble(rng)
    before = ensemble.state()
    x_train = [torch.randn(200, D) for _ in range(E)]
    tasks = [
        Task(torch.randn(50, D), torch.randint(0, C, (50,)).float(), (), x, torch.randint(0, C, (200,)))
        for x in x_train
    ]
    config = TrainingConfig(
        mode="batch", optimizer="adam", learning_rate=0.01, steps=30, batch_size=20, loss="cross_entropy"
    )
    train_ensemble(ensemble, tasks, [0, 1], config, n_steps=30)
    after = ensemble.state()
    assert not torch.allclose(after["norm_scale_1"], before["norm_scale_1"])
    assert not torch.allclose(after["norm_shift_3"], before["norm_shift_3"])
    assert (ensemble.weight[~torch.from_numpy(ensemble.mask.weight)] == 0).all()
    torch.testing.assert_close(after["norm_mean_1"], torch.stack(x_train).mean(dim=1))  # fitted after training
    with pytest.raises(ValueError, match="needs mode = 'batch'"):
        train_ensemble(ensemble, [Task(t.x_test, t.y_test, ()) for t in tasks], [0, 1], config, n_steps=1)
