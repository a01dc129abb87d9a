"""Run store: the only package that touches netCDF files (through xarray's netcdf4 engine)."""

from cavitykit.io.store import (
    CUMULANTS_FILE,
    SCHEMA,
    atomic_target,
    open_run,
    read_round,
    remove_temporaries,
    round_path,
    with_cumulants,
    write_dataset,
)

__all__ = [
    "CUMULANTS_FILE",
    "SCHEMA",
    "atomic_target",
    "open_run",
    "read_round",
    "remove_temporaries",
    "round_path",
    "with_cumulants",
    "write_dataset",
]
