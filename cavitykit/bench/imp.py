"""IMP training at paper size: time per network-step of the ensemble trainer against the peer loop.

Setting of the ``paper`` preset: 20 x 20 NLGP images (D = 400), K = 100, erf with split biases,
online SGD with batch 1, fresh samples every step (sampling included).  Contenders, timed side by
side in interleaved rounds:

* the ensemble trainer with E = 10 members (a paper run's 2 variants x 5 replicates) on its CPU
  route, the Numba block kernel;
* the same ensemble on the torch route (batched matmuls and autograd, one Python step per step);
* the kernel alone on samples drawn beforehand (the training arithmetic, comparable to the floor);
* the sampling alone (the members' fresh images, drawn block by block as the trainer draws them);
* the single-network trainer (the ensemble trainer with E = 1);
* the peer: the Ingrosso-Goldt two-layer network as their code writes it (a plain ``nn.Module``,
  trainable bias, ``torch.optim.SGD``, batch 1, one thread, samples drawn beforehand).

The floor is streaming the members' weights three times per step (forward, backward, update) at the
bandwidth a read-modify-write pass over the same weights reaches on this machine.  Target (issue 11):
at least 20x faster than the peer per network-step, within 2x of the floor.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit, prange

from cavitykit.bench._timing import best_times
from cavitykit.config import load_preset
from cavitykit.imp import _kernels
from cavitykit.imp.runner import Member, _stack, initial_network, make_task
from cavitykit.imp.train import _Blocks, train_ensemble

MEMBERS = 10


class PeerNetwork(torch.nn.Module):
    """The Ingrosso-Goldt two-layer network: erf(w . x / sqrt(D) + b) summed by a readout, / sqrt(K)."""

    def __init__(self, n_inputs: int, width: int):
        super().__init__()
        self.fc1 = torch.nn.Linear(n_inputs, width)
        self.fc2 = torch.nn.Linear(width, 1, bias=False)
        self.n_inputs, self.width = n_inputs, width

    def forward(self, x):
        hidden = torch.erf((self.fc1(x) / math.sqrt(self.n_inputs)) / math.sqrt(2))
        return self.fc2(hidden) / math.sqrt(self.width)


def peer_loop(x: torch.Tensor, y: torch.Tensor, learning_rate: float) -> None:
    """Online SGD with batch 1 over pre-drawn samples, one optimizer step per sample."""
    network = PeerNetwork(x.shape[1], 100)
    optimizer = torch.optim.SGD(network.parameters(), lr=learning_rate)
    for i in range(len(x)):
        optimizer.zero_grad()
        loss = 0.5 * (network(x[i : i + 1]).squeeze() - (2 * y[i] - 1)) ** 2
        loss.backward()
        optimizer.step()


@njit(parallel=True, fastmath=True)
def _read_modify_write(weights, passes):
    """``passes`` passes over each member's weights (E, K, D), each weight read and written once per
    pass: an update's memory traffic, member after member as the trainer goes through a block."""
    for member in prange(weights.shape[0]):
        flat = weights[member].reshape(-1)
        for _ in range(passes):
            for i in range(flat.size):
                flat[i] = flat[i] * np.float32(0.999999)


def main(scale: float = 1.0, repeats: int = 3) -> None:
    config = load_preset("paper")
    training = config.training
    n_steps = max(200, int(2000 * scale))
    members = [Member(v, r) for r in range(MEMBERS // 2) for v in config.variants]
    tasks = [make_task(config, m, "cpu")[0] for m in members]
    networks = [initial_network(config, m.replicate) for m in members]
    seeds = list(range(MEMBERS))

    def ensemble_of(size, route):
        def train():
            ensemble = _stack(networks[:size], config, "cpu")
            train_ensemble(ensemble, tasks[:size], seeds[:size], training, n_steps=n_steps, route=route)

        return train

    rng = np.random.default_rng(0)
    x_peer, y_peer = tasks[0].models[0].sample(n_steps, rng), rng.integers(0, 2, n_steps)
    x_peer, y_peer = torch.as_tensor(x_peer), torch.as_tensor(y_peer, dtype=torch.float32)

    def peer():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            peer_loop(x_peer, y_peer, training.learning_rate)
        finally:
            torch.set_num_threads(threads)

    weights = np.stack([n.weight for n in networks]).astype(np.float32)
    _read_modify_write(weights, 1)
    drawn = np.stack([t.models[0].sample(n_steps, rng) for t in tasks]), rng.integers(0, 2, (MEMBERS, n_steps))

    def kernel_alone():
        """The kernel on samples drawn beforehand: training arithmetic only, comparable to the floor."""
        losses = np.empty((MEMBERS, n_steps), dtype=np.float32)
        ones = np.ones((MEMBERS, config.network.width), dtype=np.float32)
        bias = np.stack([n.bias for n in networks]).astype(np.float32)
        _kernels.sgd_online_block(
            weights.copy(),
            np.ones_like(weights),
            bias,
            ones.copy(),
            ones,
            drawn[0],
            drawn[1].astype(np.float32),
            training.learning_rate,
            _kernels.ERF,
            _kernels.MSE,
            losses,
        )

    def sampling_alone():
        blocks = _Blocks(tasks, seeds, training)
        try:
            for start in range(0, n_steps, blocks.block_steps):
                blocks.numpy(min(blocks.block_steps, n_steps - start))
        finally:
            blocks.close()

    contenders = {
        f"ensemble E={MEMBERS}, kernel route": (ensemble_of(MEMBERS, "kernel"), MEMBERS),
        f"ensemble E={MEMBERS}, torch route": (ensemble_of(MEMBERS, "torch"), MEMBERS),
        "  kernel alone, samples drawn before": (kernel_alone, MEMBERS),
        "  sampling alone": (sampling_alone, MEMBERS),
        "single network (E=1), kernel": (ensemble_of(1, "kernel"), 1),
        "single network (E=1), torch": (ensemble_of(1, "torch"), 1),
        "peer loop (nn.Module, 1 thread)": (peer, 1),
    }
    times = best_times({name: func for name, (func, _) in contenders.items()}, repeats=repeats)
    per_step = {name: times[name] / (n_steps * contenders[name][1]) for name in times}
    passes = 200
    pass_time = best_times({"pass": lambda: _read_modify_write(weights, passes)}, repeats=repeats)
    floor = 3 * pass_time["pass"] / passes / MEMBERS
    bandwidth = 2 * weights.nbytes / (pass_time["pass"] / passes) / 1e9
    print(
        f"online SGD, batch 1, paper size (D = {config.data.D}, K = {config.network.width}, erf, split biases), "
        f"{n_steps} steps, sampling included, cpu ({torch.get_num_threads()} threads):"
    )
    peer_time = per_step["peer loop (nn.Module, 1 thread)"]
    for name, seconds in per_step.items():
        print(f"  {name:34s}{seconds * 1e6:10.2f} us per network-step{peer_time / seconds:9.1f}x the peer")
    best = per_step[f"ensemble E={MEMBERS}, kernel route"]
    print(
        f"  floor: 3 passes over {MEMBERS} members' weights ({weights.nbytes / 2**20:.1f} MiB) at {bandwidth:.0f} GB/s "
        f"(read + write) = {floor * 1e6:.2f} us per network-step"
    )
    print(f"  => ensemble vs peer: {peer_time / best:.1f}x faster (target >= 20x, stretch 50x)")
    alone = per_step["  kernel alone, samples drawn before"]
    print(
        f"  => ensemble / floor: {best / floor:.2f} with sampling, {alone / floor:.2f} for the training alone "
        "(target <= 2)"
    )
