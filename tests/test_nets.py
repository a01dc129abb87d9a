"""Masked two-layer network: masks hold through training, torch pruning adapter agrees."""

import numpy as np
import pytest
import torch

from cavitykit.nets import MaskedFCN


def test_masked_weights_stay_exactly_zero_through_training():
    net = MaskedFCN(10, 5, activation="relu", bias=True, generator=torch.Generator().manual_seed(0))
    mask = torch.rand(5, 10, generator=torch.Generator().manual_seed(1)) > 0.5
    net.set_mask(mask)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.5, weight_decay=0.1)  # decay would move pruned weights
    x = torch.randn(64, 10)
    for _ in range(20):
        optimizer.zero_grad()
        net(x).pow(2).mean().backward()
        optimizer.step()
        net.apply_masks()
    assert torch.all(net.first.weight[~mask] == 0)
    assert torch.all(net.first.weight[mask] != 0)


def test_forward_matches_the_formula():
    net = MaskedFCN(6, 3, activation="erf", generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    x = torch.randn(4, 6, dtype=torch.float64)
    w, v = net.first.weight.detach(), net.readout.weight.detach()[0]
    expected = (torch.erf(x @ w.T / np.sqrt(6) / np.sqrt(2)) @ v) / np.sqrt(3)
    torch.testing.assert_close(net(x), expected)


def test_torch_prune_adapter_gives_the_same_function():
    net = MaskedFCN(8, 4, generator=torch.Generator().manual_seed(3), prune_readout=True)
    net.set_mask(torch.rand(4, 8) > 0.3, torch.tensor([True, False, True, True]))
    x = torch.randn(16, 8)
    before = net(x).detach()
    net.to_torch_prune()
    torch.testing.assert_close(net(x).detach(), before)
    assert hasattr(net.first, "weight_mask")


@pytest.mark.parametrize(
    ("mask", "message"),
    [(torch.ones(4, 7, dtype=torch.bool), "mask must be a boolean tensor of shape"), (torch.ones(4, 8), "boolean")],
)
def test_bad_mask_is_named(mask, message):
    net = MaskedFCN(8, 4)
    with pytest.raises(ValueError, match=message):
        net.set_mask(mask)


def test_readout_mask_needs_prune_readout():
    net = MaskedFCN(8, 4)
    with pytest.raises(ValueError, match="prune_readout=False"):
        net.set_mask(torch.ones(4, 8, dtype=torch.bool), torch.ones(4, dtype=torch.bool))
