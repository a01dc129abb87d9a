"""How IMP raises non-Gaussianity, beyond whether it does: the coherence factor of a unit's field and the
correlated-input cavity theory on a run's stored networks.

On correlated pixels the excess kurtosis of a pre-activation is gamma_2 = kappa_x * IPR(w) * C(w): the
independent-pixel value times a *coherence factor* C that is 1 for independent pixels and grows when the
field covers correlated pixels of one sign (``theory/nlgp_cumulants.md``).  Any sparsification raises the
IPR; only C speaks to localization.  The correlated-input theory (``cavitykit.data.nlgp_cumulants``)
predicts every single-weight cavity effect of an NLGP network from its weights alone.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit import metrics
from cavitykit.analysis.units import unit_measures
from cavitykit.branches import ONE_SHOT
from cavitykit.data.nlgp import NLGP, marginal_cumulants
from cavitykit.data.nlgp_cumulants import field_cumulants
from cavitykit.io.schema import first_layer_fields, run_config


def pixel_excess_kurtosis(run: xr.Dataset, variant: str) -> float | None:
    """kappa_x of the variant's pixels where it is one exact number for every class: the NLGP's
    marginal at the run's gain, -2 for Ising spins; None for clones (0), images (it varies by pixel) and
    a run whose config does not state its gain.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> run = open_run(example_run())
    >>> kappa_x = float(marginal_cumulants(run_config(run)["data"]["gain"], 4)[3])
    >>> pixel_excess_kurtosis(run, "nlgp") == kappa_x, pixel_excess_kurtosis(run, "gaussian_clone")
    (True, None)
    """
    gain = run_config(run).get("data", {}).get("gain")
    if variant == "nlgp" and gain is not None:
        return float(marginal_cumulants(float(gain), 4)[3])
    if variant == "ising":
        return -2.0
    return None


def coherence_factor(ds: xr.Dataset, variant: str) -> xr.DataArray | None:
    """gamma_2 / (kappa_x IPR(w)) of each unit's pre-activation, mean over classes, over (replicate, round,
    neuron); None where the variant has no single kappa_x (``pixel_excess_kurtosis``).

    gamma_2 is the measured excess kurtosis the run stores (``preact_excess_kurtosis``, per class).
    """
    kappa_x = pixel_excess_kurtosis(ds, variant)
    if kappa_x is None:
        return None
    one = ds.sel(variant=variant)
    return (one.preact_excess_kurtosis / (kappa_x * one.ipr)).mean("label")


def class_models(run: xr.Dataset, variant: str) -> list[NLGP] | None:
    """Each class's NLGP (class c has correlation length ``data.xi[c]``), or None for other variants."""
    if variant != "nlgp":
        return None
    data = run_config(run)["data"]
    return [NLGP(int(data["L"]), float(xi), float(data["gain"]), dim=int(data.get("dim", 1))) for xi in data["xi"]]


def correlated_theory(run: xr.Dataset, variant: str, units: xr.DataArray) -> xr.Dataset | None:
    """The correlated-input predictions for the selected units of an NLGP variant, per class.

    Parameters
    ----------
    run : xarray.Dataset
        A run or its weights file.
    variant : str
    units : xarray.DataArray of bool over (replicate, round, neuron)
        The units to predict; the others are left NaN (prediction is the costly part of the claims).

    Returns
    -------
    xarray.Dataset over (replicate, round, label, neuron, input), or None for a variant other than NLGP
        ``delta`` (the change of gamma_2 when each kept weight alone is removed) and ``gamma`` (gamma_2,
        over (replicate, round, label, neuron)).
    """
    models = class_models(run, variant)
    if models is None:
        return None
    one = run.sel(variant=variant).transpose("replicate", "round", "neuron", "input", ...)
    weight = np.nan_to_num(first_layer_fields(one).transpose(*one.weight.dims).values).astype(np.float64)
    kept = np.nan_to_num(one["mask"].values).astype(bool)
    chosen = units.broadcast_like(one.ipr).transpose("replicate", "round", "neuron").values.astype(bool)
    chosen &= kept.any(axis=-1)
    n_rep, n_round, K, D = weight.shape
    delta = np.full((n_rep, n_round, len(models), K, D), np.nan)
    gamma = np.full((n_rep, n_round, len(models), K), np.nan)
    for replicate, round_index in zip(*np.nonzero(chosen.any(axis=-1)), strict=True):
        selected = np.flatnonzero(chosen[replicate, round_index])
        fields = weight[replicate, round_index, selected] * kept[replicate, round_index, selected]
        for label, model in enumerate(models):
            cumulants = field_cumulants(model, fields)
            change = cumulants.removal_change(fields)
            delta[replicate, round_index, label, selected] = np.where(
                kept[replicate, round_index, selected], change, np.nan
            )
            gamma[replicate, round_index, label, selected] = cumulants.excess_kurtosis
    dims = ("replicate", "round", "label", "neuron")
    coords = {d: one[d] for d in ("replicate", "round", "neuron")} | {"label": np.arange(len(models))}
    return xr.Dataset(
        {"delta": ((*dims, "input"), delta), "gamma": (dims, gamma)}, coords=coords | {"input": one["input"]}
    )


def independent_effects(run: xr.Dataset, variant: str) -> xr.DataArray | None:
    """The independent-input change of gamma_2 for every kept weight, kappa_x (IPR after removal - IPR),
    over (replicate, round, neuron, input); None where the variant has no single kappa_x."""
    kappa_x = pixel_excess_kurtosis(run, variant)
    if kappa_x is None:
        return None
    kept = run["mask"].sel(variant=variant).fillna(0).astype(bool)
    field = run.weight.sel(variant=variant).where(kept, 0.0)

    def change(w):
        return kappa_x * (metrics.ipr_after_removal(w) - metrics.ipr(w)[..., None])

    return xr.apply_ufunc(change, field, input_core_dims=[["input"]], output_core_dims=[["input"]]).where(kept)


def learned_trajectories(
    run: xr.Dataset,
    controls: dict[str, xr.Dataset],
    pair: tuple[str, str],
    measures: dict[str, xr.Dataset] | None = None,
) -> xr.Dataset:
    """What the claims read, round by round: the means over each replicate's learned units of the bump
    indicator, compactness, IPR over the top-n null, |excess kurtosis| and coherence factor, for IMP on
    the model and on its clone and for each control branch on the model.

    Parameters
    ----------
    run : xarray.Dataset
    controls : dict of str to xarray.Dataset
    pair : (model, clone)
    measures : dict of str to xarray.Dataset, optional
        ``unit_measures`` of the run (``'imp'``) and of each branch, when the caller has them.

    Returns
    -------
    xarray.Dataset over (line, replicate, round)
        ``line`` names 'imp:<model>', 'imp:<clone>' and '<branch>:<model>'; NaN where a branch has no
        such round or a measure does not apply (the coherence factor of a clone).  The one-shot branch's
        pruned round stands at the run's last round, whose sparsity it shares.
    """
    model, clone = pair
    lines = {}
    for strategy, branch in {"imp": run, **controls}.items():
        branch_measures = unit_measures(branch) if measures is None else measures[strategy]
        for variant in (model, clone) if strategy == "imp" else (model,):
            one = branch_measures.sel(variant=variant)
            factor = coherence_factor(branch, variant)
            values = {name: one[name].astype(float) for name in ("bump", "compactness", "ipr_over_top", "abs_kurtosis")}
            values["coherence"] = one.ipr * np.nan if factor is None else factor.transpose(*one.ipr.dims)
            line = xr.Dataset(values).where(one.learned).mean("neuron")
            if strategy == ONE_SHOT.name:  # its one pruned round has the run's final sparsity
                line = line.assign_coords(round=[0, int(run["round"][-1])])
            lines[f"{strategy}:{variant}"] = line
    return xr.concat(list(lines.values()), dim="line", join="outer").assign_coords(line=list(lines))
