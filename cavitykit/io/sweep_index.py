"""A sweep's runs as one Dataset: the index file that maps run directories to grid points, and ``open_sweep``.

``cavitykit sweep`` writes ``OUT/<name>-sweep.toml`` before any task starts::

    "scan-0123456789ab" = { "data.gain" = 1.0, "imp.prune_fraction" = 0.2 }

one line per grid point, its run directory beside the file.  ``open_sweep`` reads the index and
every round file written so far, lazily (dask arrays), so a sweep can be opened while it runs.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit._toml import toml_value
from cavitykit.io.schema import missing_as_false
from cavitykit.io.store import CONFIG_FILE, ROUND_GLOB, atomic_target, open_run

INDEX_SUFFIX = "-sweep.toml"


def write_sweep_index(out, name: str, run_dirs: list[Path], points: list[dict]) -> Path:
    """Write ``out/<name>-sweep.toml``: each grid point's run directory (a name under ``out``) and values.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> points = [{"data.gain": 1.0}, {"data.gain": 3.0}]
    >>> path = write_sweep_index(out, "scan", [out / "scan-aa", out / "scan-bb"], points)
    >>> read_sweep_index(path)
    {'scan-aa': {'data.gain': 1.0}, 'scan-bb': {'data.gain': 3.0}}
    """
    lines = [f"# grid points of sweep {name!r}: run directory = its values"]
    for run_dir, point in zip(run_dirs, points, strict=True):
        values = ", ".join(f"{toml_value(key)} = {toml_value(value)}" for key, value in point.items())
        lines.append(f"{toml_value(Path(run_dir).name)} = {{ {values} }}")
    path = Path(out) / f"{name}{INDEX_SUFFIX}"
    with atomic_target(path) as temporary:
        temporary.write_text("\n".join(lines) + "\n")
    return path


def read_sweep_index(path) -> dict[str, dict]:
    """The grid points of a sweep index file: {run directory name: {dotted key: value}}.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scan-sweep.toml"
    >>> _ = path.write_text('"scan-aa" = { "data.xi" = [1.0, 3.0] }\\n')
    >>> read_sweep_index(path)
    {'scan-aa': {'data.xi': [1.0, 3.0]}}
    """
    try:
        return tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"{str(path)!r} is not a readable sweep index ({error})") from None


def find_sweep_index(path, name: str | None = None) -> Path:
    """The index file: ``path`` itself, or the one ``<name>-sweep.toml`` in the results root ``path``.

    Raises
    ------
    ValueError
        No index there, or several and no ``name`` to choose.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (out / "scan-sweep.toml").write_text("")
    >>> find_sweep_index(out).name
    'scan-sweep.toml'
    """
    path = Path(path)
    if path.is_file():
        return path
    candidates = sorted(path.glob(f"{name or '*'}{INDEX_SUFFIX}"))
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        what = f"{name}{INDEX_SUFFIX}" if name else f"*{INDEX_SUFFIX}"
        raise ValueError(f"no sweep index {what} in {str(path)!r}; is it the --out of cavitykit sweep?")
    names = ", ".join(c.name[: -len(INDEX_SUFFIX)] for c in candidates)
    raise ValueError(f"{str(path)!r} holds several sweeps ({names}); pass name=")


def swept_dims(keys) -> dict[str, str]:
    """Dimension name of each dotted grid key: its last part ('data.gain' -> 'gain'), the whole key on a clash.

    Examples
    --------
    >>> swept_dims(["data.gain", "imp.strategy", "a.rounds", "b.rounds"])
    {'data.gain': 'gain', 'imp.strategy': 'strategy', 'a.rounds': 'a.rounds', 'b.rounds': 'b.rounds'}
    """
    last = [key.split(".")[-1] for key in keys]
    return {key: short if last.count(short) == 1 else key for key, short in zip(keys, last, strict=True)}


def _coordinate(value):
    """A grid value as a coordinate label: lists (e.g. xi = [4.0, 20.0]) become their TOML text."""
    return toml_value(value) if isinstance(value, list | tuple) else value


def sweep_points(path, *, name: str | None = None) -> tuple[dict[str, list], list[tuple[dict, Path | None]], dict]:
    """A sweep's grid: its dims, every point's labels with its run directory, and its attributes.

    Parameters
    ----------
    path : str or Path
        The results root of ``cavitykit sweep`` (``--out``), or its ``<name>-sweep.toml`` index.
    name : str, optional
        The sweep, when the root holds several.

    Returns
    -------
    dims : dict of str to list
        Each swept dim (``swept_dims``) and its labels in grid order (list values such as ``xi`` are
        labelled by their TOML text).
    points : list of (dict, Path or None)
        Each point's label per dim and its run directory; None while it has written no round.
    attrs : dict
        ``sweep`` (its name) and ``swept`` (the dotted keys, in the order of the dims).

    Raises
    ------
    ValueError
        No sweep index at ``path``, or an index that lists no point.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = write_sweep_index(out, "demo", [out / "demo-a"], [{"data.xi": [1.0, 3.0]}])
    >>> sweep_points(out)
    ({'xi': ['[1.0, 3.0]']}, [({'xi': '[1.0, 3.0]'}, None)], {'sweep': 'demo', 'swept': ['data.xi']})
    """
    index_file = find_sweep_index(path, name)
    index = read_sweep_index(index_file)
    if not index:
        raise ValueError(f"sweep index {str(index_file)!r} lists no grid point")
    keys = list(next(iter(index.values())))
    names = swept_dims(keys)
    dims = {names[key]: list(dict.fromkeys(_coordinate(p[key]) for p in index.values())) for key in keys}
    points = []
    for run_name, values in index.items():
        run_dir = index_file.parent / run_name
        started = (run_dir / CONFIG_FILE).is_file() and any(run_dir.glob(ROUND_GLOB))
        points.append(({names[key]: _coordinate(values[key]) for key in keys}, run_dir if started else None))
    return dims, points, {"sweep": index_file.name[: -len(INDEX_SUFFIX)], "swept": keys}


def open_sweep(path, *, name: str | None = None) -> xr.Dataset:
    """Every run of a sweep as one lazily loaded Dataset, the swept keys as dimensions.

    Parameters
    ----------
    path : str or Path
        The results root of ``cavitykit sweep`` (``--out``), or its ``<name>-sweep.toml`` index.
    name : str, optional
        The sweep, when the root holds several.

    Returns
    -------
    xarray.Dataset
        The variables of ``open_run`` as dask arrays, over one dimension per swept key (named by
        ``swept_dims``: ``gain``, ``xi``, ``strategy``, ...; list values such as ``xi`` are labelled
        by their TOML text) before ``variant``, ``replicate``, ``round``, ...  Grid points, rounds
        or members not written yet are NaN.  Attributes ``sweep`` (its name) and ``swept`` (the
        dotted keys, in the order of the dims); ``config`` is kept only where all points share it.

    Raises
    ------
    ValueError
        No sweep index at ``path``, or no round written yet by any point.

    Examples
    --------
    >>> from cavitykit.testing import example_run  # doctest: +SKIP
    >>> import tempfile, pathlib, shutil  # doctest: +SKIP
    >>> out = pathlib.Path(tempfile.mkdtemp())  # doctest: +SKIP
    >>> _ = shutil.copytree(example_run(), out / "demo-a")  # a finished point ...  # doctest: +SKIP
    >>> (out / "demo-b").mkdir()  # ... and one that has not started  # doctest: +SKIP
    >>> points = [{"data.gain": 10.0}, {"data.gain": 3.0}]  # doctest: +SKIP
    >>> _ = write_sweep_index(out, "demo", [out / "demo-a", out / "demo-b"], points)  # doctest: +SKIP
    >>> sweep = open_sweep(out)  # doctest: +SKIP
    >>> dict(sweep.weight.sizes)  # doctest: +SKIP
    {'gain': 2, 'variant': 2, 'replicate': 2, 'round': 3, 'neuron': 8, 'input': 40}
    >>> bool(sweep.weight.sel(gain=3.0).isnull().all()), type(sweep.weight.data).__module__  # doctest: +SKIP
    (True, 'dask.array.core')
    """
    grid, points, attrs = sweep_points(path, name=name)
    runs = [
        open_run(run_dir, lazy=True).expand_dims("point").assign_coords({d: ("point", [v]) for d, v in labels.items()})
        for labels, run_dir in points
        if run_dir is not None  # not started yet: NaN below
    ]
    if not runs:
        raise ValueError(f"no grid point of sweep {attrs['sweep']!r} has written a round yet")
    # Grid points side by side along "point" (sizes may differ: outer join), then one dim per key.
    stacked = xr.concat(runs, "point", join="outer", combine_attrs="drop_conflicts", fill_value=np.nan)
    combined = missing_as_false(on_grid(stacked, grid))  # points not started: NaN, flags False
    combined.attrs |= attrs
    return combined


def on_grid(stacked: xr.Dataset, dims: dict[str, list]) -> xr.Dataset:
    """Grid points side by side along ``point`` (each labelled by a coordinate per swept dim) as one
    dimension per swept key, in ``dims``' order, over the whole grid: points not given are NaN.

    Examples
    --------
    >>> points = xr.Dataset({"a": ("point", [1.0])}, coords={"gain": ("point", [3.0])})
    >>> on_grid(points, {"gain": [1.0, 3.0]}).a.values
    array([nan,  1.])
    """
    if len(dims) == 1:
        out = stacked.swap_dims(point=next(iter(dims)))
    else:
        out = stacked.set_index(point=list(dims)).unstack("point")
    return out.reindex(dims).transpose(*dims, ...)


def write_sweep_verdicts(path, verdicts: xr.Dataset) -> Path:
    """Store ``analysis.sweep_verdicts`` in netCDF (a few tens of kB), written whole or not at all: what a
    sweep's published pages are generated from, without its run directories.

    Returns
    -------
    Path
    """
    path = Path(path)
    with atomic_target(path) as partial:
        verdicts.to_netcdf(partial, engine="netcdf4")
    return path


def read_sweep_verdicts(path) -> xr.Dataset:
    """A sweep's verdicts as ``write_sweep_verdicts`` stored them, loaded, with ``swept`` and ``pair`` as
    lists (netCDF keeps a one-element list as a string).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> verdicts = xr.Dataset({"n_star": ("gain", [11.0])}, coords={"gain": [10.0]})
    >>> verdicts.attrs = {"sweep": "gain", "swept": ["data.gain"], "pair": ["nlgp", "gaussian_clone"]}
    >>> path = write_sweep_verdicts(pathlib.Path(tempfile.mkdtemp()) / "gain.nc", verdicts)
    >>> read_sweep_verdicts(path).attrs["swept"]
    ['data.gain']
    """
    with xr.open_dataset(path, engine="netcdf4") as stored:
        verdicts = stored.load()
    for key in ("swept", "pair"):
        verdicts.attrs[key] = [str(value) for value in np.atleast_1d(verdicts.attrs[key])]
    return verdicts
