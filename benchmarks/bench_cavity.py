"""Exact all-weights cavity ablation against the naive loops and the floor.

Targets, excess kurtosis, float64: at K = 8, D = 256, P = 20 000 at least
300x faster than the naive loop (zero one weight, recompute the unit's
pre-activation, scipy.stats.kurtosis), and within 5x of the floor (one forward
GEMM plus one cumulant pass over the pre-activations).  At K = 64, D = 1024,
P = 100 000 the naive loop is timed on a subset of weights and extrapolated.

The exact route for kurtosis runs five GEMMs the size of the floor's one (the
forward pass and the mixed sums M_11, M_31, M_22, M_13; ``theory/cavity.md``),
so at equal GEMM speed it cannot come closer to the floor than about 5x.

Pruned layers (``pruned_layers``): at the size of the first ``paper`` preset (K = 100, D = 400,
P = 100 000 float32 images) and the kept fractions of rounds 0, 4, 10 and 19 at 20% pruned per round,
``cavity.exact`` on its two routes (``route='kept'``, the kept-weight kernel, and ``route='gemm'``,
which it replaces on a CPU when few weights are kept).
"""

from __future__ import annotations

import time
from functools import partial

import numpy as np
import scipy.stats
import torch
from _timing import best_times, command_line, print_times

import cavitykit
from cavitykit import cavity

SIZES = ((8, 256, 20_000), (64, 1024, 100_000))
# Kept fractions of the paper preset's rounds 0, 4, 10 and 19 (20% pruned per round).
PAPER_ROUNDS = (0, 4, 10, 19)


def naive_loop(weights: np.ndarray, inputs: np.ndarray, n_weights: int, *, whole_layer: bool) -> float:
    """Seconds per weight of the naive route, timed over the first ``n_weights`` weights.

    ``whole_layer``: recompute every unit's pre-activation and kurtosis per removed weight (the
    literal loop, the textbook cost O(K D^2 P)); otherwise only the affected unit's (a
    stronger baseline).
    """
    n_inputs = weights.shape[1]
    scale = 1.0 / np.sqrt(n_inputs)
    start = time.perf_counter()
    for flat in range(n_weights):
        k, i = divmod(flat, n_inputs)
        if whole_layer:
            reduced = weights.copy()
            reduced[k, i] = 0.0
            scipy.stats.kurtosis(inputs @ reduced.T * scale, axis=0, bias=False)
        else:
            reduced = weights[k].copy()
            reduced[i] = 0.0
            scipy.stats.kurtosis(inputs @ reduced * scale, bias=False)
    return (time.perf_counter() - start) / n_weights


def measure(n_neurons, n_inputs, n_samples, *, naive_weights, repeats, device) -> dict[str, float]:
    rng = np.random.default_rng(0)
    weights = rng.standard_normal((n_neurons, n_inputs))
    inputs = rng.standard_normal((n_samples, n_inputs))
    x, w = torch.from_numpy(inputs).to(device), torch.from_numpy(weights / np.sqrt(n_inputs)).to(device)

    def floor():
        # W @ X.T is the faster orientation of the forward GEMM for few units (about 1.5x here).
        cavitykit.kurtosis((w @ x.T).T.cpu().numpy())

    times = best_times(
        {
            "floor: forward GEMM + cumulant pass": floor,
            "cavitykit cavity.exact": lambda: cavity.exact(weights, inputs, device=device),
        },
        repeats=repeats,
    )
    n_timed = min(naive_weights, weights.size)
    suffix = " (extrapolated)" if n_timed < weights.size else ""
    times["naive loop, one unit" + suffix] = naive_loop(weights, inputs, n_timed, whole_layer=False) * weights.size
    n_timed = max(1, n_timed // 4)  # the whole-layer loop is slower: time fewer weights, extrapolate
    times["naive loop, whole layer (extrapolated)"] = (
        naive_loop(weights, inputs, n_timed, whole_layer=True) * weights.size
    )
    return times


def pruned_layers(n_samples: int, *, repeats: int) -> None:
    """Print ``cavity.exact``'s two routes at the paper preset's kept fractions (CPU)."""
    rng = np.random.default_rng(0)
    n_neurons, n_inputs = 100, 400
    inputs = rng.standard_normal((n_samples, n_inputs)).astype(np.float32)
    print(f"K = {n_neurons}, D = {n_inputs}, P = {n_samples} float32, excess kurtosis, a pruned layer, cpu:")
    for round_index in PAPER_ROUNDS:
        density = 0.8**round_index
        mask = rng.random((n_neurons, n_inputs)) < density
        weights = np.where(mask, rng.standard_normal(mask.shape), 0.0)
        exact = partial(cavity.exact, weights, inputs, mask=mask, device="cpu")
        times = best_times(
            {
                "GEMM route (all pairs)": partial(exact, route="gemm"),
                "kept-weight kernel": partial(exact, route="kept"),
            },
            repeats=repeats,
        )
        used = {"kept": "kept-weight kernel", "gemm": "GEMM route"}[exact().attrs["route"]]
        print(f" round {round_index}, kept fraction {mask.mean():.3f} (cavity.exact uses the {used}):")
        print_times(times, "kept-weight kernel", width=38)


def main(scale: float = 1.0, repeats: int = 3) -> None:
    """Print both sizes and the pruned layers; ``scale`` shrinks P (and the naive subset) for a quick look."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    for (n_neurons, n_inputs, n_samples), naive_weights in zip(SIZES, (2048, 128), strict=True):
        n_samples = max(64, int(n_samples * scale))
        times = measure(
            n_neurons,
            n_inputs,
            n_samples,
            naive_weights=max(8, int(naive_weights * min(scale, 1.0))),
            repeats=repeats,
            device=device,
        )
        ours = times["cavitykit cavity.exact"]
        naive_unit = next(value for name, value in times.items() if name.startswith("naive loop, one unit"))
        naive_layer = times["naive loop, whole layer (extrapolated)"]
        floor = times["floor: forward GEMM + cumulant pass"]
        print(f"K = {n_neurons}, D = {n_inputs}, P = {n_samples}, excess kurtosis, float64, {device}:")
        print_times(times, "cavitykit cavity.exact", width=38)
        print(
            f"  => {naive_unit / ours:.0f}x faster than the one-unit naive loop, {naive_layer / ours:.0f}x faster than "
            f"the whole-layer naive loop (target >= 300 at the small size), {ours / floor:.2f}x the floor (target <= 5)"
        )
    pruned_layers(max(1024, int(100_000 * scale)), repeats=repeats)


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
