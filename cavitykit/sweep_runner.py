"""Parameter sweeps of IMP runs on dask.distributed (a ``LocalCluster`` unless a scheduler is named).

A sweep file names a base config (a preset or a TOML file), optional settings fixed for every point,
and a grid of dotted keys::

    name = "gain-scan"
    base = "quick"                       # or base_file = "my.toml" (relative to the sweep file)

    [set]                                # optional: the same at every point
    "imp.controls" = ["random"]

    [grid]
    "data.gain" = [1.0, 3.0, 10.0]
    "imp.prune_fraction" = [0.2, 0.3]

Every point of the Cartesian product is an ordinary run directory ``OUT/<name>-<identity>``, listed
with its values in ``OUT/<name>-sweep.toml`` (``cavitykit.io.sweep_index``); every (point, variant,
replicate) is one dask task writing its own round files, so tasks never share a file, a killed
sweep or worker resumes like a single run, and finished rounds are never recomputed.
``cavitykit.open_sweep(OUT)`` reads them all as one Dataset.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from tqdm import tqdm

from cavitykit._dask import dask_client
from cavitykit._extras import require
from cavitykit._validation import check_int
from cavitykit.config import RunConfig, config_from_dict, load_config, load_preset, read_toml
from cavitykit.imp.runner import Member, prepare_run, run_members
from cavitykit.io import write_sweep_index

SWEEP_KEYS = {"name", "base", "base_file", "set", "grid"}


def load_sweep(path, *, base: str | None = None) -> tuple[str, list[RunConfig], list[dict]]:
    """Read a sweep file: its name, the config of every grid point (validated) and the point's values.

    ``base`` (a preset name) replaces the file's own base, to run the same grid at another size; the
    file's ``[set]`` table still applies to it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.toml"
    >>> _ = path.write_text('base = "quick"\\n[grid]\\n"data.gain" = [1.0, 3.0]\\n')
    >>> name, configs, points = load_sweep(path)
    >>> name, [c.data.gain for c in configs], points
    ('scan', [1.0, 3.0], [{'data.gain': 1.0}, {'data.gain': 3.0}])
    >>> [c.data.dim for c in load_sweep(path, base="medium")[1]]  # the same grid on 20 x 20 images
    [2, 2]
    """
    path = Path(path)
    sweep = read_toml(path, "sweep")
    unknown = sorted(set(sweep) - SWEEP_KEYS)
    if unknown:
        raise ValueError(f"unknown sweep key(s) {', '.join(unknown)}; known: {sorted(SWEEP_KEYS)}")
    if ("base" in sweep) == ("base_file" in sweep):
        raise ValueError("a sweep needs exactly one of base (a preset name) or base_file (a TOML config)")
    if base is not None:
        base = load_preset(base)
    else:
        base = load_preset(sweep["base"]) if "base" in sweep else load_config(path.parent / sweep["base_file"])
    grid = sweep.get("grid", {})
    if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise ValueError('grid must be a table of dotted keys to non-empty lists, e.g. "data.gain" = [1.0, 3.0]')
    fixed = sweep.get("set", {})
    if not isinstance(fixed, dict):
        raise ValueError('set must be a table of dotted keys to values, e.g. "imp.controls" = ["random"]')
    name = str(sweep.get("name", path.stem))
    configs, points = [], []
    for values in itertools.product(*grid.values()):
        settings = base.to_dict() | {"name": name}
        for key, value in fixed.items():
            _assign(settings, key, value, "set")
        point = dict(zip(grid, values, strict=True))
        for key, value in point.items():
            _assign(settings, key, value, "grid")
        configs.append(config_from_dict(settings))
        points.append(point)
    return name, configs, points


def _assign(settings: dict, dotted: str, value, section: str) -> None:
    *tables, key = dotted.split(".")
    target = settings
    for table in tables:
        if not isinstance(target.get(table), dict):
            raise ValueError(f"{section} key {dotted!r}: {table!r} is not a config table")
        target = target[table]
    if key not in target:
        raise ValueError(f"{section} key {dotted!r}: unknown config key {key!r}")
    target[key] = value


def _run_task(config: RunConfig, run_dir: str, variant: str, replicate: int, device) -> str:
    """One (grid point, variant, replicate) on a worker, single-threaded so workers do not oversubscribe.

    It trains only the rounds whose files are missing, so a retry (or a rerun of the sweep)
    continues where a killed worker stopped.
    """
    import numba
    import torch

    # Dask sets the BLAS/OpenMP pools to one thread in its workers; torch and Numba keep their own.
    torch.set_num_threads(1)
    numba.set_num_threads(1)
    run_members(config, Path(run_dir), [Member(variant, replicate)], device)
    return f"{run_dir} {variant} replicate {replicate}"


class SweepFailed(RuntimeError):
    """Some tasks of a sweep failed after their retries; ``failures`` maps each task to its error.

    Examples
    --------
    >>> error = SweepFailed({"scan-0a1b/nlgp/replicate_00": "ValueError: bad"}, n_tasks=4)
    >>> print(error)
    1 of 4 sweep tasks failed (the others are complete; rerun the sweep to retry):
      scan-0a1b/nlgp/replicate_00: ValueError: bad
    """

    def __init__(self, failures: dict[str, str], n_tasks: int):
        self.failures = failures
        lines = [f"  {task}: {reason}" for task, reason in failures.items()]
        super().__init__(
            f"{len(failures)} of {n_tasks} sweep tasks failed (the others are complete; rerun the sweep to retry):\n"
            + "\n".join(lines)
        )


def run_sweep(
    path,
    out,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    device: str | None = "cpu",
    retries: int = 2,
    progress: bool = True,
    base: str | None = None,
) -> list[Path]:
    """Run every grid point of a sweep on a dask cluster; return the run directories.

    Every (grid point, variant, replicate) is one task; a task that raises is retried
    ``retries`` times, and one whose worker dies is rescheduled by dask on another worker.
    Either way it resumes from the round files already written, so no finished round is
    computed twice.  Open the results, even while the sweep runs, with ``cavitykit.open_sweep``.

    Parameters
    ----------
    path : str or Path
        Sweep file (``load_sweep``).
    out : str or Path
        Results root: one run directory per grid point and the index ``<name>-sweep.toml``.
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); by default a
        ``LocalCluster`` with ``workers`` single-threaded worker processes.
    workers : int
        Worker processes of the ``LocalCluster``.
    device : str, optional
        Training device on the workers ('cpu' by default, as None).
    retries : int
        Retries of a task that raises.
    progress : bool
        A progress bar over the tasks (tqdm, on stderr).
    base : str, optional
        A preset replacing the sweep file's base (``load_sweep``).

    Returns
    -------
    list of Path
        The run directories, in grid order.

    Raises
    ------
    SweepFailed
        After every task has finished or failed, if any failed; it lists each with its error.

    Examples
    --------
    >>> import tempfile, pathlib  # doctest: +SKIP
    >>> folder = pathlib.Path(tempfile.mkdtemp())  # doctest: +SKIP
    >>> _ = (folder / "scan.toml").write_text(  # doctest: +SKIP
    ...     'base = "quick"\\n[set]\\n"replicates" = 1\\n"imp.rounds" = 1\\n"imp.controls" = []\\n'
    ...     '"training.steps" = 20\\n"analysis.n_heldout" = 500\\n"analysis.cavity" = false\\n'
    ...     '[grid]\\n"data.gain" = [1.0, 3.0]\\n')
    >>> runs = run_sweep(folder / "scan.toml", folder / "results", workers=1, progress=False)  # doctest: +SKIP
    >>> len(runs), all((run / "config.toml").exists() for run in runs)  # doctest: +SKIP
    (2, True)
    """
    as_completed = require("dask.distributed", "a dask cluster (sweeps, streamed spectra)").as_completed

    workers = check_int("workers", workers, minimum=1)
    retries = check_int("retries", retries, minimum=0)
    name, configs, points = load_sweep(path, base=base)
    run_dirs = []
    for config in configs:
        run_dirs.append(prepare_run(config, out))
    write_sweep_index(out, name, run_dirs, points)
    failures = {}
    with dask_client(scheduler, workers) as client:
        tasks = {}
        for config, run_dir in zip(configs, run_dirs, strict=True):
            for replicate in range(config.replicates):
                for variant in config.variants:
                    task = f"{run_dir.name}/{variant}/replicate_{replicate:02d}"
                    arguments = (config, str(run_dir), variant, replicate, device)
                    future = client.submit(_run_task, *arguments, key=task, pure=False, retries=retries)
                    tasks[future] = task
        with tqdm(total=len(tasks), desc=f"sweep {name}", unit="task", disable=not progress) as bar:
            for future in as_completed(tasks):
                if future.status == "error":
                    error = future.exception()
                    failures[tasks[future]] = f"{type(error).__name__}: {error}"
                    tqdm.write(f"failed: {tasks[future]}: {failures[tasks[future]]}", file=sys.stderr)
                bar.update(1)
    if failures:
        raise SweepFailed(failures, len(tasks))
    return run_dirs
