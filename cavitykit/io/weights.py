"""A run's weights file: what a published report needs to be re-judged, in one small float32 netCDF file.

Each round's first-layer weights, masks and pruning, biases, readouts, pre-activation statistics and
exact cavity effects, for the run and each of its control branches (netCDF groups ``controls/<name>``);
the rewind point and the training-time snapshots of round 0 only; no cavity expansions.  Floats are
stored as float32 (zlib-compressed).  ``open_weights`` gives back the Dataset ``open_run`` gives, less
what was left out, so every claim of ``cavitykit.analysis.verdicts`` can be recomputed from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit.io.schema import decode_round, encode_booleans
from cavitykit.io.store import CONTROLS_DIR, ENGINE, atomic_target, open_run, run_controls

# Variables of a run that a weights file leaves out (derived, or too large for a published file).
LEFT_OUT = ("cavity_expansion",)
# Variables equal in every round (the rewind point), stored once.
ONCE = ("init_weight", "init_bias", "init_readout")
SNAPSHOTS = ("snapshot_weight", "snapshot_bias", "snapshot_readout")


def _slim(ds: xr.Dataset) -> xr.Dataset:
    """The run as a weights file stores it: no expansions, the rewind point and snapshots once, float32."""
    ds = ds.drop_vars([name for name in LEFT_OUT if name in ds])
    for name in ONCE + SNAPSHOTS:
        if name in ds:
            ds[name] = ds[name].isel(round=0, drop=True)
    for name, variable in ds.data_vars.items():
        if variable.dtype == np.float64:
            ds[name] = variable.astype(np.float32)
    return ds.drop_encoding()


def write_weights(run_dir, path) -> Path:
    """Write the weights file of a run directory (and its control branches) to ``path`` (``.nc``).

    Examples
    --------
    >>> import tempfile
    >>> from cavitykit.testing import example_run
    >>> path = write_weights(example_run(), f"{tempfile.mkdtemp()}/weights.nc")
    >>> open_weights(path).weight.dtype
    dtype('float32')
    """
    path = Path(path)
    if path.suffix != ".nc":
        raise ValueError(f"path must end in .nc, got {str(path)!r}")
    controls = run_controls(run_dir)
    with atomic_target(path) as temporary:
        main = _slim(open_run(run_dir))
        main.attrs["controls"] = " ".join(controls)
        encoding = {name: {"zlib": True} for name in main.data_vars}
        encode_booleans(main).to_netcdf(temporary, engine=ENGINE, format="NETCDF4", encoding=encoding)
        for control in controls:
            branch = _slim(open_run(run_dir, control=control))
            encoding = {name: {"zlib": True} for name in branch.data_vars}
            encode_booleans(branch).to_netcdf(
                temporary, mode="a", group=f"{CONTROLS_DIR}/{control}", engine=ENGINE, encoding=encoding
            )
    return path


def weights_controls(path) -> list[str]:
    """The control branches a weights file holds.

    Examples
    --------
    >>> import tempfile
    >>> from cavitykit.testing import example_run
    >>> weights_controls(write_weights(example_run(), f"{tempfile.mkdtemp()}/weights.nc"))
    []
    """
    with xr.open_dataset(path, engine=ENGINE) as handle:
        return handle.attrs.get("controls", "").split()


def open_weights(path, *, control: str | None = None) -> xr.Dataset:
    """A weights file (``write_weights``) as the Dataset ``open_run`` gives, in float32, less the
    cavity expansions; the rewind point repeated over rounds, snapshots in round 0 only (NaN after).

    Parameters
    ----------
    path : str or Path
    control : str, optional
        A control branch the file holds (``weights_controls``).

    Raises
    ------
    ValueError
        Not a cavitykit weights file, or a control branch it does not hold.
    """
    path = Path(path)
    if control is not None and control not in weights_controls(path):
        raise ValueError(f"control must be one of {weights_controls(path)} in {str(path)!r}, got {control!r}")
    group = None if control is None else f"{CONTROLS_DIR}/{control}"
    try:
        with xr.open_dataset(path, engine=ENGINE, group=group) as handle:
            ds = handle.load()
    except (OSError, ValueError) as error:
        raise ValueError(f"{str(path)!r} is not a readable weights file ({error})") from None
    if "config" not in ds.attrs or "weight" not in ds:
        raise ValueError(f"{str(path)!r} is not a cavitykit weights file (no run config or weights)")
    ds = decode_round(ds, source=repr(str(path)))
    present = ds.weight.notnull().all(("neuron", "input"))
    for name in ONCE:
        if name in ds:
            ds[name] = ds[name].expand_dims(round=ds["round"]).where(present)
    for name in SNAPSHOTS:
        if name in ds:
            ds[name] = ds[name].expand_dims(round=ds["round"]).where(ds["round"] == 0)
    return ds
