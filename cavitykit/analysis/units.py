"""Per-unit measurements of a run or a control branch: what each unit learned in the dense round (its
class, carried through the rounds) and, every round, its survivors, IPR against the nulls of its survivor
count, connectivity, sign coherence and shape.  The claims judge learned units on these.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy import stats

from cavitykit import metrics
from cavitykit._validation import check_hidden_layer
from cavitykit.io.schema import grid_shape, periodic_grid, seen_pixels, stored_hidden_layers

UNIT = ("variant", "replicate", "round", "neuron")


def effective_fields(ds: xr.Dataset, layer: int, *, round_index: int = 0) -> xr.DataArray:
    """Each unit of hidden layer ``layer``'s field in pixel space: the linear path sum through the layers below.

    F_1 = W_1 and F_l = W_l F_(l-1) / sqrt(K_(l-1)), with pruned weights zero: what a unit of layer l would
    read from the pixels if every unit below were linear.  A ReLU unit below passes its input only where
    it is active, so this is the field of the layers' weights, not of one input's gradient; it is where a
    deeper unit's receptive field can be classified on the image grid.  With batch normalization the
    layers are the folded ones (``io.stored_hidden_layers``: each input feature's scale gamma / sqrt(var +
    eps) included), so F_1 is then not ``weight``, which ``unit_classes`` reads for the first layer.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a control branch (``open_run``), with the deeper layers for ``layer`` > 1.
    layer : int
        1..L.
    round_index : int
        The round whose trained weights are read (0, the dense round, by default).

    Returns
    -------
    xarray.DataArray over (variant, replicate, neuron, input)
        ``neuron`` counts the units of ``layer``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())
    >>> fields = effective_fields(ds, 1)  # without batch normalization, the first layer's weights
    >>> bool((fields == ds.weight.isel(round=0, drop=True)).all())
    True
    """
    widths = (ds.sizes["neuron"], *(ds["layer_width"].values.tolist() if "layer" in ds.dims else ()))
    layer = check_hidden_layer("layer", layer, widths)
    per_network = []
    for v in range(ds.sizes["variant"]):
        for r in range(ds.sizes["replicate"]):
            weights, _, _ = stored_hidden_layers(ds.isel(variant=v, replicate=r, round=round_index))
            field = weights[0]
            for weight in weights[1:layer]:
                field = weight @ field / np.sqrt(weight.shape[1])
            per_network.append(field)
    values = np.stack(per_network).reshape(ds.sizes["variant"], ds.sizes["replicate"], *per_network[0].shape)
    return xr.DataArray(
        values,
        dims=("variant", "replicate", "neuron", "input"),
        coords={"variant": ds.variant, "replicate": ds.replicate, "neuron": range(values.shape[2]), "input": ds.input},
        name="effective_field",
        attrs={"layer": layer, "long_name": f"layer {layer} unit's linear path sum over the pixels"},
    )


def unit_classes(ds: xr.Dataset, *, layer: int = 1) -> xr.DataArray:
    """Each unit's class from its dense (round 0) trained field (``metrics.unit_class``).

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a control branch (round 0 is the same dense round for both).
    layer : int
        The hidden layer whose units are classed: the first (default) by its trained weights (the fields
        the report draws), a deeper one by its ``effective_fields`` on the pixel grid.

    Returns
    -------
    xarray.DataArray of str over (variant, replicate, neuron)
        'bump', 'extended' or 'noise'.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> classes = unit_classes(open_run(example_run()))  # 2 variants x 2 replicates x 8 units
    >>> set(classes.values.ravel()) <= {"bump", "extended", "noise"}
    True
    """
    shape, periodic = grid_shape(ds), periodic_grid(ds)
    dense = ds.weight.isel(round=0, drop=True) if layer == 1 else effective_fields(ds, layer)
    return xr.apply_ufunc(
        lambda w: metrics.unit_class(w, shape, periodic=periodic), dense, input_core_dims=[["input"]], keep_attrs=False
    ).rename("unit_class")


def class_counts(classes: xr.DataArray) -> xr.DataArray:
    """Units of each class per variant and replicate.

    Examples
    --------
    >>> classes = xr.DataArray([["bump", "noise", "noise"]], dims=("replicate", "neuron"))
    >>> class_counts(classes).sel(unit_class="noise").values.tolist()
    [2]
    """
    counts = [(classes == name).sum("neuron") for name in metrics.UNIT_CLASSES]
    return xr.concat(counts, dim=xr.DataArray(list(metrics.UNIT_CLASSES), dims="unit_class", name="unit_class"))


def unit_measures(ds: xr.Dataset) -> xr.Dataset:
    """Every unit's localization and non-Gaussianity, per round, beside the nulls of its survivor count.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a control branch (``open_run(..., control=...)``).

    Returns
    -------
    xarray.Dataset over (variant, replicate, round, neuron)
        ``n_kept`` (surviving first-layer weights), ``ipr``; its nulls ``null_top`` (the top n of D
        magnitudes of a Gaussian vector, ``metrics.top_magnitude_ipr``), ``null_random`` (n random
        entries, 3 / (n + 2)) and ``null_truncated`` (the unit's own dense field cut to its top n:
        pruning without retraining); ``connectivity`` and ``connectivity_null`` (random placement);
        ``sign_coherence``, ``sublattice_share``, ``compactness`` and ``truncated_compactness`` (the dense
        field cut to the unit's n, ``metrics.cut_to_largest``), ``shape`` (``metrics.shape_class``); ``bump`` (shape
        is 'bump'); ``abs_kurtosis`` (|excess kurtosis| of the pre-activation, mean over classes);
        ``unit_class`` (``unit_classes``) and ``learned`` (its class is not 'noise'); the ratios
        ``ipr_over_top``, ``ipr_over_random``, ``ipr_over_truncated`` and the difference
        ``connectivity_excess`` (connectivity less its null).  NaN (and '') where a round is missing.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> units = unit_measures(open_run(example_run()))
    >>> bool((units.null_top <= units.null_random).all())  # the top n of D is flatter than n random entries
    True
    """
    shape, periodic, seen = grid_shape(ds), periodic_grid(ds), seen_pixels(ds)
    D = int(seen.sum())  # the nulls place a unit's weights among the pixels its network sees
    weight = ds.weight.transpose(*UNIT, "input")
    mask = ds["mask"].transpose(*UNIT, "input")
    present = weight.notnull().all("input")
    n_kept = mask.fillna(0).astype(bool).sum("input").where(present)
    count = n_kept.fillna(0).astype(int).values
    top = metrics.top_magnitude_ipr(D)
    dense = weight.isel(round=0).values  # (variant, replicate, neuron, D)
    values = np.nan_to_num(weight.values)
    kept = np.nan_to_num(mask.values).astype(bool)

    def per_unit(array):
        return xr.DataArray(array, dims=UNIT, coords=n_kept.coords).where(present)

    classes = unit_classes(ds)
    cut = metrics.cut_to_largest(dense[:, :, None], count)  # each round's n taken from the dense field
    out = xr.Dataset(
        {
            "n_kept": n_kept,
            "ipr": ds.ipr.transpose(*UNIT).where(present),
            "null_top": per_unit(np.where(count > 0, top[count], np.nan)),
            "null_random": 3.0 / (n_kept + 2.0),
            "null_truncated": per_unit(metrics.truncated_ipr(dense[:, :, None], count)),
            "connectivity": per_unit(metrics.connectivity(kept, shape, periodic=periodic)),
            "connectivity_null": per_unit(metrics.connectivity_null(count, shape, periodic=periodic, support=seen)),
            "sign_coherence": per_unit(metrics.sign_coherence(values, shape, periodic=periodic)),
            "sublattice_share": per_unit(metrics.sublattice_share(values, shape)),
            "compactness": per_unit(metrics.compactness(values, shape, periodic=periodic)),
            "truncated_compactness": per_unit(metrics.compactness(cut, shape, periodic=periodic)),
            "shape": xr.DataArray(
                metrics.shape_class(values, shape, periodic=periodic), dims=UNIT, coords=n_kept.coords
            ),
            "abs_kurtosis": np.abs(ds.preact_excess_kurtosis).mean("label").transpose(*UNIT).where(present),
            "unit_class": classes,
            "learned": classes != "noise",
        }
    )
    out["bump"] = (out["shape"] == "bump").where(present)
    out["ipr_over_top"] = out.ipr / out.null_top
    out["ipr_over_random"] = out.ipr / out.null_random
    out["ipr_over_truncated"] = out.ipr / out.null_truncated
    out["connectivity_excess"] = out.connectivity - out.connectivity_null
    return out


def replicate_interval(values: xr.DataArray, *, level: float = 0.95) -> xr.Dataset:
    """Mean over ``replicate`` and its Student-t interval (NaN bounds with fewer than two replicates).

    Examples
    --------
    >>> interval = replicate_interval(xr.DataArray([1.0, 2.0, 3.0], dims="replicate"))
    >>> float(interval["mean"]), round(float(interval.low), 3), round(float(interval.high), 3)
    (2.0, -0.484, 4.484)
    """
    n = values.notnull().sum("replicate")
    mean = values.mean("replicate")
    half = (
        xr.apply_ufunc(lambda k: stats.t.ppf(0.5 + level / 2, np.maximum(k - 1, 1)), n)
        * values.std("replicate", ddof=1)
        / np.sqrt(n)
    )
    half = half.where(n >= 2)
    return xr.Dataset({"mean": mean, "low": mean - half, "high": mean + half, "n_replicates": n})


def at_matched_survivors(measures: xr.Dataset, name: str, n_grid, *, units: xr.DataArray | None = None) -> xr.DataArray:
    """A per-unit measure at given survivor counts: each unit's trajectory over rounds interpolated in
    log n, then the mean over the selected units of each replicate.

    Parameters
    ----------
    measures : xarray.Dataset
        ``unit_measures`` (one variant or several).
    name : str
        The measure, e.g. ``'ipr'`` or ``'bump'``; a ratio to a null is passed as a measure of its own.
    n_grid : array_like of shape (G,)
        Survivor counts.
    units : xarray.DataArray of bool, optional
        Units to average (default ``measures.learned``).

    Returns
    -------
    xarray.DataArray over (variant, replicate, n)
        NaN where no selected unit's trajectory reaches n.

    Examples
    --------
    >>> m = xr.Dataset({"n_kept": (("round", "neuron"), [[100.0], [10.0]]), "v": (("round", "neuron"), [[0.0], [1.0]])})
    >>> at_matched_survivors(m, "v", [100, 31.6, 10], units=xr.DataArray([True], dims="neuron")).round(2).values
    array([0. , 0.5, 1. ])
    """
    n_grid = np.asarray(n_grid, dtype=np.float64)
    units = measures.learned if units is None else units
    log_grid = np.log(n_grid)

    def interpolate(n, value):
        ok = np.isfinite(n) & np.isfinite(value) & (n > 0)
        if ok.sum() < 1:
            return np.full(n_grid.shape, np.nan)
        order = np.argsort(n[ok])
        x, y = np.log(n[ok][order]), value[ok][order]
        return np.where((log_grid >= x[0] - 1e-12) & (log_grid <= x[-1] + 1e-12), np.interp(log_grid, x, y), np.nan)

    per_unit = xr.apply_ufunc(
        interpolate,
        measures.n_kept,
        measures[name].astype(float),
        input_core_dims=[["round"], ["round"]],
        output_core_dims=[["n"]],
        vectorize=True,
    ).assign_coords(n=n_grid)
    return per_unit.where(units).mean("neuron")
