"""A run's weights file: what a published report needs to be re-judged, in one small float32 netCDF file.

Each round's weights, masks and pruning of every layer, biases, readouts and pre-activation statistics,
for the run and each of its control branches (netCDF groups ``controls/<name>``); for the run itself
also the exact cavity effects and the training-time snapshots of round 0, both rounded to
``SIGNIFICANT_DIGITS`` significant digits (netCDF quantization) so that they compress; the rewind point
once.  Left out: the cavity expansions and the independent-input predictions (derived; the
expansions' median relative errors, which the report prints, are kept as ``expansion_error``), and the
branches' cavity effects and snapshots (no claim reads them), and the fresh rewind points of the
re-initialization control, which ``open_weights`` then gives without any.  Kept beside them, measured when the file
is written: each unit's excess kurtosis right after the weights pruned next are removed
(``kurtosis_after_pruning``, which claim 3 reads and which would otherwise need the held-out inputs and,
for a researcher's images, their file); and the run's cumulant spectra where its ``cumulants.nc``
describes it up to order ``SPECTRA_ORDER`` (``CUMULANT_VARIABLES``; the report's spectra figure then needs
no data file either).  Floats are float32, zlib-compressed.
A branch's group runs over the run's rounds, those it lacks (its dense round, which is the run's, and
any after its last) empty, so that every group is aligned with the root and the file opens as a tree
(``xarray.open_datatree``).
``open_weights`` gives back the Dataset ``open_run`` gives, less what was left out, so every claim of
``cavitykit.analysis.verdicts`` can be recomputed from it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit.branches import CONTROLS, CONTROLS_DIR
from cavitykit.io.schema import (
    CUMULANT_VARIABLES,
    decode_round,
    encode_booleans,
    expansion_error,
    first_layer_fields,
)
from cavitykit.io.store import (
    CUMULANTS_FILE,
    ENGINE,
    _branch_dense_round,
    atomic_target,
    current_cumulants,
    open_run,
    run_controls,
    with_cumulants,
)

# Variables of a run that a weights file leaves out (derived, or too large for a published file).
LEFT_OUT = ("cavity_expansion", "cavity_theory", "theory_excess_kurtosis")
# Variables equal in every round (the rewind point; the weights masked by the round), stored once, unmasked.
ONCE = (
    "init_weight",
    "init_bias",
    "init_readout",
    "layer_init_weight",
    "layer_init_bias",
    "init_norm_scale",
    "init_norm_shift",
)
MASKS = {"init_weight": "mask", "layer_init_weight": "layer_mask"}
SNAPSHOTS = ("snapshot_weight", "snapshot_bias", "snapshot_readout")
# What a control branch's group leaves out besides LEFT_OUT: its cavity effects and snapshots (no claim
# reads them) and its rewind point (the run's, stored once; the re-initialization's, fresh each round).
BRANCH_LEFT_OUT = ("cavity_exact", *SNAPSHOTS, *ONCE)
EXPANSION_ERROR = "median relative error |expansion - exact| / |exact| of the cavity expansion"
KURTOSIS_AFTER_PRUNING = "excess kurtosis of the pre-activation once the weights pruned next are removed"
# The cumulant orders the report draws: a run's stored spectra go into its weights file when they reach it.
SPECTRA_ORDER = 8
# Stored rounded to this many significant digits (relative error below 5e-4), so that they compress.
SIGNIFICANT_DIGITS = 4
ROUNDED = ("cavity_exact", *SNAPSHOTS)


def _slim(ds: xr.Dataset, left_out) -> xr.Dataset:
    """The run as a weights file stores it: the rewind point and snapshots once, float32."""
    ds = ds.drop_vars([name for name in left_out if name in ds])
    for name in ONCE + SNAPSHOTS:
        if name in ds:
            ds[name] = ds[name].isel(round=0, drop=True)  # round 0 is unpruned
    for name, variable in ds.data_vars.items():
        if variable.dtype == np.float64:
            ds[name] = variable.astype(np.float32)
    return ds.drop_encoding()


def _encoding(ds: xr.Dataset) -> dict:
    rounded = {"significant_digits": SIGNIFICANT_DIGITS, "quantize_mode": "GranularBitRound"}
    return {name: {"zlib": True} | (rounded if name in ROUNDED else {}) for name in ds.data_vars}


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
        run = open_run(run_dir)
        main = _slim(run, LEFT_OUT)
        if "cavity_expansion" in run:
            # without the round files' encoding, whose text width is the first file's variant name's
            errors = expansion_error(run).drop_encoding().astype(np.float32)
            main["expansion_error"] = errors.assign_attrs(long_name=EXPANSION_ERROR, units="1")
        if "cavity_exact" in run:
            main["kurtosis_after_pruning"] = _kurtosis_after_pruning(run)
        spectra, _ = current_cumulants(Path(run_dir) / CUMULANTS_FILE, run, max_order=SPECTRA_ORDER)
        if spectra is not None:  # absent, unreadable or stale spectra are left out: a report recomputes them
            main = with_cumulants(main, _slim(spectra[list(CUMULANT_VARIABLES)], ()))
        main.attrs["controls"] = " ".join(controls)
        encode_booleans(main).to_netcdf(temporary, engine=ENGINE, format="NETCDF4", encoding=_encoding(main))
        for control in controls:
            branch = _slim(open_run(run_dir, control=control).isel(round=slice(1, None)), LEFT_OUT + BRANCH_LEFT_OUT)
            branch = _aligned(branch, main["round"])
            group = f"{CONTROLS_DIR}/{control}"
            encode_booleans(branch).to_netcdf(
                temporary, mode="a", group=group, engine=ENGINE, encoding=_encoding(branch)
            )
    return path


def _aligned(branch: xr.Dataset, rounds: xr.DataArray) -> xr.Dataset:
    """A branch over the run's ``rounds`` (a superset of its own): absent rounds NaN, flags False."""
    fill = {name: False for name, variable in branch.data_vars.items() if variable.dtype == bool}
    return branch.reindex(
        round=rounds, fill_value=fill | {name: np.nan for name in branch.data_vars if name not in fill}
    )


def _written_rounds(branch: xr.Dataset) -> xr.Dataset:
    """A branch group's own rounds: after the dense one, with weights stored (files written before groups
    were aligned hold only those)."""
    stored = branch.weight.notnull().any([dim for dim in branch.weight.dims if dim != "round"])
    return branch.isel(round=np.flatnonzero(stored.values & (branch["round"].values > 0)))


def _kurtosis_after_pruning(run: xr.Dataset) -> xr.DataArray:
    """``samples.kurtosis_after_pruning`` of every member, float32, over (variant, replicate, round, label,
    neuron)."""
    from cavitykit.config import stored_config
    from cavitykit.io.schema import run_config
    from cavitykit.samples import kurtosis_after_pruning  # the held-out inputs: the data layer, on demand

    config = stored_config(run_config(run))
    on_pixels = run.assign(weight=first_layer_fields(run))  # with batch normalization, what acts on the pixels
    values = [
        [
            kurtosis_after_pruning(
                config, str(variant), int(replicate), on_pixels.sel(variant=variant, replicate=replicate)
            )
            for replicate in run["replicate"].values
        ]
        for variant in run.variant.values
    ]
    return xr.DataArray(
        np.array(values, dtype=np.float32),
        dims=("variant", "replicate", "round", "label", "neuron"),
        coords={name: run[name].values for name in ("variant", "replicate", "round", "label", "neuron")},
        attrs={"long_name": KURTOSIS_AFTER_PRUNING, "units": "1"},
    )


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
    """A weights file (``write_weights``) as the Dataset ``open_run`` gives, in float32, less what the
    file leaves out; the rewind point repeated over rounds, snapshots in round 0 only (NaN after).

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
    ds = _read_group(path, None)
    present = ds.weight.notnull().all(("neuron", "input"))
    for name in ONCE:
        if name in ds:
            ds[name] = _over_rounds(ds[name], ds["round"]).where(present)
    _mask_rewind_point(ds)
    for name in SNAPSHOTS:
        if name in ds:
            ds[name] = _over_rounds(ds[name], ds["round"]).where(ds["round"] == 0)
    if control is None:
        return ds
    branch = _written_rounds(_read_group(path, f"{CONTROLS_DIR}/{control}"))
    dense = ds[[name for name in branch.data_vars]].isel(round=[0])
    combined = xr.concat([dense, branch], dim="round", data_vars="all", combine_attrs="override")
    if not CONTROLS[control].reinitializes:  # a re-initialized branch's rewind points are its own: not kept
        for name in ONCE:
            if name in ds:
                combined[name] = _over_rounds(ds[name].isel(round=0, drop=True), combined["round"])
    _mask_rewind_point(combined)
    combined.attrs = branch.attrs
    return _branch_dense_round(combined)


def _mask_rewind_point(ds: xr.Dataset) -> None:
    """Zero the rewind point where each round's mask prunes, as the round files store it."""
    for name, mask in MASKS.items():
        if name in ds and mask in ds:
            ds[name] = ds[name].where(ds[mask] | ds[name].isnull(), 0.0)


def _over_rounds(variable: xr.DataArray, rounds: xr.DataArray) -> xr.DataArray:
    """A variable stored once, repeated over ``rounds`` (dims in the run's order)."""
    return variable.expand_dims(round=rounds).transpose("variant", "replicate", "round", ...)


def _read_group(path: Path, group: str | None) -> xr.Dataset:
    try:
        with xr.open_dataset(path, engine=ENGINE, group=group) as handle:
            ds = handle.load()
    except (OSError, ValueError) as error:
        raise ValueError(f"{str(path)!r} is not a readable weights file ({error})") from None
    if "config" not in ds.attrs or "weight" not in ds:
        raise ValueError(f"{str(path)!r} is not a cavitykit weights file (no run config or weights)")
    return decode_round(ds, source=repr(str(path)))
