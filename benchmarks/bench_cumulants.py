"""Cumulant engine against scipy.stats and the one-read floor, measured side by side.

Targets: k_1..k_4 at least 100x faster than scipy.stats.kstat (n = 1..4),
within 1.5x of the one-read floor; k_1..k_8 within 2x of the floor.
"""

from __future__ import annotations

import numpy as np
import scipy.stats
from _timing import best_time, best_times, command_line, one_read_floor

import cavitykit

CASES = ((200_000, 256, np.float64), (1_000_000, 64, np.float32))


def measure(n_samples: int, n_columns: int, dtype, *, repeats: int = 5, seed: int = 0) -> dict[str, float]:
    """Seconds per call for each contender on one standard-normal array."""
    x = np.random.default_rng(seed).standard_normal((n_samples, n_columns)).astype(dtype)
    times = best_times(
        {
            "floor (one read)": lambda: one_read_floor(x),
            "cavitykit k1..k4": lambda: cavitykit.kstats(x, 4),
            "cavitykit k1..k8": lambda: cavitykit.kstats(x, 8),
        },
        repeats=repeats,
    )
    times |= {
        # scipy takes seconds: one timed call each, no warm-up needed.
        "scipy.stats.kstat n=1..4": best_time(
            lambda: [scipy.stats.kstat(x, n, axis=0) for n in range(1, 5)], repeats=1, warmup=0
        ),
        "scipy.stats.kurtosis": best_time(lambda: scipy.stats.kurtosis(x, axis=0, bias=False), repeats=1, warmup=0),
    }
    return times


def report(times: dict[str, float]) -> str:
    floor = times["floor (one read)"]
    ours = times["cavitykit k1..k4"]
    lines = [f"  {'':28s}{'time':>12s}{'x floor':>10s}{'x cavitykit k4':>16s}"]
    for name, seconds in times.items():
        lines.append(f"  {name:28s}{seconds * 1e3:10.1f} ms{seconds / floor:10.2f}{seconds / ours:16.1f}")
    lines.append(
        f"  => k1..k4: {times['scipy.stats.kstat n=1..4'] / ours:.0f}x faster than scipy.stats.kstat (target >= 100), "
        f"{times['scipy.stats.kurtosis'] / ours:.0f}x faster than scipy.stats.kurtosis, "
        f"{ours / floor:.2f}x the floor (target <= 1.5); k1..k8: {times['cavitykit k1..k8'] / floor:.2f}x the floor "
        "(target <= 2)"
    )
    return "\n".join(lines)


def main(scale: float = 1.0, repeats: int = 9) -> None:
    """Print the comparison for each case; ``scale`` shrinks the sample count (for smoke runs)."""
    for n_samples, n_columns, dtype in CASES:
        n_scaled = max(16, int(n_samples * scale))
        print(f"P = {n_scaled} x N = {n_columns} {np.dtype(dtype).name}:")
        print(report(measure(n_scaled, n_columns, dtype, repeats=repeats)))


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
