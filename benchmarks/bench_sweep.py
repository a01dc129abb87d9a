"""Sweep scaling: the same small sweep on a LocalCluster of 1 and of 2 worker processes.

Target: 2 workers at least 1.8x faster than 1 in wall time (cluster start-up included),
on a machine with 2 free cores.  Every task is one (grid point, variant, replicate) of the quick
preset (7 rounds); eight tasks, so two workers stay busy until the end.  What each worker process
pays before its first round (the cluster's start, imports; Numba's compilation too, before the
kernels were cached on disk) is serial work a second worker cannot share (Amdahl's law), so
``--scale`` below 1 (shorter training) lowers the ratio.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from _timing import command_line

from cavitykit.sweep_runner import run_sweep

SWEEP = """name = "scaling"
base = "quick"
[set]
"imp.controls" = []
[grid]
"data.gain" = [1.0, 3.0, 10.0, 30.0]
"replicates" = [1]
"training.steps" = [{steps}]
"""


def measure(steps: int) -> dict[int, float]:
    """Wall seconds of the sweep on 1 and on 2 workers, each into a fresh results folder."""
    walls = {}
    with tempfile.TemporaryDirectory() as folder:
        sweep_file = Path(folder) / "scaling.toml"
        sweep_file.write_text(SWEEP.format(steps=steps))
        for workers in (1, 2):
            start = time.perf_counter()
            run_sweep(sweep_file, Path(folder) / f"workers-{workers}", workers=workers, progress=False)
            walls[workers] = time.perf_counter() - start
    return walls


def main(scale: float = 1.0, repeats: int = 1) -> None:
    """Print both wall times and their ratio; ``scale`` shortens the training (``repeats`` is unused)."""
    steps = max(50, int(2000 * scale))
    walls = measure(steps)
    print(f"small sweep: quick preset, 4 gains x 2 variants x 1 replicate, 7 rounds of {steps} steps (8 tasks):")
    for workers, seconds in walls.items():
        print(f"  {workers} worker{'s' if workers > 1 else ' '}{seconds:12.1f} s")
    print(f"  => 2 workers {walls[1] / walls[2]:.2f}x faster than 1 (target >= 1.8)")


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
