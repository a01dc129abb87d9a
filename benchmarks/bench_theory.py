"""The correlated-input cavity theory against its sample-based twin, sampling plus exact ablation.

``cavity.nlgp_theory`` predicts every single-weight change of the excess kurtosis of an 8 x 400 layer on
the 20 x 20 NLGP torus (xi = 3, g = 3) from the weights alone.  The same numbers from data need samples:
drawing P images and ``cavity.exact`` on them, whose paired error shrinks like 1 / sqrt(P) (at P = 10^6
the theory agrees with it to about one standard error, ``docs/cavity.md``).  Timed side by side: the
theory's first call on a model (its exact tables built), a later call on the same model (tables reused,
as for the layers of a run), and sampling plus exact ablation at P = 10^6 x ``scale``.
"""

from __future__ import annotations

import itertools

import numpy as np
from _timing import best_times, command_line, print_times

from cavitykit import cavity
from cavitykit.data import NLGP


def main(scale: float = 1.0, repeats: int = 3) -> None:
    """Print the three timings and the ratios; ``scale`` shrinks the sample count of the sample-based route."""
    model = NLGP(20, 3.0, 3.0, dim=2)
    weights = np.random.default_rng(0).standard_normal((8, model.D))
    n_samples = max(10_000, int(1_000_000 * scale))

    fresh = itertools.count(1)

    def first_call():
        # A radius a hair above the default: the same window, but tables the theory has not built yet.
        cavity.nlgp_theory(weights, model, radius=2.5 * model.xi + 1e-9 * next(fresh))

    def sampled():
        rng = np.random.default_rng(1)
        inputs = np.concatenate([model.sample(min(100_000, n_samples - s), rng) for s in range(0, n_samples, 100_000)])
        cavity.exact(weights, inputs.astype(np.float32))

    times = best_times(
        {
            "nlgp_theory, first call": first_call,
            "nlgp_theory, tables reused": lambda: cavity.nlgp_theory(weights, model),
            f"sampling + cavity.exact, P = {n_samples}": sampled,
        },
        repeats=repeats,
        warmup=0,
    )
    print(f"K = 8, D = 400 (20 x 20 torus), xi = 3, g = 3, default window (radius {2.5 * model.xi:g}):")
    print_times(times, "nlgp_theory, first call", width=42)
    sample_route = times[f"sampling + cavity.exact, P = {n_samples}"]
    print(
        f"  => the theory's first call takes {times['nlgp_theory, first call']:.1f} s (target <= 30 s); "
        f"sampling + exact ablation is {sample_route / times['nlgp_theory, first call']:.2f}x the first call, "
        f"{sample_route / times['nlgp_theory, tables reused']:.2f}x a call with the tables reused"
    )


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0], repeats=3)
