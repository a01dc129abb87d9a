"""Timing helpers and the command line shared by the benchmarks."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
from numba import get_num_threads, njit, prange


def best_time(func: Callable[[], object], *, repeats: int = 5, warmup: int = 1) -> float:
    """Best wall time of ``repeats`` calls, in seconds, after ``warmup`` untimed calls."""
    return best_times({"func": func}, repeats=repeats, warmup=warmup)["func"]


def best_times(contenders: dict[str, Callable[[], object]], *, repeats: int = 5, warmup: int = 1) -> dict[str, float]:
    """Best wall time of each contender, in seconds, timed in interleaved rounds.

    Each round times every contender once, so a slow spell of a shared machine
    hits all of them alike instead of one contender's whole series.
    """
    for func in contenders.values():
        for _ in range(warmup):
            func()
    best = dict.fromkeys(contenders, float("inf"))
    for _ in range(repeats):
        for name, func in contenders.items():
            start = time.perf_counter()
            func()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def print_times(times: dict[str, float], ours: str, *, width: int = 28) -> None:
    """One line per contender: milliseconds and the ratio to the ``ours`` contender."""
    for name, seconds in times.items():
        print(f"  {name:{width}s}{seconds * 1e3:12.1f} ms{seconds / times[ours]:10.2f}x cavitykit")


@njit(parallel=True)
def one_read_floor(x):
    """Column sums of ``x`` (n_samples, n_columns): one streaming read, the memory-bound floor."""
    n_rows, n_cols = x.shape
    n_tasks = get_num_threads()
    partial = np.zeros((n_tasks, n_cols))
    for task in prange(n_tasks):
        acc = partial[task]
        for i in range(task * n_rows // n_tasks, (task + 1) * n_rows // n_tasks):
            for j in range(n_cols):
                acc[j] += x[i, j]
    return partial.sum(axis=0)


def command_line(main: Callable[..., None], description: str | None, *, repeats: int = 9) -> None:
    """Run a benchmark's ``main(scale=..., repeats=...)`` with ``--scale`` and ``--repeats`` from the command line
    (the defaults of ``cavitykit bench NAME``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sample count (default 1)")
    parser.add_argument("--repeats", type=int, default=repeats, help=f"interleaved timing rounds (default {repeats})")
    args = parser.parse_args()
    main(scale=args.scale, repeats=args.repeats)
