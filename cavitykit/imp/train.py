"""Training loop: online SGD on fresh samples, or minibatch SGD/Adam on a fixed training set."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cavitykit.config import TrainingConfig
from cavitykit.data import two_class
from cavitykit.nets import MaskedFCN

# Online mode draws fresh samples in blocks of this many steps (one generator call per block).
ONLINE_BLOCK_STEPS = 256


@dataclass
class Task:
    """Tensors of one two-class task on the training device (labels y in {0, 1})."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    models: tuple  # (model0, model1) for online sampling


def loss_function(name: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """'mse': mean 0.5 (f - t)^2 with targets t = 2y - 1; 'cross_entropy': logistic loss on the logit f."""
    if name == "mse":
        return lambda output, y: 0.5 * torch.mean((output - (2.0 * y - 1.0)) ** 2)
    return F.binary_cross_entropy_with_logits


def make_optimizer(net: MaskedFCN, config: TrainingConfig) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(net.parameters(), lr=config.learning_rate)
    return torch.optim.SGD(net.parameters(), lr=config.learning_rate)


def _batches(task: Task, config: TrainingConfig, n_steps: int, seed: int):
    """Yield (x, y) for each step: minibatches of the training set, or fresh samples (online)."""
    device = task.x_train.device
    if config.mode == "batch":
        generator = torch.Generator().manual_seed(seed)
        for _ in range(n_steps):
            index = torch.randint(len(task.x_train), (config.batch_size,), generator=generator).to(device)
            yield task.x_train[index], task.y_train[index]
        return
    rng = np.random.default_rng(seed)
    done = 0
    while done < n_steps:
        steps = min(ONLINE_BLOCK_STEPS, n_steps - done)
        x, y = two_class(*task.models, max(2, steps * config.batch_size), rng)
        x = torch.as_tensor(x, dtype=task.x_train.dtype, device=device)
        y = torch.as_tensor(y, dtype=task.y_train.dtype, device=device)
        for step in range(steps):
            rows = slice(step * config.batch_size, (step + 1) * config.batch_size)
            yield x[rows], y[rows]
        done += steps


def train(
    net: MaskedFCN,
    task: Task,
    config: TrainingConfig,
    *,
    seed: int,
    n_steps: int,
    capture_step: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[float, dict | None]:
    """Train ``net`` in place for ``n_steps`` steps.

    Returns
    -------
    train_loss : float
        Mean loss over the last tenth of the steps.
    snapshot : dict or None
        ``net.state_dict()`` copied after ``capture_step`` steps (the late-rewinding point).
    """
    optimizer = make_optimizer(net, config)
    loss_of = loss_function(config.loss)
    tail_start = n_steps - max(1, n_steps // 10)
    tail = torch.zeros((), dtype=task.x_train.dtype, device=task.x_train.device)
    snapshot = None
    for step, (x, y) in enumerate(_batches(task, config, n_steps, seed)):
        if step == capture_step:
            snapshot = {key: value.detach().clone() for key, value in net.state_dict().items()}
        optimizer.zero_grad(set_to_none=True)
        loss = loss_of(net(x), y)
        loss.backward()
        optimizer.step()
        net.apply_masks()
        if step >= tail_start:
            tail += loss.detach()
        if progress is not None:
            progress(step + 1)
    return float(tail) / (n_steps - tail_start), snapshot


@torch.no_grad()
def accuracy(net: MaskedFCN, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of samples whose output sign matches the class (f > 0 means class 1)."""
    return float(((net(x) > 0).to(y.dtype) == y).to(torch.float64).mean())
