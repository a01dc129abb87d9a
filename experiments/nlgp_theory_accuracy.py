"""Accuracy and cost of the correlated-input cavity theory (``cavity.nlgp_theory``) against exact ablation.

Five receptive fields on an NLGP ring or torus (a bump of width 1, a noisy bump of width 2, an extended
field of width 5, a random field, a random patch of radius 3), 10^6 samples by default; for each window
radius, the theory's time and, per field, gamma_2 (theory and samples) and the differences from
``cavity.exact`` in units of its paired standard error.

Usage: python experiments/nlgp_theory_accuracy.py L XI GAIN DIM SAMPLES RADII
       (RADII comma-separated, 'd' for the default 2.5 xi), e.g. ``20 3 3 2 1000000 d,8``.
"""

import sys
import time

import numpy as np

import cavitykit
from cavitykit import cavity
from cavitykit.data import NLGP

FIELDS = ("bump, width 1", "noisy bump, width 2", "extended, width 5", "random", "random patch, radius 3")


def fields(model, rng):
    """The five fields, (5, D), centred on the ring or torus."""
    coordinates = np.stack(np.unravel_index(np.arange(model.D), model.shape), axis=1)
    side = np.array(model.shape)
    distance2 = (((coordinates - side // 2 + side // 2) % side - side // 2) ** 2).sum(axis=1)
    weights = np.stack(
        [
            np.exp(-distance2 / 2.0),
            np.exp(-distance2 / 8.0) * (1 + 0.3 * rng.standard_normal(model.D)),
            np.exp(-distance2 / 50.0),
            rng.standard_normal(model.D),
            rng.standard_normal(model.D) * (distance2 < 10),
        ]
    )
    weights[0] *= weights[0] > 1e-3
    weights[1] *= weights[1] > 1e-2
    return weights


def main(L, xi, gain, dim, samples, radii):
    model = NLGP(int(L), float(xi), float(gain), dim=int(dim))
    rng = np.random.default_rng(1)
    weights = fields(model, rng)
    inputs = np.empty((int(samples), model.D), np.float32)
    for start in range(0, int(samples), 100_000):
        inputs[start : start + 100_000] = model.sample(min(100_000, int(samples) - start), rng)
    delta = cavity.exact(weights, inputs).values
    se = cavity.standard_error(weights, inputs).values
    print(f"NLGP L={L} dim={dim} xi={xi} g={gain}, {samples} samples")
    for radius in radii.split(","):
        start = time.perf_counter()
        theory = cavity.nlgp_theory(weights, model, radius=None if radius == "d" else float(radius))
        elapsed = time.perf_counter() - start
        print(f"radius {theory.attrs['radius']:g}: {elapsed:.2f} s")
        print("| field | gamma_2 theory | gamma_2 samples | largest effect | median SE | rms z | max abs z |")
        print("|---|---|---|---|---|---|---|")
        for unit, name in enumerate(FIELDS):
            kept = np.isfinite(delta[unit])
            z = ((theory.values[unit] - delta[unit]) / se[unit])[kept]
            sampled = cavitykit.kurtosis((inputs @ weights[unit] / np.sqrt(model.D)).astype(np.float64))
            print(
                f"| {name} | {theory.statistic_value.values[unit]:.4f} | {sampled:.4f} | "
                f"{np.abs(delta[unit][kept]).max():.2e} | {np.median(se[unit][kept]):.1e} | "
                f"{np.sqrt(np.mean(z**2)):.2f} | {np.abs(z).max():.2f} |"
            )


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    main(*sys.argv[1:])
