"""The dask client of sweeps and streamed statistics: a running scheduler, or a LocalCluster started here."""

from __future__ import annotations

from contextlib import contextmanager

from cavitykit._extras import require


@contextmanager
def dask_client(scheduler: str | None, workers: int):
    """A client of the scheduler at ``scheduler`` or, without one, of a ``LocalCluster`` of ``workers``
    single-threaded worker processes; the cluster is closed on exit.

    Used by ``cavitykit.sweep_runner.run_sweep`` and ``cavitykit cumulants --chunk-size``.
    """
    distributed = require("dask.distributed", "a dask cluster (sweeps, streamed spectra)")
    Client, LocalCluster = distributed.Client, distributed.LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True) as cluster, Client(cluster) as client:
        yield client
