"""Run store: the only package that touches netCDF files (through xarray's netcdf4 engine).

``schema`` defines what a round file holds; ``store`` where files live and how they are written
and combined; ``sweeps`` how a sweep's runs are indexed and opened together.  Neither imports torch or the IMP engine.
"""

from cavitykit.io.schema import SCHEMA, VARIABLES, RoundRecord, encode_round, grid_shape, run_config
from cavitykit.io.store import (
    CONFIG_FILE,
    CUMULANTS_FILE,
    atomic_directory,
    atomic_target,
    open_run,
    read_round,
    remove_temporaries,
    round_path,
    with_cumulants,
    write_dataset,
)
from cavitykit.io.sweeps import open_sweep, read_sweep_index, write_sweep_index

__all__ = [
    "CONFIG_FILE",
    "CUMULANTS_FILE",
    "SCHEMA",
    "VARIABLES",
    "RoundRecord",
    "atomic_directory",
    "atomic_target",
    "encode_round",
    "grid_shape",
    "open_run",
    "open_sweep",
    "read_round",
    "read_sweep_index",
    "remove_temporaries",
    "round_path",
    "run_config",
    "with_cumulants",
    "write_dataset",
    "write_sweep_index",
]
