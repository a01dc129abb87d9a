"""Claims across a sweep (``cavitykit.open_sweep``): per replicate at every grid point, then means and
standard errors over replicates.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit.analysis.measurements import cavity_by_magnitude, per_replicate


def claims_per_replicate(ds: xr.Dataset, pair: tuple[str, str]) -> xr.Dataset:
    """The statistics of claims 1 and 2 per replicate, after the last round each replicate reached.

    Works on a run and on a sweep (``cavitykit.open_sweep``, loaded): swept dims are kept, and
    "last round" is taken per grid point, so strategies with fewer rounds ('one_shot') are
    compared at their final sparsity.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a sweep (``weight``, ``mask``, ``ipr``, ``preact_excess_kurtosis``,
        ``test_accuracy``, ``sparsity``).
    pair : (model, clone)

    Returns
    -------
    xarray.Dataset over the dims of ``ds.test_accuracy`` less ``variant`` and ``round``
        ``width_ratio`` (mean RF width, model / clone), ``localized_gap`` (localized fraction,
        model - clone), ``rf_width``, ``localized_fraction`` and ``kurtosis_rise`` (mean
        |excess kurtosis| after the last round minus round 0) over ``variant`` (model and
        clone), and ``sparsity``; NaN where a replicate has no round yet.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> claims = claims_per_replicate(ds, ("nlgp", "gaussian_clone"))
    >>> dict(claims.width_ratio.sizes), dict(claims.kurtosis_rise.sizes)
    ({'replicate': 2}, {'variant': 2, 'replicate': 2})
    """
    replicates = per_replicate(ds)
    present = ds.test_accuracy.notnull()
    last = ds["round"].where(present).max("round")

    def at_last(values):
        return values.sel(round=last.fillna(0).astype(int)).where(last.notnull()).drop_vars("round")

    rf_width = at_last(replicates.rf_width)
    localized = at_last(replicates.localized_fraction)
    abs_kurtosis = replicates.abs_kurtosis
    model, clone = pair
    out = xr.Dataset(
        {
            "width_ratio": rf_width.sel(variant=model, drop=True) / rf_width.sel(variant=clone, drop=True),
            "localized_gap": localized.sel(variant=model, drop=True) - localized.sel(variant=clone, drop=True),
            "rf_width": rf_width.sel(variant=list(pair)),
            "localized_fraction": localized.sel(variant=list(pair)),
            "kurtosis_rise": (at_last(abs_kurtosis) - abs_kurtosis.isel(round=0, drop=True)).sel(variant=list(pair)),
            "sparsity": at_last(replicates.sparsity).sel(variant=model, drop=True),
        }
    )
    return out


def sweep_claims(sweep: xr.Dataset, pair: tuple[str, str], *, n_bins: int = 10, n_boot: int = 2000) -> xr.Dataset:
    """Every claim's statistic at every grid point of a sweep: means and standard errors over replicates.

    Parameters
    ----------
    sweep : xarray.Dataset
        ``cavitykit.open_sweep`` (loaded, or at least the variables ``claims_per_replicate`` and
        ``cavity_by_magnitude`` read), or a single run.
    pair : (model, clone)
    n_bins, n_boot : int
        Passed to ``cavity_by_magnitude``.

    Returns
    -------
    xarray.Dataset over the swept dims
        The variables of ``claims_per_replicate`` (mean over replicates) with ``<name>_se``
        (standard deviation over replicates / sqrt(replicates), ddof 1); and, with cavity effects,
        the scalars of ``cavity_by_magnitude`` for the model at each point (``auc``, ``auc_low``,
        ``auc_high``, ``auc_theory``, ..., NaN where a point has none).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # a run is a sweep of one point
    >>> claims = sweep_claims(ds, ("nlgp", "gaussian_clone"), n_bins=4)
    >>> "width_ratio_se" in claims and "auc" in claims  # means with standard errors, and claim 3's AUC
    True
    """
    claims = claims_per_replicate(sweep, pair)
    n_replicates = claims.width_ratio.notnull().sum("replicate")
    out = claims.mean("replicate")
    for name in claims.data_vars:
        out[f"{name}_se"] = claims[name].std("replicate", ddof=1) / np.sqrt(n_replicates)
    if "cavity_exact" not in sweep:
        return out
    swept = [dim for dim in sweep.test_accuracy.dims if dim not in ("variant", "replicate", "round")]
    scalars = ["auc", "auc_low", "auc_high", "auc_theory", "auc_theory_low", "auc_theory_high", "excess", "n_pairs"]
    values = {name: np.full([sweep.sizes[dim] for dim in swept], np.nan) for name in scalars}
    for index in np.ndindex(*[sweep.sizes[dim] for dim in swept]):
        point = sweep.isel(dict(zip(swept, index, strict=True)))
        if point.test_accuracy.sel(variant=pair[0]).notnull().any():
            fair = cavity_by_magnitude(point, pair[0], n_bins=n_bins, n_boot=n_boot)
            for name in scalars:
                values[name][index] = float(fair[name])
    for name, value in values.items():
        out[name] = (swept, value)
    return out
