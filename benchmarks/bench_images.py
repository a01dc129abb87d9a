"""Training on idx images: time per network-step of the ensemble trainer against a plain torch loop.

The route a Fashion-MNIST run takes (``data.source = "idx"``), on idx files this benchmark writes itself
(28 x 28 images of two classes, 6000 for training): one hidden layer of K = 300 ReLU units with biases,
``standard`` parameterization f = (1/sqrt K) sum_k v_k relu(w_k . x / sqrt(D) + b_k), MSE on +-1 targets,
Adam in minibatches of 60 from the fixed training set, the first layer half pruned (a round of IMP);
then LeNet-300-100 (hidden layers of 300 and 100, each layer half pruned, the readout too), plain and with
every layer's input batch-normalized (``network.batch_norm``).

Contenders, timed side by side in interleaved rounds: the ensemble trainer with E = 6 members (3
replicates of the images and their clone) on the route it takes ('auto'), and with E = 1; the peer, the
same network written as a plain torch loop (``torch.nn.Parameter`` weights multiplied by their mask in
the forward pass, ``torch.optim.Adam``, the same batches and steps; with batch normalization
``torch.nn.functional.batch_norm`` on each layer's input, keeping running statistics as torch's layers
do), one network at a time.  The ensemble's time includes fitting its evaluation statistics on the
training set once at the end.  Target: at least as fast as the peer per network-step.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from _timing import best_times, command_line

from cavitykit.config import config_from_dict
from cavitykit.data.idx import write_idx
from cavitykit.imp.prune import random_prune
from cavitykit.imp.runner import Member, initial_network, make_task
from cavitykit.imp.train import train_ensemble
from cavitykit.network import parameterization
from cavitykit.network.ensemble import Ensemble, Network
from cavitykit.network.formulas import NORM_EPSILON

BATCH, SIDE = 60, 28
# The networks timed (hidden widths, batch normalization): one hidden layer of 300 units, and LeNet-300-100
# plain and batch-normalized.
NETWORKS = (((300,), False), ((300, 100), False), ((300, 100), True))


def write_images(folder: Path, n_train: int = 6000, n_test: int = 1000) -> Path:
    """Two classes of uint8 noise around 128, class 1 brighter on a central patch: the four idx files."""
    rng = np.random.default_rng(0)
    for split, n in (("train", n_train), ("t10k", n_test)):
        labels = rng.integers(0, 2, n).astype(np.uint8)
        images = 128 + 40 * rng.standard_normal((n, SIDE, SIDE))
        images[labels == 1, 10:18, 10:18] += 40
        write_idx(folder / f"{split}-images-idx3-ubyte", np.clip(np.rint(images), 0, 255).astype(np.uint8))
        write_idx(folder / f"{split}-labels-idx1-ubyte", labels)
    return folder


def peer_loop(network, x: torch.Tensor, y: torch.Tensor, n_steps: int, learning_rate: float, seed: int) -> None:
    """The hand-written loop: masked weights, Adam, minibatches drawn uniformly from the training set."""

    def parameter(value):
        return torch.nn.Parameter(torch.as_tensor(value, dtype=torch.float32))

    def flags(value):
        return torch.as_tensor(value, dtype=torch.float32)

    weights = [parameter(w) for w in (network.weight, *network.deep)]
    biases = [parameter(b) for b in (network.bias, *network.deep_bias)]
    masks = [flags(m) for m in (network.mask.weight, *network.mask.deep)]
    readout = parameter(network.readout.reshape(-1))
    readout_mask = flags(network.mask.readout.reshape(-1))
    scales = [parameter(norm.scale) for norm in network.norm]
    shifts = [parameter(norm.shift) for norm in network.norm]
    running = [(flags(norm.mean), flags(norm.var)) for norm in network.norm]

    def normalized(inputs, layer):
        if not network.norm:
            return inputs
        mean, var = running[layer]
        return F.batch_norm(inputs, mean, var, scales[layer], shifts[layer], training=True, eps=NORM_EPSILON)

    optimizer = torch.optim.Adam([*weights, *biases, readout, *scales, *shifts], lr=learning_rate)
    target = 2 * y.float() - 1
    generator = torch.Generator().manual_seed(seed)
    for _ in range(n_steps):
        batch = torch.randint(len(x), (BATCH,), generator=generator)
        hidden = x[batch]
        for layer, (weight, bias, mask) in enumerate(zip(weights, biases, masks, strict=True)):
            hidden = torch.relu(normalized(hidden, layer) @ (weight * mask).T / math.sqrt(hidden.shape[1]) + bias)
        output = normalized(hidden, len(weights)) @ (readout * readout_mask) / math.sqrt(hidden.shape[1])
        loss = 0.5 * ((output - target[batch]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main(scale: float = 1.0, repeats: int = 3) -> None:
    n_steps = max(20, int(500 * scale))
    for hidden, batch_norm in NETWORKS:
        _time_network(hidden, batch_norm, n_steps, repeats)


def _time_network(hidden: tuple[int, ...], batch_norm: bool, n_steps: int, repeats: int) -> None:
    """Time the contenders on the network of ``hidden`` widths (batch-normalized with ``batch_norm``) and
    print their ratios to the peer."""
    with tempfile.TemporaryDirectory() as folder:
        config = config_from_dict(
            {
                "replicates": 3,
                "variants": ["images", "images_clone"],
                "data": {"source": "idx", "path": str(write_images(Path(folder)))},
                "network": {
                    "hidden": list(hidden),
                    "activation": "relu",
                    "bias": True,
                    "bias_init": "zero",
                    "init_scale": 0.1,
                    "prune_readout": len(hidden) > 1,
                    "batch_norm": batch_norm,
                },
                "training": {
                    "mode": "batch",
                    "optimizer": "adam",
                    "learning_rate": 1e-3,
                    "steps": n_steps,
                    "batch_size": BATCH,
                },
                "analysis": {"n_heldout": 8},
            }
        )
        members = [Member(v, r) for r in range(config.replicates) for v in config.variants]
        tasks = [make_task(config, m, "cpu")[0] for m in members]
        networks = []
        for e, member in enumerate(members):  # every prunable layer half pruned, as after a round of IMP
            network = initial_network(config, member.replicate)
            masks = network.mask.layers()
            removed = random_prune(masks, [mask.size // 2 for mask in masks], np.random.default_rng(e))
            networks.append(Network.from_state(network.state(), network.mask.without(removed)))
    chosen = parameterization(config.network.parameterization)
    seeds = list(range(len(members)))

    def ensemble_of(size):
        def train():
            ensemble = Ensemble.stack(networks[:size], activation="relu", parameterization=chosen, device="cpu")
            train_ensemble(ensemble, tasks[:size], seeds[:size], config.training, n_steps=n_steps)

        return train

    def peer():
        peer_loop(networks[0], tasks[0].x_train, tasks[0].y_train, n_steps, config.training.learning_rate, 0)

    contenders = {f"ensemble E={len(members)}": (ensemble_of(len(members)), len(members))}
    contenders |= {"single network (E=1)": (ensemble_of(1), 1), "peer loop (torch, masked)": (peer, 1)}
    times = best_times({name: func for name, (func, _) in contenders.items()}, repeats=repeats)
    per_step = {name: times[name] / (n_steps * contenders[name][1]) for name in times}
    layers = " + ".join(str(width) for width in hidden) + (" batch-normalized" if batch_norm else "")
    print(
        f"idx images {SIDE} x {SIDE}, hidden {layers} ReLU, Adam, batch {BATCH}, every prunable layer half pruned, "
        f"{n_steps} steps, cpu ({torch.get_num_threads()} threads):"
    )
    peer_time = per_step["peer loop (torch, masked)"]
    for name, seconds in per_step.items():
        print(f"  {name:30s}{seconds * 1e6:10.1f} us per network-step{peer_time / seconds:9.2f}x the peer")
    best = per_step[f"ensemble E={len(members)}"]
    print(f"  => ensemble vs peer: {peer_time / best:.2f}x per network-step (target >= 1)")


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
