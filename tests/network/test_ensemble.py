"""The torch network: the ensemble's forward pass is the formula of each parameterization, initialization."""

import math

import numpy as np
import pytest
import torch

from cavitykit.network import PARAMETERIZATION_NAMES, parameterization
from cavitykit.network.ensemble import Ensemble, Network, initial_parameters, member_of
from cavitykit.network.mask import Mask

E, K, D = 2, 4, 9


@pytest.mark.parametrize("name", PARAMETERIZATION_NAMES)
def test_the_forward_pass_is_the_formula_written_as_loops(name):
    rng = np.random.default_rng(0)
    weight, readout, bias = rng.standard_normal((E, K, D)), rng.standard_normal((E, K)), rng.standard_normal((E, K))
    mask = rng.random((E, K, D)) > 0.3
    ensemble = Ensemble(weight, readout, mask, bias=bias, parameterization=name)
    x = rng.standard_normal((E, 3, D))
    scale = {"standard": K**-0.5, "two_layer": 1.0, "committee": 1.0, "lazy": K**-0.5, "mean_field": 1 / K}[name]
    w, v, b = (t.double().numpy() for t in (ensemble.weight, ensemble.readout, ensemble.bias))
    expected = [
        [
            scale
            * sum(
                v[e, k] * math.erf((sum(w[e, k, i] * x[e, p, i] for i in range(D)) / 3 + b[e, k]) / 2**0.5)
                for k in range(K)
            )
            for p in range(3)
        ]
        for e in range(E)
    ]
    np.testing.assert_allclose(
        ensemble.forward(torch.as_tensor(x, dtype=torch.float32)), expected, rtol=1e-5, atol=1e-6
    )
    assert np.all(w[~mask] == 0)


def test_fixed_readouts_are_ones_and_weights_do_not_depend_on_the_parameterization():
    trained = initial_parameters(
        D, K, init_scale=0.1, bias=True, bias_init="split", generator=torch.Generator().manual_seed(3)
    )
    fixed = initial_parameters(
        D,
        K,
        init_scale=0.1,
        bias=True,
        bias_init="split",
        trains_readout=False,
        generator=torch.Generator().manual_seed(3),
    )
    assert torch.equal(trained["weight"], fixed["weight"])
    assert torch.equal(fixed["readout"], torch.ones(K))
    assert fixed["bias"].tolist() == [1.0, 1.0, -1.0, -1.0]
    assert float(trained["weight"].std()) == pytest.approx(0.1, rel=0.5)


@pytest.mark.parametrize("name", PARAMETERIZATION_NAMES)
def test_only_trained_parameters_get_a_rate(name):
    ensemble = Ensemble(
        np.ones((1, K, D)), np.ones((1, K)), np.ones((1, K, D), bool), bias=np.zeros((1, K)), parameterization=name
    )
    rates = ensemble.learning_rates(0.1)
    assert ("readout" in rates) == parameterization(name).trains_readout
    assert rates["weight"] / rates["bias"] == pytest.approx(1.0 if name == "standard" else D)


def test_members_round_trip_through_the_ensemble():
    rng = np.random.default_rng(1)
    networks = [
        Network(
            rng.standard_normal((K, D)), rng.standard_normal(K), Mask(rng.random((K, D)) > 0.5), rng.standard_normal(K)
        )
        for _ in range(3)
    ]
    ensemble = Ensemble.stack(networks, activation="relu", parameterization="lazy", device="cpu")
    for e, network in enumerate(networks):
        back = member_of(ensemble.state(), e, network)
        np.testing.assert_allclose(back.weight, network.weight * network.mask.weight, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(back.bias, network.bias, rtol=1e-6)
        assert back.mask is network.mask


def test_activation_functions_by_hand():
    from cavitykit.network.ensemble import activation_function

    z = torch.tensor([-1.0, 0.0, 2.0])
    torch.testing.assert_close(activation_function("relu")(z), torch.tensor([0.0, 0.0, 2.0]))
    expected = torch.tensor([math.erf(-1 / math.sqrt(2)), 0.0, math.erf(2 / math.sqrt(2))])
    torch.testing.assert_close(activation_function("erf")(z), expected)
    with pytest.raises(ValueError, match="activation must be one of"):
        activation_function("tanh")


def test_three_classes_take_three_outputs_and_two_classes_draw_as_before():
    def draw(**options):
        return initial_parameters(D, K, init_scale=0.1, generator=torch.Generator().manual_seed(3), **options)

    # the order of draws: weights (K, D), then the readout (C, K), one row of it for two classes
    def by_hand(n_outputs):
        generator = torch.Generator().manual_seed(3)
        return torch.randn((K, D), generator=generator) * 0.1, torch.randn((n_outputs, K), generator=generator) * 0.1

    weight, readout = by_hand(1)
    assert torch.equal(draw()["weight"], weight) and torch.equal(draw()["readout"], readout[0])
    assert torch.equal(draw(n_classes=3)["readout"], by_hand(3)[1])
    # a fixed readout of three outputs: unit k feeds output k mod 3 alone
    fixed = draw(n_classes=3, trains_readout=False)["readout"]
    assert fixed.tolist() == [[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    with pytest.raises(ValueError, match=r"class count must lie in 2..network.width = 4.* got 5"):
        draw(n_classes=5)
