"""NLGP sampling against the multivariate-normal route and the floor of drawing the normals.

Target: 100 000 samples at 2D L = 20 (D = 400) at least 10x faster than
scipy.stats.multivariate_normal(cov).rvs followed by the same nonlinearity, and
within 3x of drawing the same number of standard normals.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from _timing import best_times, command_line, print_times

from cavitykit.data import NLGP
from cavitykit.data.nlgp import nlgp_nonlinearity


def measure(n_samples: int, dtype: str, repeats: int) -> dict[str, float]:
    """Best seconds per call of each route, drawing ``n_samples`` 2D L = 20 images."""
    model = NLGP(20, 2.0, 3.0, dim=2, dtype=dtype)
    mvn = scipy.stats.multivariate_normal(cov=model.latent_covariance())

    def mvn_route():
        z = mvn.rvs(n_samples, random_state=np.random.default_rng(0)).astype(dtype)
        return nlgp_nonlinearity(z, model.gain)

    return best_times(
        {
            "floor: standard normals": lambda: np.random.default_rng(0).standard_normal(
                (n_samples, model.D), dtype=dtype
            ),
            "cavitykit NLGP.sample": lambda: model.sample(n_samples, np.random.default_rng(0)),
            "multivariate_normal + erf": mvn_route,
        },
        repeats=repeats,
    )


def main(scale: float = 1.0, repeats: int = 3) -> None:
    """Print the comparison in float64 and float32; ``scale`` shrinks the sample count."""
    n_samples = max(16, int(100_000 * scale))
    for dtype in ("float64", "float32"):
        times = measure(n_samples, dtype, repeats)
        ours = times["cavitykit NLGP.sample"]
        print(f"P = {n_samples} NLGP samples, 2D L = 20 (D = 400), {dtype}:")
        print_times(times, "cavitykit NLGP.sample")
        print(
            f"  => {times['multivariate_normal + erf'] / ours:.1f}x faster than the multivariate-normal route "
            f"(target >= 10), {ours / times['floor: standard normals']:.2f}x the floor (target <= 3)"
        )


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
