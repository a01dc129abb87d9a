"""IMP engine timing: wall time per round of the quick preset, and the training step against a plain loop.

Target (issue 4): the cavitykit training step no slower than 1.2x a hand-written torch loop
doing the same forward/backward (dense masked matmul, Adam, same batches).
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time

import torch

from cavitykit.bench._timing import best_times
from cavitykit.imp import load_preset, run
from cavitykit.imp.runner import make_task, new_network
from cavitykit.imp.train import train


def plain_loop(task, config, n_steps: int, mask: torch.Tensor, seed: int) -> None:
    """The peer: the same network written out by hand, one masked matmul per layer."""
    n_inputs, width = task.x_train.shape[1], config.network.width
    generator = torch.Generator().manual_seed(seed)
    w = (torch.randn(width, n_inputs, generator=generator)).requires_grad_()
    b = torch.zeros(width, requires_grad=True)
    v = torch.randn(1, width, generator=generator).requires_grad_()
    optimizer = torch.optim.Adam([w, b, v], lr=config.training.learning_rate)
    for _ in range(n_steps):
        index = torch.randint(len(task.x_train), (config.training.batch_size,), generator=generator)
        x, y = task.x_train[index], task.y_train[index]
        hidden = torch.relu(x @ (w * mask).T / math.sqrt(n_inputs) + b)
        output = (hidden @ v.T).squeeze(-1) / math.sqrt(width)
        loss = 0.5 * torch.mean((output - (2 * y - 1)) ** 2)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()


def main(scale: float = 1.0, repeats: int = 3) -> None:
    config = load_preset("quick")
    n_steps = max(50, int(config.training.steps * scale))
    task, _ = make_task(config, "nlgp", 0, torch.device("cpu"))
    mask = torch.rand(config.network.width, config.data.D, generator=torch.Generator().manual_seed(0)) > 0.5

    def ours():
        network = new_network(config, 0, "cpu")
        network.set_mask(mask)
        train(network, task, config.training, seed=1, n_steps=n_steps)

    contenders = {"cavitykit train": ours, "plain torch loop": lambda: plain_loop(task, config, n_steps, mask, 1)}
    times = best_times(contenders, repeats=repeats)
    print(
        f"training steps (quick preset: D = {config.data.D}, K = {config.network.width}, "
        f"batch {config.training.batch_size}, Adam), {n_steps} steps, cpu:"
    )
    for name, seconds in times.items():
        print(f"  {name:20s}{seconds / n_steps * 1e6:10.1f} us/step")
    print(f"  => cavitykit / plain loop = {times['cavitykit train'] / times['plain torch loop']:.3f} (target <= 1.2)")

    rounds = 3
    small = dataclasses.replace(
        config,
        replicates=1,
        variants=("nlgp",),
        imp=dataclasses.replace(config.imp, rounds=rounds),
        training=dataclasses.replace(config.training, steps=n_steps),
    )
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run(small, out, progress=False)
        per_round = (time.perf_counter() - start) / rounds
    print(
        f"quick preset, {n_steps} steps per round with per-round statistics and cavity analysis: "
        f"{per_round:.2f} s per IMP round (1 variant, 1 replicate)"
    )
