"""The run store: one netCDF4 file per IMP round, written atomically, combined by ``open_run``.

xarray cannot append along a dimension of an existing netCDF file (xarray #1672), so each round
(of each variant and replicate) is its own file:
``RUN/<variant>/replicate_<r>/round_<n>.nc``.  A file is written under a hidden temporary
name, flushed to disk and renamed, so a reader never sees a partial file.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import xarray as xr

SCHEMA = "cavitykit.imp.round/1"
ENGINE = "netcdf4"
ROUND_GLOB = "*/replicate_*/round_*.nc"
CUMULANTS_FILE = "cumulants.nc"
# Boolean variables are stored as uint8 flags (netCDF has no boolean type).
BOOLEAN_FLAG = {"flag_values": np.array([0, 1], dtype=np.uint8), "flag_meanings": "false true"}


def round_path(run_dir, variant: str, replicate: int, round_index: int) -> Path:
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
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


def _encode_booleans(dataset: xr.Dataset) -> xr.Dataset:
    dataset = dataset.copy()
    for name, variable in dataset.data_vars.items():
        if variable.dtype == bool:
            dataset[name] = variable.astype(np.uint8).assign_attrs(variable.attrs | BOOLEAN_FLAG)
    return dataset


def _decode_booleans(dataset: xr.Dataset) -> xr.Dataset:
    for name, variable in dataset.data_vars.items():
        if variable.attrs.get("flag_meanings") == BOOLEAN_FLAG["flag_meanings"] and not variable.isnull().any():
            attrs = {key: value for key, value in variable.attrs.items() if key not in BOOLEAN_FLAG}
            dataset[name] = variable.astype(bool).assign_attrs(attrs)
    return dataset


def write_dataset(path, dataset: xr.Dataset) -> None:
    """Write a Dataset (one round, or a run's cumulants) atomically: temporary name, fsync, rename."""
    # Encodings carried over from files read earlier would bind this file too: a string
    # coordinate kept the first round file's width and cut 'ising_clone' to 'ising'.
    dataset = dataset.drop_encoding()
    with atomic_target(path) as temporary:
        _encode_booleans(dataset).to_netcdf(temporary, engine=ENGINE, format="NETCDF4")


def read_round(path, *, config_hash: str | None = None) -> xr.Dataset:
    """Load one round file, checking that it is a cavitykit round (of the given config).

    Raises
    ------
    ValueError
        The file is unreadable, not a cavitykit round file, or from another config.
    """
    path = Path(path)
    try:
        with xr.open_dataset(path, engine=ENGINE) as handle:
            dataset = handle.load()
    except (OSError, ValueError, RuntimeError) as error:
        raise ValueError(f"{str(path)!r} is not a readable netCDF4 file ({error})") from None
    if dataset.attrs.get("cavitykit_schema") != SCHEMA:
        raise ValueError(f"{str(path)!r} is not a cavitykit round file (no cavitykit_schema={SCHEMA!r} attribute)")
    if config_hash is not None and dataset.attrs.get("config_hash") != config_hash:
        raise ValueError(
            f"{str(path)!r} belongs to config {dataset.attrs.get('config_hash', '?')[:12]}, not {config_hash[:12]}"
        )
    return _decode_booleans(dataset)


def remove_temporaries(run_dir) -> None:
    """Delete temporary files an interrupted writer left (never read by ``open_run``)."""
    for temporary in Path(run_dir).glob("**/.*.tmp"):
        temporary.unlink(missing_ok=True)


def open_run(run_dir) -> xr.Dataset:
    """All complete rounds of a run as one Dataset.

    Dims ``variant``, ``replicate``, ``round``, ``neuron``, ``input``, ``label`` (and
    ``approx_order`` with the cavity expansions, ``order`` once ``cavitykit cumulants``
    has run); 2D inputs carry ``x`` and ``y`` coordinates.  Rounds missing in one
    variant or replicate are NaN there.

    Parameters
    ----------
    run_dir : str or Path
        A run directory written by ``cavitykit run``.
    """
    from cavitykit.imp.config import load_config  # here: cavitykit.imp imports this module

    run_dir = Path(run_dir)
    config_file = run_dir / "config.toml"
    if not config_file.is_file():
        raise ValueError(f"{str(run_dir)!r} is not a cavitykit run directory (no config.toml)")
    config = load_config(config_file)
    files = sorted(run_dir.glob(ROUND_GLOB))
    if not files:
        raise ValueError(f"run directory {str(run_dir)!r} holds no complete round yet")
    rounds = [read_round(path, config_hash=config.hash) for path in files]
    combined = xr.combine_by_coords(rounds, combine_attrs="drop_conflicts", join="outer")
    combined.attrs["data_model"] = " ".join(str(v) for v in combined.variant.values)
    cumulants = run_dir / CUMULANTS_FILE
    if cumulants.is_file():  # written by `cavitykit cumulants`
        combined = with_cumulants(combined, read_round(cumulants, config_hash=config.hash))
    return combined


def with_cumulants(run: xr.Dataset, cumulants: xr.Dataset) -> xr.Dataset:
    """The run with the pre-activation cumulant spectra of ``cavitykit cumulants`` merged in."""
    return run.merge(cumulants, join="left", combine_attrs="override")
