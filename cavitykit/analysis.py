"""Analyses of an IMP run (``cavitykit.io.open_run``): each one an xarray computation.

They answer the three claims of REFERENCE.md section 1 from the stored data: localization per
round, pre-activation non-Gaussianity per round, and whether the weights IMP prunes are those
whose removal raises |excess kurtosis|.
"""

from __future__ import annotations

import tomllib

import numpy as np
import xarray as xr

from cavitykit import metrics

UNITS = ("replicate", "neuron")


def grid_shape(ds: xr.Dataset) -> tuple[int, ...]:
    """Pixel grid (L,) or (L, L) of the run's inputs."""
    if "y" in ds.coords:
        return (int(ds.x.max()) + 1, int(ds.y.max()) + 1)
    return (ds.sizes["input"],)


def localization(ds: xr.Dataset) -> xr.Dataset:
    """Per unit: IPR, participation ratio, RF width (mean over grid axes), localized or not;
    and the IPR a random Gaussian vector with the same number of surviving weights would have."""
    shape = grid_shape(ds)
    weight = ds.weight.transpose(..., "input")
    width = xr.apply_ufunc(
        lambda w: metrics.receptive_field(w, shape)["width"].mean(axis=-1),
        weight,
        input_core_dims=[["input"]],
    )
    n_kept = ds["mask"].sum("input")
    return xr.Dataset(
        {
            "ipr": ds.ipr,
            "participation_ratio": 1.0 / ds.ipr,
            "rf_width": width,
            "localized": width < metrics.LOCALIZED_WIDTH_FRACTION * shape[0],
            "random_ipr": 3.0 / (n_kept + 2.0),
        }
    )


def round_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per variant and round: means and spreads over replicates and units.

    Returns variables ``ipr``, ``random_ipr``, ``localized_fraction``, ``rf_width``,
    ``abs_kurtosis`` (mean |excess kurtosis| over units, classes and replicates),
    ``kurtosis`` (signed mean), their ``*_sd`` spreads over replicates (sample standard
    deviations, NaN with a single replicate), ``kurtosis_se``
    (sampling error of the mean for Gaussian pre-activations, sqrt(24 / n) per unit),
    ``test_accuracy`` and ``sparsity``.
    """
    local = localization(ds)
    kurt = ds.preact_excess_kurtosis
    n_samples = n_heldout(ds)
    per_replicate = {
        "ipr": local.ipr.mean("neuron"),
        "random_ipr": local.random_ipr.mean("neuron"),
        "localized_fraction": local.localized.mean("neuron"),
        "rf_width": local.rf_width.where(np.isfinite(local.rf_width)).mean("neuron"),
        "abs_kurtosis": np.abs(kurt).mean(("label", "neuron")),
        "kurtosis": kurt.mean(("label", "neuron")),
        "test_accuracy": ds.test_accuracy,
        "sparsity": ds.sparsity,
    }
    out = xr.Dataset({name: value.mean("replicate") for name, value in per_replicate.items()})
    for name in ("ipr", "abs_kurtosis", "kurtosis", "localized_fraction"):
        out[f"{name}_sd"] = per_replicate[name].std("replicate", ddof=1)  # NaN with one replicate
    n_values = kurt.sizes["label"] * kurt.sizes["neuron"] * kurt.sizes["replicate"]
    out["kurtosis_se"] = xr.full_like(out.kurtosis, np.sqrt(24.0 / n_samples / n_values))
    return out


def n_heldout(ds: xr.Dataset) -> int:
    """Held-out samples per class behind the run's per-round statistics."""
    return int(tomllib.loads(ds.attrs["config"])["analysis"]["n_heldout"])


def cavity_groups(ds: xr.Dataset, *, seed: int = 0) -> xr.Dataset:
    """Cavity effects of the weights IMP prunes next, the weights it keeps, and a random control.

    A removal "raises non-Gaussianity" when |k + Delta| > |k|, k the unit's excess kurtosis on
    the same class.  The random control draws, per variant, replicate and round, as many of the
    unpruned weights as IMP prunes, uniformly (``seed`` fixes the draw).

    Returns
    -------
    Dataset over (variant, round): ``fraction_raising_<group>`` and ``mean_delta_<group>``
    for groups ``pruned``, ``kept`` and ``random``, pooled over replicates, classes and units.
    """
    if "cavity_exact" not in ds:
        raise ValueError("the run has no cavity_exact (analysis.cavity = false)")
    delta = ds.cavity_exact
    kurt = ds.preact_excess_kurtosis
    raises = np.abs(kurt + delta) > np.abs(kurt)
    unpruned = ds["mask"]
    pruned = ds.pruned_next & unpruned
    random_group = xr.apply_ufunc(
        _random_subset,
        unpruned,
        pruned.sum(("neuron", "input")),
        kwargs={"rng": np.random.default_rng(seed)},
        input_core_dims=[["neuron", "input"], []],
        output_core_dims=[["neuron", "input"]],
        vectorize=True,
    )
    groups = {"pruned": pruned, "kept": unpruned & ~ds.pruned_next, "random": random_group}
    out = xr.Dataset()
    pooled = ("replicate", "label", "neuron", "input")
    for name, group in groups.items():
        members = group.broadcast_like(raises)
        count = members.sum([d for d in pooled if d in members.dims])
        out[f"fraction_raising_{name}"] = raises.where(members).sum(pooled) / count
        out[f"mean_delta_{name}"] = delta.where(members).mean(pooled)
        out[f"count_{name}"] = count
    return out


def _random_subset(candidates: np.ndarray, count, rng: np.random.Generator) -> np.ndarray:
    """Boolean array marking ``count`` of the True entries of ``candidates``, chosen uniformly."""
    chosen = np.zeros(candidates.shape, dtype=bool)
    if not np.isfinite(count):  # a round missing in this variant or replicate
        return chosen
    index = np.flatnonzero(candidates)
    chosen.ravel()[rng.choice(index, size=min(int(count), index.size), replace=False)] = True
    return chosen


def expansion_error(ds: xr.Dataset) -> xr.DataArray:
    """Median relative error |expansion - exact| / |exact| per variant and approximation order."""
    exact = ds.cavity_exact
    error = np.abs(ds.cavity_expansion - exact) / np.abs(exact)
    return error.median(("replicate", "round", "label", "neuron", "input"), skipna=True)


def kurtosis_ipr_correlation(ds: xr.Dataset) -> xr.DataArray:
    """Pearson correlation across units (all rounds, replicates) of |excess kurtosis| and IPR, per variant."""
    abs_kurt = np.abs(ds.preact_excess_kurtosis).mean("label")
    dims = ("replicate", "round", "neuron")
    return xr.corr(abs_kurt, ds.ipr, dim=dims)
