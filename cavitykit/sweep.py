"""Parameter sweeps of IMP runs on dask.distributed (a ``LocalCluster`` unless a scheduler is named).

A sweep file names a base config (a preset or a TOML file) and a grid of dotted keys::

    name = "gain-scan"
    base = "quick"                       # or base_file = "my.toml" (relative to the sweep file)

    [grid]
    "data.gain" = [1.0, 3.0, 10.0]
    "imp.prune_fraction" = [0.2, 0.3]

Every point of the Cartesian product is an ordinary run directory ``OUT/<name>-<hash>``; every
(point, variant, replicate) is one dask task writing its own round files, so tasks never share a
file, a killed sweep resumes like a single run, and finished rounds are never recomputed.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from cavitykit._validation import check_int
from cavitykit.config import RunConfig, config_from_dict, load_config, load_preset, read_toml, toml_value
from cavitykit.imp.runner import Member, Progress, prepare_run_directory, run_directory, run_members
from cavitykit.io import atomic_target

SWEEP_KEYS = {"name", "base", "base_file", "grid"}


def load_sweep(path) -> tuple[str, list[RunConfig], list[dict]]:
    """Read a sweep file: its name, the config of every grid point (validated) and the point's values.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan.toml"
    >>> _ = path.write_text('base = "quick"\\n[grid]\\n"data.gain" = [1.0, 3.0]\\n')
    >>> name, configs, points = load_sweep(path)
    >>> name, [c.data.gain for c in configs], points
    ('scan', [1.0, 3.0], [{'data.gain': 1.0}, {'data.gain': 3.0}])
    """
    path = Path(path)
    sweep = read_toml(path, "sweep")
    unknown = sorted(set(sweep) - SWEEP_KEYS)
    if unknown:
        raise ValueError(f"unknown sweep key(s) {', '.join(unknown)}; known: {sorted(SWEEP_KEYS)}")
    if ("base" in sweep) == ("base_file" in sweep):
        raise ValueError("a sweep needs exactly one of base (a preset name) or base_file (a TOML config)")
    base = load_preset(sweep["base"]) if "base" in sweep else load_config(path.parent / sweep["base_file"])
    grid = sweep.get("grid", {})
    if not isinstance(grid, dict) or not grid or not all(isinstance(v, list) and v for v in grid.values()):
        raise ValueError('grid must be a table of dotted keys to non-empty lists, e.g. "data.gain" = [1.0, 3.0]')
    name = str(sweep.get("name", path.stem))
    configs, points = [], []
    for values in itertools.product(*grid.values()):
        settings = base.to_dict() | {"name": name}
        point = dict(zip(grid, values, strict=True))
        for key, value in point.items():
            _assign(settings, key, value)
        configs.append(config_from_dict(settings))
        points.append(point)
    return name, configs, points


def _assign(settings: dict, dotted: str, value) -> None:
    *tables, key = dotted.split(".")
    target = settings
    for table in tables:
        if not isinstance(target.get(table), dict):
            raise ValueError(f"grid key {dotted!r}: {table!r} is not a config table")
        target = target[table]
    if key not in target:
        raise ValueError(f"grid key {dotted!r}: unknown config key {key!r}")
    target[key] = value


def _run_task(config: RunConfig, run_dir: str, variant: str, replicate: int, device) -> str:
    """One (grid point, variant, replicate) on a worker, single-threaded so workers do not oversubscribe."""
    import torch

    torch.set_num_threads(1)
    run_members(config, Path(run_dir), [Member(variant, replicate)], device, Progress(enabled=False))
    return f"{run_dir} {variant} replicate {replicate}"


def run_sweep(path, out, *, scheduler: str | None = None, workers: int = 2, device: str | None = "cpu") -> list[Path]:
    """Run every grid point of a sweep on a dask cluster; return the run directories.

    Parameters
    ----------
    path : sweep file
    out : results root
    scheduler : str, optional
        Address of a running dask scheduler (``tcp://host:8786``); by default a
        ``LocalCluster`` with ``workers`` single-threaded worker processes.
    device : str, optional
        Training device on the workers ('cpu' by default; None picks CUDA when present).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "scan.toml").write_text(
    ...     'base = "quick"\\n[grid]\\n"data.gain" = [1.0, 3.0]\\n"replicates" = [1]\\n"imp.rounds" = [1]\\n'
    ...     '"training.steps" = [20]\\n"analysis.n_heldout" = [500]\\n"analysis.cavity" = [false]\\n')
    >>> runs = run_sweep(folder / "scan.toml", folder / "results", workers=1)  # doctest: +ELLIPSIS
    done: ... replicate 0
    ...
    >>> len(runs), all((run / "config.toml").exists() for run in runs)
    (2, True)
    """
    from dask.distributed import Client, LocalCluster, as_completed

    workers = check_int("workers", workers, minimum=1)
    name, configs, points = load_sweep(path)
    run_dirs = []
    for config in configs:
        run_dir = run_directory(config, out)
        prepare_run_directory(config, run_dir)
        run_dirs.append(run_dir)
    index = [f"# grid points of sweep {name!r}: run directory = its values"]
    for run_dir, point in zip(run_dirs, points, strict=True):
        values = ", ".join(f"{toml_value(key)} = {toml_value(value)}" for key, value in point.items())
        index.append(f"{toml_value(run_dir.name)} = {{ {values} }}")
    with atomic_target(Path(out) / f"{name}-sweep.toml") as temporary:
        temporary.write_text("\n".join(index) + "\n")
    cluster = None if scheduler else LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
    with Client(scheduler or cluster) as client:
        futures = [
            client.submit(_run_task, config, str(run_dir), variant, replicate, device, pure=False)
            for config, run_dir in zip(configs, run_dirs, strict=True)
            for replicate in range(config.replicates)
            for variant in config.variants
        ]
        for future in as_completed(futures):
            print(f"done: {future.result()}", flush=True)
    if cluster is not None:
        cluster.close()
    return run_dirs
