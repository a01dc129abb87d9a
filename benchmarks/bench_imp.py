"""IMP training: time per network-step of the ensemble trainer against the peer loop, in two settings.

Both on 20 x 20 NLGP images (D = 400), erf with split biases, online SGD with batch 1, fresh samples
every step (sampling included):

* **standard, K = 100**: the trained two-layer network with readout scale 1/sqrt(K) (the settings of
  the first ``paper`` preset); the peer is that network as a plain ``nn.Module``;
* **mean-field committee, K = 8**: the ``ingrosso_goldt`` preset's network, f = (1/K) sum_k
  erf(lambda_k / sqrt 2) with a fixed readout, the first layer at K times the rate and the biases at K/D
  times; the peer is the Ingrosso-Goldt code's two-layer module in its "mf" mode as that code writes it
  (weights stored (D, K), two output heads of readouts +1 and -1 divided by K, MSE over both heads,
  ``torch.optim.SGD`` with a parameter group per rate).

Contenders, timed side by side in interleaved rounds: the ensemble trainer with E = 10 members on its
CPU route (the Numba block kernel) and on the torch route; the kernel alone on samples drawn
beforehand (the training arithmetic, comparable to the floor); the sampling alone, against its floor
(the normals, the FFT and the nonlinearity every exact sampler of these images computes, each alone in
its cheapest form at the sampler's batch, one member per thread); the trainer with E = 1; the peer
(one thread, samples drawn beforehand).  The floor is streaming the members' weights three times per
step (forward, backward, update) at the bandwidth a read-modify-write pass over the same weights
reaches on this machine.
Targets: at least 20x the peer per network-step, within 2x of the floor.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft
import torch
from _timing import best_times, command_line
from numba import njit, prange

from cavitykit.config import config_from_dict
from cavitykit.imp.runner import Member, initial_network, make_task
from cavitykit.imp.train import SampleBlocks, train_ensemble
from cavitykit.network import parameterization
from cavitykit.network.ensemble import Ensemble
from cavitykit.network.sgd import sgd_on_samples
from cavitykit.testing.anchor import CommitteePeer, committee_sgd

MEMBERS = 10


class PeerNetwork(torch.nn.Module):
    """The trained two-layer network: erf(w . x / sqrt(D) + b) summed by a readout, / sqrt(K)."""

    def __init__(self, n_inputs: int, width: int):
        super().__init__()
        self.fc1 = torch.nn.Linear(n_inputs, width)
        self.fc2 = torch.nn.Linear(width, 1, bias=False)
        self.n_inputs, self.width = n_inputs, width

    def forward(self, x):
        hidden = torch.erf((self.fc1(x) / math.sqrt(self.n_inputs)) / math.sqrt(2))
        return self.fc2(hidden) / math.sqrt(self.width)


def standard_peer(x: torch.Tensor, y: torch.Tensor, learning_rate: float, width: int) -> None:
    """Online SGD with batch 1 over pre-drawn samples, one optimizer step per sample."""
    network = PeerNetwork(x.shape[1], width)
    optimizer = torch.optim.SGD(network.parameters(), lr=learning_rate)
    for i in range(len(x)):
        optimizer.zero_grad()
        loss = 0.5 * (network(x[i : i + 1]).squeeze() - (2 * y[i] - 1)) ** 2
        loss.backward()
        optimizer.step()


def committee_peer(x: torch.Tensor, y: torch.Tensor, learning_rate: float, width: int) -> None:
    """The anchor's "mf" loop (``cavitykit.testing.anchor``) from weights N(0, 0.1^2) and split biases."""
    weight = torch.randn(width, x.shape[1]) * 0.1
    bias = torch.where(torch.arange(width) < width // 2, 1.0, -1.0)
    committee_sgd(CommitteePeer(weight, bias), x, y, learning_rate)


# name: (network, cavitykit's learning rate, the peer's, the peer loop).  The anchor's MSE is (f - y)^2,
# twice cavitykit's 0.5 (f - y)^2: its rate 0.05 is cavitykit's 0.1, step for step.
SETTINGS = {
    "standard, K = 100": (
        {"width": 100, "init_scale": 1.0, "parameterization": "standard"},
        0.05,
        0.05,
        standard_peer,
    ),
    "mean-field committee, K = 8": (
        {"width": 8, "init_scale": 0.1, "parameterization": "mean_field"},
        0.1,
        0.05,
        committee_peer,
    ),
}


@njit(fastmath=True, nogil=True)
def _erf_in_place(values):
    """erf of every entry of a flat float32 array, in place: the sampling's nonlinearity and nothing else."""
    for i in range(values.size):
        values[i] = math.erf(values[i])


@njit(parallel=True, fastmath=True)
def _read_modify_write(weights, passes):
    """``passes`` passes over each member's weights (E, K, D), each weight read and written once per
    pass: an update's memory traffic, member after member as the trainer goes through a block."""
    for member in prange(weights.shape[0]):
        flat = weights[member].reshape(-1)
        for _ in range(passes):
            for i in range(flat.size):
                flat[i] = flat[i] * np.float32(0.999999)


def compare(setting: str, scale: float = 1.0, repeats: int = 3) -> None:
    """Time one setting's contenders side by side and print each per network-step, against the peer."""
    network, rate, peer_rate, peer_loop = SETTINGS[setting]
    config = config_from_dict(
        {
            "replicates": MEMBERS // 2,
            "data": {"L": 20, "dim": 2, "xi": [1.0, 3.0], "gain": 3.0, "n_train": 2, "n_test": 200},
            "network": {"activation": "erf", "bias": True, "bias_init": "split", **network},
            "training": {"mode": "online", "optimizer": "sgd", "learning_rate": rate, "steps": 10, "batch_size": 1},
            "analysis": {"n_heldout": 8},
        }
    )
    training = config.training
    n_steps = max(200, int(2000 * scale))
    members = [Member(v, r) for r in range(MEMBERS // 2) for v in config.variants]
    tasks = [make_task(config, m, "cpu")[0] for m in members]
    networks = [initial_network(config, m.replicate) for m in members]
    seeds = list(range(MEMBERS))
    chosen = parameterization(config.network.parameterization)
    width = config.network.width

    def ensemble_of(size, route):
        def train():
            ensemble = Ensemble.stack(networks[:size], activation="erf", parameterization=chosen, device="cpu")
            train_ensemble(ensemble, tasks[:size], seeds[:size], training, n_steps=n_steps, route=route)

        return train

    rng = np.random.default_rng(0)
    x_peer, y_peer = tasks[0].models[0].sample(n_steps, rng), rng.integers(0, 2, n_steps)
    x_peer, y_peer = torch.as_tensor(x_peer), torch.as_tensor(y_peer, dtype=torch.float32)

    def peer():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            peer_loop(x_peer, y_peer, peer_rate, width)
        finally:
            torch.set_num_threads(threads)

    weights = np.stack([n.weight for n in networks]).astype(np.float32)
    _read_modify_write(weights, 1)
    drawn = (
        np.stack([t.models[0].sample(n_steps, rng) for t in tasks]).astype(np.float32),
        rng.integers(0, 2, (MEMBERS, n_steps)).astype(np.float32),
    )

    def kernel_alone():
        """The kernel on samples drawn beforehand: training arithmetic only, comparable to the floor."""
        ensemble = Ensemble.stack(networks, activation="erf", parameterization=chosen, device="cpu")
        sgd_on_samples(ensemble, drawn[0], drawn[1], training)

    def sampling_alone():
        blocks = SampleBlocks(tasks, seeds, training)
        try:
            for start in range(0, n_steps, blocks.block_steps):
                blocks.numpy(min(blocks.block_steps, n_steps - start))
        finally:
            blocks.close()

    # The sampling floor: the three steps any exact sampler of these images takes, each alone in its
    # cheapest form and with nothing else in its pass, on the sampler's batch and its threads (one member
    # per thread): the normals (a pair of images per complex field) written into a kept buffer, one
    # in-place complex FFT per pair, and erf on every pixel in place (a fast-math Numba loop, no GIL).
    batch = min(n_steps, SampleBlocks(tasks[:1], seeds[:1], training).block_steps)
    shape = tasks[0].models[0].shape
    threads = min(MEMBERS, os.cpu_count() or 1)
    generators = [np.random.default_rng(seed) for seed in seeds]
    normals = np.zeros((MEMBERS, batch // 2, *shape, 2), dtype=np.float32)
    fields = [normals[e].view(np.complex64)[..., 0] for e in range(MEMBERS)]
    pixels = normals.reshape(MEMBERS, batch, config.data.D)
    floor_steps = {
        "normals": lambda e: generators[e].standard_normal(normals[e].shape, dtype=np.float32, out=normals[e]),
        "FFT": lambda e: scipy.fft.fftn(fields[e], axes=(1, 2), overwrite_x=True, workers=1),
        "nonlinearity": lambda e: _erf_in_place(pixels[e].reshape(-1)),
    }

    def floor_step(step):
        def draw():
            with ThreadPoolExecutor(max_workers=threads) as pool:
                for _ in range(-(-n_steps // batch)):
                    list(pool.map(floor_steps[step], range(MEMBERS)))

        return draw

    contenders = {
        f"ensemble E={MEMBERS}, kernel route": (ensemble_of(MEMBERS, "kernel"), MEMBERS),
        f"ensemble E={MEMBERS}, torch route": (ensemble_of(MEMBERS, "torch"), MEMBERS),
        "  kernel alone, samples drawn before": (kernel_alone, MEMBERS),
        "  sampling alone": (sampling_alone, MEMBERS),
        **{f"    floor step: {step}": (floor_step(step), MEMBERS) for step in floor_steps},
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
        f"online SGD, batch 1, {setting} (D = {config.data.D}, erf, split biases), {n_steps} steps, sampling "
        f"included, cpu ({torch.get_num_threads()} threads):"
    )
    peer_time = per_step["peer loop (nn.Module, 1 thread)"]
    for name, seconds in per_step.items():
        print(f"  {name:34s}{seconds * 1e6:10.2f} us per network-step{peer_time / seconds:9.1f}x the peer")
    best = per_step[f"ensemble E={MEMBERS}, kernel route"]
    print(
        f"  floor: 3 passes over {MEMBERS} members' weights ({weights.nbytes / 2**20:.2f} MiB) at {bandwidth:.0f} GB/s "
        f"(read + write) = {floor * 1e6:.2f} us per network-step"
    )
    print(f"  => ensemble vs peer: {peer_time / best:.1f}x faster (target >= 20x)")
    alone = per_step["  kernel alone, samples drawn before"]
    print(
        f"  => ensemble / floor: {best / floor:.2f} with sampling, {alone / floor:.2f} for the training alone "
        "(target <= 2)"
    )
    sampling_floor = sum(per_step[f"    floor step: {step}"] for step in floor_steps)
    print(
        f"  => sampling / its floor (normals + FFT + erf, each alone in its cheapest form, batch {batch}, "
        f"{threads} threads): {per_step['  sampling alone'] / sampling_floor:.2f}"
    )
    both = best / (floor + sampling_floor)
    print(f"  => ensemble with sampling / (weight-streaming floor + sampling floor): {both:.2f} (target <= 2)")


def main(scale: float = 1.0, repeats: int = 3) -> None:
    for setting in SETTINGS:
        compare(setting, scale, repeats)


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
