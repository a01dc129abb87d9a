"""The anchor's network as its code writes it: an independent reference for the mean-field committee.

Ingrosso & Goldt's two-layer module in its "mf" mode stores the first layer as (D, K), has two output
heads whose fixed readouts are +1 and -1, divides the outputs by K, trains with the mean squared error
over both heads against +-1 one-hot targets, and gives ``torch.optim.SGD`` one parameter group per
rate: the first layer at K times the rate, the biases at K/D times.  cavitykit's ``mean_field``
parameterization is meant to train exactly like it (with its own loss, half of theirs, at twice the
rate); the tests hold the two side by side, and ``cavitykit bench imp`` times this loop as the peer.
"""

from __future__ import annotations

import math

import torch


class CommitteePeer(torch.nn.Module):
    """The "mf" committee: outputs (x @ W / sqrt(D) + b -> erf(. / sqrt 2)) @ [[1, -1], ...] / K.

    Parameters
    ----------
    weight : torch.Tensor of shape (K, D)
        Initial first-layer weights (stored transposed, as the anchor stores them).
    bias : torch.Tensor of shape (K,)
        Initial biases.
    """

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor):
        super().__init__()
        width, self.n_inputs = weight.shape
        self.fc1 = torch.nn.Parameter(weight.T.clone())
        heads = torch.ones(width, 2, dtype=weight.dtype)
        heads[:, 1] = -1.0
        self.fc2 = torch.nn.Parameter(heads, requires_grad=False)
        self.bias = torch.nn.Parameter(bias.clone())
        self.width = width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The two heads' outputs, shape (batch, 2)."""
        hidden = torch.erf((x @ self.fc1 / math.sqrt(self.n_inputs) + self.bias) / math.sqrt(2))
        return hidden @ self.fc2 / self.width


def committee_sgd(network: CommitteePeer, x: torch.Tensor, y: torch.Tensor, learning_rate: float) -> CommitteePeer:
    """Online SGD with batch 1 in the anchor's manner, one optimizer step per sample, in place.

    Parameters
    ----------
    network : CommitteePeer
    x : torch.Tensor of shape (P, D)
    y : torch.Tensor of shape (P,)
        Classes in {0, 1}; class c's one-hot target is +1 on head c and -1 on the other.
    learning_rate : float
        The anchor's rate (0.05 in its code).

    Returns
    -------
    CommitteePeer
        ``network``, trained.
    """
    rate = learning_rate * network.width
    groups = [{"params": network.fc1, "lr": rate}, {"params": network.bias, "lr": rate / network.n_inputs}]
    optimizer = torch.optim.SGD(groups, lr=rate)
    targets = torch.stack([1 - 2 * y, 2 * y - 1], dim=1).to(x.dtype)
    for i in range(len(x)):
        loss = torch.nn.functional.mse_loss(network(x[i : i + 1]), targets[i : i + 1])
        network.zero_grad()
        loss.backward()
        optimizer.step()
    return network
