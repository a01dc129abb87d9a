"""Deeper networks (``network.hidden``): the forward pass, the gradient and the masks against references
written out by hand."""

import itertools

import numpy as np
import pytest
import torch

from cavitykit.config import TrainingConfig
from cavitykit.imp.train import Task, train_ensemble
from cavitykit.network.ensemble import Ensemble, Network, initial_parameters, member_of
from cavitykit.network.mask import Mask

E, D, WIDTHS, C = 2, 6, (5, 4, 3), 3


def _deep_ensemble(rng, *, prunes_readout=True):
    """Members of hidden widths WIDTHS on D inputs with C outputs, random weights and masks."""
    masks = [Mask.dense(WIDTHS, D, n_outputs=C, prunes_readout=prunes_readout) for _ in range(E)]
    masks = [
        Mask(
            rng.random(m.weight.shape) > 0.3,
            rng.random(m.readout.shape) > 0.2,
            prunes_readout=prunes_readout,
            deep=tuple(rng.random(layer.shape) > 0.3 for layer in m.deep),
        )
        for m in masks
    ]
    mask = Mask.stack(masks)
    deep = [rng.standard_normal((E, out, below)) for below, out in itertools.pairwise(WIDTHS)]
    return Ensemble(
        rng.standard_normal((E, WIDTHS[0], D)),
        rng.standard_normal((E, C, WIDTHS[-1])),
        mask,
        bias=rng.standard_normal((E, WIDTHS[0])),
        deep=deep,
        deep_bias=[rng.standard_normal((E, width)) for width in WIDTHS[1:]],
        activation="relu",
    )


def _loops(ensemble, x):
    """f of every member by loops over units: h_l = relu(W_l h_(l-1) / sqrt(K_(l-1)) + b_l), then
    f_c = sum_k r_ck h_k / sqrt(K_L)."""
    weights = [ensemble.weight, *ensemble.deep]
    biases = [ensemble.bias, *ensemble.deep_bias]
    out = np.zeros((E, x.shape[1], C))
    for e in range(E):
        for p in range(x.shape[1]):
            h = list(x[e, p])
            for w, b in zip(weights, biases, strict=True):
                w, b = w[e].double().numpy(), b[e].double().numpy()
                h = [max(0.0, sum(w[k, i] * h[i] for i in range(len(h))) / len(h) ** 0.5 + b[k]) for k in range(len(w))]
            r = ensemble.readout[e].double().numpy()
            out[e, p] = [sum(r[c, k] * h[k] for k in range(len(h))) / len(h) ** 0.5 for c in range(C)]
    return out


def test_the_deep_forward_pass_is_the_formula_written_as_loops():
    rng = np.random.default_rng(0)
    ensemble = _deep_ensemble(rng)
    x = rng.standard_normal((E, 3, D))
    np.testing.assert_allclose(
        ensemble.forward(torch.as_tensor(x, dtype=torch.float32)), _loops(ensemble, x), rtol=1e-5, atol=1e-5
    )
    for layer, keep in zip(ensemble.deep, ensemble.mask.deep, strict=True):
        assert np.all(layer.numpy()[~keep] == 0)  # pruned weights zero from the start
    assert np.all(ensemble.readout.numpy()[~ensemble.mask.readout] == 0)


def test_one_sgd_step_matches_a_hand_written_torch_mlp_and_keeps_the_masks(monkeypatch):
    rng = np.random.default_rng(1)
    ensemble = _deep_ensemble(rng)
    member = 1
    # the reference: member 1 as an explicit chain of matmuls, its gradient by autograd, then w -= eta grad
    params = {name: value[member].clone().requires_grad_(True) for name, value in ensemble.state().items()}
    x = torch.as_tensor(rng.standard_normal((4, D)), dtype=torch.float32)
    y = torch.tensor([0, 2, 1, 2])
    h = x
    for weight, bias in (("weight", "bias"), ("weight_2", "bias_2"), ("weight_3", "bias_3")):
        h = torch.relu(h @ params[weight].T / h.shape[1] ** 0.5 + params[bias])
    logits = h @ params["readout"].T / h.shape[1] ** 0.5
    torch.nn.functional.cross_entropy(logits, y).backward()
    eta = 0.1
    masks = dict(
        zip(
            ("weight", "weight_2", "weight_3", "readout"),
            (ensemble.mask.weight, *ensemble.mask.deep, ensemble.mask.readout),
            strict=True,
        )
    )
    expected = {
        name: (
            (p - eta * p.grad) * torch.as_tensor(masks[name][member]) if name in masks else p - eta * p.grad
        ).detach()
        for name, p in params.items()
    }
    xs = torch.stack([x, x])[:, None]  # (E, steps = 1, batch, D): both members on the same batch
    task = Task(x, y.float(), (), x_train=x, y_train=y.float())
    config = TrainingConfig(
        mode="batch", optimizer="sgd", learning_rate=eta, steps=1, batch_size=4, loss="cross_entropy"
    )

    class OneBatch:
        block_steps = 1

        def torch(self, n, device):
            return xs, torch.stack([y, y]).float()[:, None]

        def close(self):
            pass

    monkeypatch.setattr("cavitykit.imp.train.SampleBlocks", lambda *args: OneBatch())
    train_ensemble(ensemble, [task, task], [0, 0], config, n_steps=1)
    after = ensemble.state()
    for name, value in expected.items():
        np.testing.assert_allclose(after[name][member], value, rtol=1e-5, atol=1e-6, err_msg=name)


def test_the_kernel_route_refuses_a_deeper_network():
    ensemble = _deep_ensemble(np.random.default_rng(2))
    config = TrainingConfig(mode="online", batch_size=1, steps=1)
    with pytest.raises(ValueError, match="one hidden layer"):
        train_ensemble(ensemble, [None, None], [0, 0], config, n_steps=1, route="kernel")


def test_initial_parameters_draw_a_one_layer_network_as_before_and_deeper_layers_after_it():
    shallow = initial_parameters(D, 5, n_classes=3, bias=True, generator=torch.Generator().manual_seed(4))
    deep = initial_parameters(D, 5, n_classes=3, bias=True, generator=torch.Generator().manual_seed(4), deeper=(4,))
    assert torch.equal(shallow["weight"], deep["weight"])  # drawn first in both
    assert deep["readout"].shape == (3, 4) and deep["weight_2"].shape == (4, 5) and deep["bias_2"].shape == (4,)
    assert set(shallow) == {"weight", "readout", "bias"}


def test_a_member_of_a_deep_ensemble_round_trips_through_its_network():
    rng = np.random.default_rng(3)
    ensemble = _deep_ensemble(rng)
    masks = [
        Mask(
            ensemble.mask.weight[e],
            ensemble.mask.readout[e],
            prunes_readout=True,
            deep=tuple(m[e] for m in ensemble.mask.deep),
        )
        for e in range(E)
    ]
    networks = [member_of(ensemble.state(), e, Network(None, None, masks[e])) for e in range(E)]
    again = Ensemble.stack(networks, activation="relu", parameterization="standard", device="cpu")
    for name, value in ensemble.state().items():
        assert torch.equal(again.state()[name], value), name
