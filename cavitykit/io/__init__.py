"""Run store: the only package that touches netCDF files (through xarray's netcdf4 engine)."""

from cavitykit.io.store import SCHEMA, atomic_target, open_run, read_round, remove_temporaries, round_path, write_round

__all__ = ["SCHEMA", "atomic_target", "open_run", "read_round", "remove_temporaries", "round_path", "write_round"]
