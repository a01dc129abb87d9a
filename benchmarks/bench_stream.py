"""Streamed cumulant spectra on dask against the in-memory route on one process.

``spectra.streamed_spectrum`` draws NLGP samples chunk by chunk inside tasks of a LocalCluster of
two single-threaded workers and reduces partial ``MomentAccumulator`` states; the peer draws the
same samples at once and computes ``kstats`` of the pre-activations in memory (one process, its
own threads).  ``--scale 10`` streams 10^8 samples, which the in-memory route cannot hold; it is
then skipped.
"""

from __future__ import annotations

import time

import numpy as np
from _timing import command_line

from cavitykit.data import NLGP
from cavitykit.network.formulas import preactivation
from cavitykit.spectra import sample_chunks, streamed_spectrum
from cavitykit.stats import kstats

CHUNK = 500_000
IN_MEMORY_LIMIT = 20_000_000  # samples of D = 40 float64 the peer may hold (6.4 GB)


def main(scale: float = 1.0, repeats: int = 1) -> None:
    """Print wall times per 10^6 samples; ``scale`` multiplies the 10^7 samples (``repeats`` is unused)."""
    from dask.distributed import Client, LocalCluster

    n_samples = max(CHUNK, int(10_000_000 * scale))
    model = NLGP(40, 4.0, 10.0)  # the quick preset's class 0
    weights = np.random.default_rng(0).normal(size=(8, 40))
    times = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0") as cluster, Client(cluster):
        start = time.perf_counter()
        streamed = streamed_spectrum(weights, model, n_samples, max_order=8, chunk_size=CHUNK, chunks_per_task=2)
        times["cavitykit streamed (2 workers)"] = time.perf_counter() - start
    if n_samples <= IN_MEMORY_LIMIT:
        start = time.perf_counter()
        samples = np.concatenate(
            [model.sample(size, np.random.default_rng([0, i])) for i, size in sample_chunks(n_samples, CHUNK)]
        )
        in_memory = kstats(preactivation(samples, weights), 8)
        times["in memory (one process)"] = time.perf_counter() - start
        difference = np.max(np.abs(streamed.kstat.values.T - in_memory) / np.abs(in_memory).max(axis=1, keepdims=True))
        print(
            f"  largest difference from the in-memory k-statistics (relative to each order's scale): {difference:.1e}"
        )
    print(f"{n_samples:.0e} NLGP samples (D = 40), 8 units, k_1..k_8:")
    ours = times["cavitykit streamed (2 workers)"]
    for name, seconds in times.items():
        print(
            f"  {name:32s}{seconds:10.1f} s {seconds / n_samples * 1e6 * 1e3:8.1f} ms per 10^6 samples"
            f"{seconds / ours:8.2f}x cavitykit"
        )


if __name__ == "__main__":
    command_line(main, __doc__.splitlines()[0])
