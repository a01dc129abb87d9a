"""The run store: one netCDF4 file per IMP round, written atomically, combined by ``open_run``.

xarray cannot append along a dimension of an existing netCDF file (xarray #1672), so each round
(of each variant and replicate) is its own file:
``RUN/<variant>/replicate_<r>/round_<n>.nc``.  A file is written under a hidden temporary
name, flushed to disk and renamed, so a reader never sees a partial file.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

from cavitykit.io.schema import decode_round, encode_booleans

ENGINE = "netcdf4"
ROUND_GLOB = "*/replicate_*/round_*.nc"
CONFIG_FILE = "config.toml"
CUMULANTS_FILE = "cumulants.nc"


def round_path(run_dir, variant: str, replicate: int, round_index: int) -> Path:
    """``RUN/<variant>/replicate_<rr>/round_<nnn>.nc``.

    Examples
    --------
    >>> round_path("results/quick-0123", "nlgp", 1, 4).as_posix()
    'results/quick-0123/nlgp/replicate_01/round_004.nc'
    """
    return Path(run_dir) / variant / f"replicate_{replicate:02d}" / f"round_{round_index:03d}.nc"


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_target(path):
    """Yield a temporary path beside ``path``; on success it is flushed and renamed to ``path``.

    On any error (or interruption) the temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_target(path) as partial:
    ...     _ = partial.write_text("done")
    >>> path.read_text()
    'done'
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:  # named by the path asked for, never by the temporary one
        raise OSError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


@contextmanager
def atomic_directory(path):
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    A failure or an interruption while the folder is filled leaves ``path`` as it was (the previous
    report, say) and removes the temporary folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> with atomic_directory(path) as folder:
    ...     _ = (folder / "report.md").write_text("new")
    >>> (path / "report.md").read_text()
    'new'
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    previous = path.with_name(f".{path.name}.{os.getpid()}.old")
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        temporary.mkdir(parents=True)
        yield temporary
        if path.exists():
            os.replace(path, previous)
        os.replace(temporary, path)
    except OSError as error:
        raise OSError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)
    _fsync_directory(path.parent)


def write_dataset(path, dataset: xr.Dataset) -> None:
    """Write a Dataset (one round, or a run's cumulants) atomically: temporary name, fsync, rename.

    Examples
    --------
    >>> import tempfile, pathlib, xarray as xr
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.nc"
    >>> write_dataset(path, xr.Dataset({"a": ("x", [1.0, 2.0])}))
    >>> xr.load_dataset(path).a.values
    array([1., 2.])
    """
    # Encodings carried over from files read earlier would bind this file too: a string
    # coordinate kept the first round file's width and cut 'ising_clone' to 'ising'.
    dataset = dataset.drop_encoding()
    with atomic_target(path) as temporary:
        encode_booleans(dataset).to_netcdf(temporary, engine=ENGINE, format="NETCDF4")


def read_round(path, *, config_hash: str | None = None, lazy: bool = False) -> xr.Dataset:
    """Load one round file, checking that it is a cavitykit round (of the given config).

    With ``lazy`` the variables are dask arrays read from the file when computed.

    Raises
    ------
    ValueError
        The file is unreadable, not a cavitykit round file, or from another config.

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> ds = read_round(round_path(example_run(), "gaussian_clone", 1, 2))
    >>> dict(ds.weight.sizes)
    {'variant': 1, 'replicate': 1, 'round': 1, 'neuron': 8, 'input': 40}
    """
    path = Path(path)
    try:
        if lazy:
            dataset = xr.open_dataset(path, engine=ENGINE, chunks={})
        else:
            with xr.open_dataset(path, engine=ENGINE) as handle:
                dataset = handle.load()
    except (OSError, ValueError, RuntimeError) as error:
        raise ValueError(f"{str(path)!r} is not a readable netCDF4 file ({error})") from None
    dataset = decode_round(dataset, source=repr(str(path)))
    if config_hash is not None and dataset.attrs.get("config_hash") != config_hash:
        raise ValueError(
            f"{str(path)!r} belongs to config {dataset.attrs.get('config_hash', '?')[:12]}, not {config_hash[:12]}"
        )
    return dataset


def remove_temporaries(run_dir) -> None:
    """Delete temporary files an interrupted writer left (never read by ``open_run``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / ".round_000.nc.4242.tmp").write_text("half")  # left by a killed writer
    >>> remove_temporaries(run_dir)
    >>> list(run_dir.iterdir())
    []
    """
    for temporary in Path(run_dir).glob("**/.*.tmp"):
        if temporary.is_dir():  # a report folder being written
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def open_run(run_dir, *, lazy: bool = False, cumulants: bool = False) -> xr.Dataset:
    """All complete rounds of a run as one Dataset.

    Dims ``variant``, ``replicate``, ``round``, ``neuron``, ``input``, ``label`` (and
    ``approx_order`` with the cavity expansions, ``time`` with snapshots); 2D inputs carry ``x``
    and ``y`` coordinates.  Rounds missing in one variant or replicate are NaN there.  A run
    opened without ``cumulants`` always has the same variables, whatever else the directory
    holds.  Reads the files only: neither torch nor the IMP engine is imported.

    Parameters
    ----------
    run_dir : str or Path
        A run directory written by ``cavitykit run``.
    lazy : bool
        Dask arrays read from the files when computed, instead of loading every round now.
    cumulants : bool
        Also merge the cumulant spectra of ``RUN/cumulants.nc`` (``cavitykit cumulants RUN``):
        ``CUMULANT_VARIABLES`` over the extra dims ``sample_set`` and ``order``.

    Returns
    -------
    xarray.Dataset
        The variables of ``cavitykit.io.schema.VARIABLES`` (and, with ``cumulants``,
        ``CUMULANT_VARIABLES``).

    Raises
    ------
    ValueError
        Not a run directory, no complete round yet, or a round file of another config.
    FileNotFoundError
        ``cumulants`` asked for and no ``cumulants.nc`` written yet.

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())
    >>> dict(ds.weight.sizes)
    {'variant': 2, 'replicate': 2, 'round': 3, 'neuron': 8, 'input': 40}
    """
    run_dir = Path(run_dir)
    config_file = run_dir / CONFIG_FILE
    if not config_file.is_file():
        raise ValueError(f"{str(run_dir)!r} is not a cavitykit run directory (no {CONFIG_FILE})")
    files = sorted(run_dir.glob(ROUND_GLOB))
    if not files:
        raise ValueError(f"run directory {str(run_dir)!r} holds no complete round yet")
    config = tomllib.loads(config_file.read_text())
    rounds = [_of_config(read_round(path, lazy=lazy), config, path) for path in files]
    combined = xr.combine_by_coords(rounds, combine_attrs="drop_conflicts", join="outer")
    combined.attrs["data_model"] = " ".join(str(v) for v in combined.variant.values)
    if cumulants:
        spectra = run_dir / CUMULANTS_FILE
        if not spectra.is_file():
            raise FileNotFoundError(f"{str(spectra)!r} does not exist yet; write it with `cavitykit cumulants RUN`")
        combined = with_cumulants(combined, read_round(spectra, config_hash=combined.attrs["config_hash"]))
    return combined


def _of_config(dataset: xr.Dataset, config: dict, path: Path) -> xr.Dataset:
    """``dataset`` if the config it was written with is the run directory's ``config``."""
    if tomllib.loads(dataset.attrs.get("config", "")) != config:
        raise ValueError(
            f"{str(path)!r} belongs to config {dataset.attrs.get('config_hash', '?')[:12]}, "
            f"not to the {CONFIG_FILE} beside it"
        )
    return dataset


def with_cumulants(run: xr.Dataset, cumulants: xr.Dataset) -> xr.Dataset:
    """The run with the pre-activation cumulant spectra of ``cavitykit cumulants`` merged in.

    Parameters
    ----------
    run : xarray.Dataset
        As ``open_run`` returns it.
    cumulants : xarray.Dataset
        As ``cavitykit.spectra.preactivation_cumulants`` returns it.

    Returns
    -------
    xarray.Dataset
        ``run`` with the cumulant variables, over the rounds ``run`` holds.

    Examples
    --------
    >>> from cavitykit.spectra import preactivation_cumulants
    >>> from cavitykit.testing import example_run
    >>> spectra = preactivation_cumulants(example_run(), max_order=4)  # nothing written
    >>> ds = with_cumulants(open_run(example_run()), spectra)  # as open_run(RUN, cumulants=True) after writing them
    >>> "preact_cumulant" in ds
    True
    """
    return run.merge(cumulants, join="left", combine_attrs="override")
