"""Claim 3: the weights IMP prunes are those whose removal raises non-Gaussianity; the rank correlation
of |w| with the effect beside theory; the feedback the single-weight effects predict; the analytic
theories against exact ablation; cavity-guided pruning as the causal test."""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr
from scipy import stats

from cavitykit import metrics
from cavitykit.analysis.claims._common import DIFFERENCE, SHARE, Claim, Evidence, Interval
from cavitykit.analysis.claims.localization import AtSurvivors, Localization
from cavitykit.analysis.mechanism import correlated_theory, independent_effects, pixel_excess_kurtosis
from cavitykit.analysis.units import unit_measures
from cavitykit.branches import CAVITY, RANDOM
from cavitykit.config import stored_config
from cavitykit.io.schema import expansion_error, first_layer_fields, run_config
from cavitykit.samples import kurtosis_after_pruning


@dataclasses.dataclass(frozen=True)
class TheoryAgreement:
    """How well the analytic theories predict the exact cavity effects (``theory_agreement``).

    Attributes
    ----------
    correlated, independent : Interval
        Rank correlation with the exact effect, per unit, mean over the units of each replicate.
    correlated_per_round, independent_per_round : xarray.DataArray over round
        Its mean per round.
    pruned_raise, kept_raise : Interval
        Shares of the weights IMP prunes next, and of those it keeps, that the correlated-input theory
        predicts to raise |excess kurtosis|.
    n_units : int
        Unit-rounds compared.
    """

    correlated: Interval
    independent: Interval
    correlated_per_round: xr.DataArray
    independent_per_round: xr.DataArray
    pruned_raise: Interval
    kept_raise: Interval
    n_units: int


@dataclasses.dataclass(frozen=True)
class FeedbackRank:
    """``compactness_feedback``: the rank correlation over units and rounds, and the unit-rounds behind it."""

    rho: Interval
    pairs: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class Cavity(Claim):
    """Claim 3's result.

    Attributes
    ----------
    pruned, kept, clone_pruned : Interval
        Shares raising |excess kurtosis| on exact removal: of the weights IMP prunes next, of those it
        keeps (model), and of the clone's pruned weights.
    gap, specific : Interval
        Pruned share model - clone, and model pruned - kept.
    rho, rho_clone : Interval
        Rank correlation of |w| with the exact effect, model and clone.
    rho_theory : Interval or None
        The same for the independent-input prediction (None without one pixel excess kurtosis).
    feedback : xarray.Dataset over round
        ``feedback_loop``.
    cavity : AtSurvivors or None
        The cavity-guided branch beside IMP at claim 1's comparison point (None without that branch).
    theories : TheoryAgreement or None
        None where the correlated-input theory does not apply.
    feedback_rank : dict of str to FeedbackRank, or None
        ``compactness_feedback`` for IMP and, with a random branch, random pruning.
    expansion_error : xarray.DataArray over (variant, approx_order), or None
        The expansions' median relative error against exact ablation (None where neither the expansions
        nor their errors are stored).
    """

    name = "cavity"
    statement = "3. The weights IMP prunes are those whose removal raises non-Gaussianity."
    criterion = (
        "more than half of the weights IMP prunes next raise |excess kurtosis| on exact removal (interval above "
        "1/2), more than of the clone's pruned weights and of the weights IMP keeps (intervals above 0)"
    )

    pruned: Interval | None = None
    kept: Interval | None = None
    clone_pruned: Interval | None = None
    gap: Interval | None = None
    specific: Interval | None = None
    rho: Interval | None = None
    rho_theory: Interval | None = None
    rho_clone: Interval | None = None
    feedback: xr.Dataset | None = None
    cavity: AtSurvivors | None = None
    theories: TheoryAgreement | None = None
    feedback_rank: dict[str, FeedbackRank] | None = None
    expansion_error: xr.DataArray | None = None


def _rank_correlation(x: np.ndarray, y: np.ndarray, selected: np.ndarray) -> float:
    """Spearman correlation of x and y over the selected entries, e.g. |w| and the cavity effect over a
    unit's kept weights (NaN under three entries, or where y is constant or not finite)."""
    if selected.sum() < 3 or not np.isfinite(y[selected]).all() or np.ptp(y[selected]) == 0:
        return np.nan
    return float(stats.spearmanr(x[selected], y[selected]).statistic)


def _independent_prediction(ds: xr.Dataset) -> xr.DataArray | None:
    """The independent-input Delta|excess kurtosis| of removing each kept weight, kappa_x IPR before and
    after, for the variants with one pixel excess kurtosis (NaN for the others); None if none has one."""
    predicted = []
    for variant in ds.variant.values:
        change = independent_effects(ds, str(variant))
        if change is None:
            predicted.append(xr.full_like(ds.cavity_exact.sel(variant=variant).isel(label=0, drop=True), np.nan))
            continue
        statistic = pixel_excess_kurtosis(ds, str(variant)) * ds.ipr.sel(variant=variant)
        predicted.append(metrics.abs_kurtosis_change(statistic, change))
    if all(bool(one.isnull().all()) for one in predicted):
        return None
    return xr.concat(predicted, dim="variant")


def weight_effect_correlation(ds: xr.Dataset) -> xr.Dataset:
    """Per unit and round, the rank correlation between |w| and the exact Delta|excess kurtosis| of
    removing each kept weight (mean over classes), and the same for the independent-input prediction.

    Negative: the smaller a weight, the more its removal raises |excess kurtosis|.

    Returns
    -------
    xarray.Dataset over (variant, replicate, round, neuron): ``exact`` and ``theory``, the prediction as
    the run stored it or, from a weights file, recomputed from the weights where a variant has one pixel
    excess kurtosis (``independent_effects``); no ``theory`` when neither applies.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> rho = weight_effect_correlation(open_run(example_run()))
    >>> bool((np.abs(rho.exact) <= 1).all())
    True
    """
    ordered = ("variant", "replicate", "round", "neuron", "input")
    magnitude = np.abs(ds.weight.transpose(*ordered).values)
    kept = np.nan_to_num(ds["mask"].transpose(*ordered).values).astype(bool)
    effects = {"exact": metrics.abs_kurtosis_change(ds.preact_excess_kurtosis, ds.cavity_exact).mean("label")}
    if "cavity_theory" in ds:
        effects["theory"] = metrics.abs_kurtosis_change(ds.theory_excess_kurtosis, ds.cavity_theory).mean("label")
    elif (theory := _independent_prediction(ds)) is not None:  # a weights file leaves it out: derived
        effects["theory"] = theory
    out = {}
    for name, effect in effects.items():
        values = effect.transpose(*ordered).values
        rho = np.full(magnitude.shape[:-1], np.nan)
        for index in np.ndindex(rho.shape):
            rho[index] = _rank_correlation(magnitude[index], values[index], kept[index])
        out[name] = (ordered[:-1], rho)
    return xr.Dataset(out, coords={d: ds[d] for d in ordered[:-1] if d in ds.coords})


def theory_agreement(
    run: xr.Dataset, model: str, units: xr.DataArray, pruned: xr.DataArray, theory: xr.Dataset | None = None
) -> TheoryAgreement | None:
    """Do the analytic theories predict the exact cavity effects of the model's learned units, and which
    weights does the correlated-input theory say IMP should prune?

    Per unit (and round), the rank correlation over its kept weights between the exact Delta|excess
    kurtosis| (mean over classes) and the predicted one, for the correlated-input theory
    (``mechanism.correlated_theory``) and the independent-input theory; then the mean over the selected
    units of each replicate.  Beside them, the share of the weights IMP prunes next that the correlated
    theory predicts to raise |excess kurtosis|, and the same share of the weights it keeps.

    Parameters
    ----------
    run : xarray.Dataset
    model : str
    units : xarray.DataArray of bool over (replicate, round, neuron)
        The units judged (learned, within the accurate rounds).
    pruned : xarray.DataArray of bool over (replicate, round, neuron, input)
        The weights IMP prunes next.
    theory : xarray.Dataset, optional
        ``mechanism.correlated_theory(run, model, units)``, when the caller has it.

    Returns
    -------
    TheoryAgreement or None (the theory is for NLGP inputs)
    """
    theory = correlated_theory(run, model, units) if theory is None else theory
    if theory is None:
        return None
    one = run.sel(variant=model)
    order = ("replicate", "round", "neuron", "input")
    exact = metrics.abs_kurtosis_change(one.preact_excess_kurtosis, one.cavity_exact).mean("label")
    correlated = metrics.abs_kurtosis_change(theory.gamma, theory.delta).mean("label")
    independent = metrics.abs_kurtosis_change(
        pixel_excess_kurtosis(run, model) * one.ipr, independent_effects(run, model)
    )
    kept = one["mask"].fillna(0).astype(bool) & units
    reference = exact.transpose(*order).values
    masks = kept.transpose(*order).values
    out = {}
    for name, predicted in (("correlated", correlated), ("independent", independent)):
        values = predicted.transpose(*order).values
        rho = np.full(masks.shape[:-1], np.nan)
        for index in zip(*np.nonzero(masks.any(axis=-1)), strict=True):
            rho[index] = _rank_correlation(values[index], reference[index], masks[index])
        per_unit = xr.DataArray(rho, dims=order[:-1], coords={d: one[d] for d in order[:-1]})
        out[name] = Interval.over_replicates(per_unit.mean(("round", "neuron")), DIFFERENCE)
        out[f"{name}_per_round"] = per_unit.mean(("replicate", "neuron"))
    raises = correlated > 0
    for name, group in (("pruned_raise", pruned & kept), ("kept_raise", kept & ~pruned)):
        total = group.sum(("round", "neuron", "input"))
        out[name] = Interval.over_replicates(raises.where(group).sum(("round", "neuron", "input")) / total, SHARE)
    return TheoryAgreement(n_units=int(units.sum()), **out)


def compactness_feedback(
    branch: xr.Dataset,
    model: str,
    units: xr.DataArray,
    theory: xr.Dataset | None = None,
    measures: xr.Dataset | None = None,
) -> FeedbackRank | None:
    """The feedback loop the paper proposes, unit by unit: does a pruning step that the correlated-input
    theory predicts to raise a unit's |excess kurtosis| more also leave it more compact after retraining?

    Per learned unit and round r: the predicted change of |excess kurtosis| when the weights the branch
    prunes next are removed (the sum of their single-weight effects, mean over classes; sample-free, so
    random pruning gets the same prediction as IMP), and the change of the unit's compactness from round r
    to r + 1 (after retraining).  The Spearman correlation over units and rounds of each replicate; its
    interval over replicates.

    Parameters
    ----------
    branch : xarray.Dataset
        The run or a control branch.
    model : str
    units : xarray.DataArray of bool over (replicate, round, neuron)
        The units correlated.
    theory : xarray.Dataset, optional
        ``mechanism.correlated_theory(branch, model, units)``, when the caller has it.
    measures : xarray.Dataset, optional
        ``unit_measures(branch)``, when the caller has it.

    Returns
    -------
    FeedbackRank or None (the theory is for NLGP inputs)
    """
    theory = correlated_theory(branch, model, units) if theory is None else theory
    if theory is None:
        return None
    one = branch.sel(variant=model)
    removed = one.pruned_next.fillna(0).astype(bool) & one["mask"].fillna(0).astype(bool)
    step = theory.delta.where(removed).sum("input", min_count=1)
    predicted = metrics.abs_kurtosis_change(theory.gamma, step).mean("label")
    compactness = (unit_measures(branch) if measures is None else measures).compactness.sel(variant=model)
    change = (compactness.shift(round=-1) - compactness).transpose(*predicted.dims)
    rho, pairs = [], 0
    for replicate in predicted["replicate"].values:
        x, y = predicted.sel(replicate=replicate).values.ravel(), change.sel(replicate=replicate).values.ravel()
        ok = np.isfinite(x) & np.isfinite(y)
        pairs += int(ok.sum())
        rho.append(_rank_correlation(x, y, ok))
    rho = xr.DataArray(rho, dims="replicate", coords={"replicate": predicted["replicate"]})
    return FeedbackRank(rho=Interval.over_replicates(rho, DIFFERENCE), pairs=pairs)


def feedback_loop(run: xr.Dataset, model: str, measures: xr.Dataset | None = None) -> xr.Dataset:
    """Per round, how the model's learned units' mean |excess kurtosis| changes when IMP prunes: as the
    single-weight cavity effects of the pruned set predict (summed, applied to each unit's kurtosis per
    class), as it is right after removing that set (the exact group effect, on the same held-out
    samples as the round's statistics), and as it is after retraining (the next round).

    Parameters
    ----------
    run : xarray.Dataset
        A run (or its weights file) with ``cavity_exact``.
    model : str
    measures : xarray.Dataset, optional
        ``unit_measures(run)``, when the caller has it.

    Returns
    -------
    xarray.Dataset over round
        ``predicted``, ``after_pruning`` and ``after_retraining``: means over learned units and
        replicates (the last round has no next round: NaN after retraining).
    """
    measures = unit_measures(run) if measures is None else measures
    one = run.sel(variant=model)
    kurtosis = one.preact_excess_kurtosis
    summed = one.cavity_exact.where(one.pruned_next.astype(bool)).sum("input")
    predicted = metrics.abs_kurtosis_change(kurtosis, summed).mean("label")
    learned = measures.learned.sel(variant=model)
    absolute = measures.abs_kurtosis.sel(variant=model)
    after = xr.DataArray(
        np.stack([_kurtosis_after_pruning(run, model, r) for r in one["replicate"].values]),
        dims=("replicate", "round", "label", "neuron"),
        coords={"replicate": one["replicate"], "round": one["round"]},
    )
    exact = (np.abs(after) - np.abs(kurtosis.transpose(*after.dims))).mean("label")

    def mean(values):
        return values.where(learned).mean(("neuron", "replicate"))

    return xr.Dataset(
        {
            "predicted": mean(predicted),
            "after_pruning": mean(exact),
            "after_retraining": mean(absolute.shift(round=-1) - absolute),
        }
    )


def _kurtosis_after_pruning(run: xr.Dataset, model: str, replicate) -> np.ndarray:
    """``samples.kurtosis_after_pruning`` of one replicate, shape (round, label, K): as a weights file keeps
    it, or measured again on the replicate's held-out samples."""
    one = run.sel(variant=model, replicate=replicate)
    if "kurtosis_after_pruning" in one:
        return one.kurtosis_after_pruning.transpose("round", "label", "neuron").values.astype(np.float64)
    one = one.assign(weight=first_layer_fields(one))  # with batch normalization, what acts on the pixels
    return kurtosis_after_pruning(stored_config(run_config(run)), model, int(replicate), one)


def claim_cavity(evidence: Evidence, localization: Localization | None = None) -> Cavity:
    """Claim 3: the weights IMP prunes are those whose removal raises non-Gaussianity.

    (a) Per replicate, the share of the weights IMP prunes next whose exact removal raises the unit's
    |excess kurtosis| (mean over classes), over the model's learned units and accurate rounds; the clone,
    whose pre-activations are Gaussian whatever the weights, is the null.  Supported when the model's
    share has its interval above 1/2, and its paired differences to the clone's and to the kept weights'
    share (the pruned set is singled out, not one of many that raise it) above 0.  Beside it, the
    rank correlation of |w| with the exact effect (``weight_effect_correlation``) and with the
    independent-input prediction: in that theory small weights raise |excess kurtosis| by an amount
    that grows with |w| up to a threshold, so the correlation is positive there.  (b) The feedback loop
    per round (``feedback_loop``).  (c) With a cavity branch, cavity-guided pruning against IMP at claim
    1's comparison point (share of bumps).  (d) How well the analytic theories predict the exact effects
    (``theory_agreement``).

    Why no "magnitude-matched" comparison: within a replicate magnitude pruning removes exactly the
    smallest weights, so no pruned and kept weight share a magnitude; only replicate-to-replicate jitter
    of the threshold pairs them, which identifies nothing.

    Parameters
    ----------
    evidence : Evidence
    localization : Localization, optional
        Claim 1's result, whose control line for the cavity-guided branch is the causal test.

    Returns
    -------
    Cavity
        Not tested when the run has no cavity effects.
    """
    run, (model, clone) = evidence.run, evidence.pair
    if "cavity_exact" not in run:
        return Cavity.untested("the run has no cavity effects (analysis.cavity = false)")
    measures, last = evidence.measures, evidence.accurate
    selected = measures.learned & (run["round"] <= last)
    raises = metrics.abs_kurtosis_change(run.preact_excess_kurtosis, run.cavity_exact).mean("label") > 0
    mask = run["mask"].fillna(0).astype(bool)
    pruned = run.pruned_next.fillna(0).astype(bool) & mask

    def share(group):
        members = group & selected
        return raises.where(members).sum(("round", "neuron", "input")) / members.sum(("round", "neuron", "input"))

    pruned_share, kept_share = share(pruned), share(mask & ~pruned)
    rho = weight_effect_correlation(run)
    per_replicate = {name: rho[name].where(selected).mean(("round", "neuron")) for name in rho.data_vars}
    numbers = {
        "pruned": Interval.over_replicates(pruned_share.sel(variant=model), SHARE),
        "gap": Interval.over_replicates(pruned_share.sel(variant=model) - pruned_share.sel(variant=clone), DIFFERENCE),
        "specific": Interval.over_replicates(
            pruned_share.sel(variant=model) - kept_share.sel(variant=model), DIFFERENCE
        ),
    }
    theories = feedback_rank = None
    units = selected.sel(variant=model)
    theory = correlated_theory(run, model, units)
    if theory is not None:
        theories = theory_agreement(run, model, units, pruned.sel(variant=model), theory)
        feedback_rank = {"imp": compactness_feedback(run, model, units, theory, measures)}
        if RANDOM.name in evidence.controls:
            random_measures = evidence.branch_measures(RANDOM.name)
            random_units = (random_measures.learned & (evidence.controls[RANDOM.name]["round"] <= last)).sel(
                variant=model
            )
            feedback_rank["random"] = compactness_feedback(
                evidence.controls[RANDOM.name], model, random_units, measures=random_measures
            )
    errors = None
    if "cavity_expansion" in run:
        errors = expansion_error(run)
    elif "expansion_error" in run:  # a weights file keeps the expansions' errors, not the expansions
        errors = run.expansion_error
    return Cavity(
        tested=True,
        supported=bool(numbers["pruned"].low > 0.5 and numbers["gap"].above_zero and numbers["specific"].above_zero),
        kept=Interval.over_replicates(kept_share.sel(variant=model), SHARE),
        clone_pruned=Interval.over_replicates(pruned_share.sel(variant=clone), SHARE),
        rho=Interval.over_replicates(per_replicate["exact"].sel(variant=model), DIFFERENCE),
        rho_theory=(
            Interval.over_replicates(per_replicate["theory"].sel(variant=model), DIFFERENCE)
            if "theory" in per_replicate
            else None
        ),
        rho_clone=Interval.over_replicates(per_replicate["exact"].sel(variant=clone), DIFFERENCE),
        feedback=feedback_loop(run, model, measures),
        cavity=None if localization is None else localization.controls.get(CAVITY.name),
        theories=theories,
        feedback_rank=feedback_rank,
        expansion_error=errors,
        **numbers,
    )
