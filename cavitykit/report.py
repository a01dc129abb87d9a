"""``cavitykit report RUN``: figures and ``report.md`` with a verdict per claim, computed from the data."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm import tqdm

from cavitykit import analysis, metrics
from cavitykit.branches import BRANCHES, ONE_SHOT
from cavitykit.config import config_from_dict
from cavitykit.io import (
    CUMULANTS_FILE,
    atomic_directory,
    cumulants_mismatch,
    open_run,
    open_weights,
    read_round,
    run_config,
    run_controls,
    weights_controls,
    with_cumulants,
    write_dataset,
)
from cavitykit.variants import LABELS, compared_pair, label

# The claims of analysis.CLAIMS as the report states them, formatted with the non-Gaussian variant's label.
STATEMENTS = (
    "1. Non-Gaussian inputs are necessary: IMP localizes on {label}, not on its Gaussian clone.",
    "2. IMP raises the non-Gaussianity of hidden-unit pre-activations across rounds, beyond what random pruning does.",
    "3. The weights IMP prunes are those whose removal raises non-Gaussianity.",
    "4. Iterative pruning localizes a unit more than one-shot pruning to the same number of weights.",
)
# Each claim's criterion in one line, shown under its verdict (the claim's section gives the numbers).
CRITERIA = (
    "at matched survivors, the bump share of learned units exceeds the clone's by at least {margin} and their IPR "
    "over the top-n null exceeds the clone's, both 95% intervals above 0",
    "the learned units' mean |excess kurtosis| rises from round 0 to the last accurate round under IMP, and by "
    "more than under random pruning to the same sparsity, both 95% intervals above 0",
    "more than half of the weights IMP prunes next raise |excess kurtosis| on exact removal (interval above 1/2), "
    "more than of the clone's pruned weights and of the weights IMP keeps (intervals above 0)",
    "per learned unit at the same number of weights, the bump share under IMP exceeds one-shot pruning's by at "
    "least {margin}, its 95% interval above 0",
)
VERDICTS = {True: "**supported**", False: "**not supported**", None: "**not tested**"}


def _ci(value: dict, digits: int = 2, sign: bool = False) -> str:
    """'0.53 [0.23, 0.83]': a replicate mean and its 95% interval."""
    form = f"{{:+.{digits}f}}" if sign else f"{{:.{digits}f}}"

    def number(x):
        return form.format(round(x, digits) + 0.0)  # + 0.0: never "-0"

    if not np.isfinite(value["mean"]):
        return "n/a (no unit reaches it)"
    if not np.isfinite(value["low"]):
        return number(value["mean"]) + " (one replicate: no interval)"
    return f"{number(value['mean'])} [{number(value['low'])}, {number(value['high'])}]"


def _shape_line(name: str, values: dict, n: float) -> str:
    return (
        f"{name} at n = {n:.0f}: bumps {_ci(values['bump'])} of learned units; IPR / top-n null "
        f"{_ci(values['ipr_over_top'])}, / 3/(n+2) {_ci(values['ipr_over_random'])}, / own dense field cut to n "
        f"{_ci(values['ipr_over_truncated'])}; connectivity above random placement "
        f"{_ci(values['connectivity_excess'], sign=True)}"
    )


def _localization_lines(claim: dict, pair: tuple[str, str]) -> list[str]:
    name = LABELS[pair[0]]
    accurate = ", ".join(f"{LABELS.get(v, v)} up to round {r}" for v, r in claim["accurate_round"].items())
    lines = [
        "Read on learned units (classes below), at matched survivors: "
        f"n* = {claim['n_star']:.0f} weights per unit, the sparsest point every learned unit of both variants "
        f"reaches while the networks classify within {analysis.ACCURACY_DROP:g} of their dense accuracy ({accurate}). "
        "Intervals: 95% Student t over replicates.",
        _shape_line(name, claim["model"], claim["n_star"]) + ".",
        _shape_line("Clone", claim["clone"], claim["n_star"]) + ".",
        f"Bump share {name} - clone {_ci(claim['bump_gap'], sign=True)} (criterion >= {analysis.BUMP_MARGIN} with "
        f"interval above 0); IPR / top-n null {name} - clone {_ci(claim['ipr_gap'], sign=True)} (criterion: interval "
        "above 0).",
        "Where the contrast comes from: the share of squared weight on kept pixels with a kept neighbour "
        f"(compactness) at n*, of the survivors after retraining / of the unit's dense field cut to n (pruning "
        f"without retraining): {name} {_ci(claim['model']['compactness'])} / "
        f"{_ci(claim['model']['truncated_compactness'])}; clone {_ci(claim['clone']['compactness'])} / "
        f"{_ci(claim['clone']['truncated_compactness'])}.",
    ]
    lines.append(
        "Shapes of the learned units at each variant's last accurate round: "
        + "; ".join(
            f"{LABELS.get(v, v)} (round {claim['accurate_round'][v]}) "
            + ", ".join(f"{shape} {count}" for shape, count in counts.items())
            for v, counts in claim["shapes"].items()
        )
        + "."
    )
    curve = claim["curve"]
    lines.append(
        "Along the survivor count (bump share / IPR over the top-n null; "
        f"{name} vs clone): "
        + "; ".join(
            f"n = {int(n)}: "
            + " vs ".join(
                f"{float(curve.bump.sel(variant=v, n=n).mean('replicate')):.2f} / "
                f"{float(curve.ipr_over_top.sel(variant=v, n=n).mean('replicate')):.2f}"
                for v in pair
            )
            for n in curve.n.values
            if n >= claim["n_star"] * 0.999
        )
    )
    for strategy, line in claim["controls"].items():
        if strategy == ONE_SHOT.name and not np.isfinite(line["imp"]["bump"]["mean"]):
            lines.append(
                f"Control, one-shot pruning ({name}): its learned units keep n = {line['n']:.1f} weights on average, "
                "fewer than IMP's reach in any round, so no matched comparison exists; the two are compared at "
                "equal sparsity under claim 4."
            )
            continue
        lines.append(
            f"Control, {BRANCHES[strategy].label} ({name}): "
            + _shape_line(BRANCHES[strategy].label, line["branch"], line["n"])
            + f"; IMP at the same n: bumps {_ci(line['imp']['bump'])}, "
            + f"IPR / top-n null {_ci(line['imp']['ipr_over_top'])}."
        )
    if not claim["controls"]:
        lines.append("No control branches in this run (imp.controls): random and one-shot pruning are not shown.")
    return lines


def _kurtosis_lines(claim: dict, pair: tuple[str, str]) -> list[str]:
    name = LABELS[pair[0]]
    lines = [
        f"Rise of the mean |excess kurtosis| of the learned units of {name} from round 0 to round {claim['round']} "
        f"(the last accurate round): IMP {_ci(claim['imp'], 3, sign=True)}; the clone's "
        f"{_ci(claim['clone'], 3, sign=True)}.",
    ]
    if claim["tested"]:
        lines.append(
            f"Random pruning of the same dense networks to the same sparsity: {_ci(claim['random'], 3, sign=True)}; "
            f"IMP - random {_ci(claim['gap'], 3, sign=True)} (criterion: IMP's rise and this difference both with "
            "intervals above 0). Any sparsification makes a sum of fewer inputs less Gaussian, so only the "
            "difference speaks to IMP."
        )
        lines.extend(_coherence_lines(claim.get("coherence"), name))
        per_round = claim["per_round"]
        lines.append(
            "Per round (IMP / random): "
            + "; ".join(
                f"r{int(r)}: {float(per_round.imp.sel(round=r)):+.3f} / {float(per_round.random.sel(round=r)):+.3f}"
                for r in per_round["round"].values
                if np.isfinite(per_round.random.sel(round=r))
            )
        )
    else:
        lines.append(
            "Not tested: the run has no random-pruning control (imp.controls), the only control that can fail."
        )
    return lines


def _coherence_lines(coherence: dict | None, name: str) -> list[str]:
    if coherence is None:
        return ["The coherence factor needs one pixel excess kurtosis for every pixel (NLGP or Ising data)."]
    imp, random = coherence["imp"], coherence["random"]
    return [
        "How each strategy makes its rise (a diagnostic beside the verdict, not part of it). On correlated pixels "
        "gamma_2 = kappa_x x IPR x C: the independent-pixel value times the *coherence factor* C, 1 for independent "
        "pixels and larger the more of the field's weight lies on correlated pixels of one sign; pruning a learned "
        "field lowers it (fewer pixels), scattering the survivors lowers it more. Any sparsification raises the IPR; "
        "C is the part that speaks to localization. Reading: IMP's C above random pruning's at a common per-unit "
        f"survivor count (paired interval above 0), n = {coherence['n']:.0f} weights per unit (learned units "
        f"of {name}).",
        f"At n = {coherence['n']:.0f}: coherence factor IMP {_ci(imp['coherence'])}, "
        f"random {_ci(random['coherence'])}, "
        f"IMP - random {_ci(coherence['gap'], sign=True)} (IMP's {'higher' if coherence['higher'] else 'not higher'}); "
        f"IPR IMP {_ci(imp['ipr'], 3)}, random {_ci(random['ipr'], 3)}; |excess kurtosis| IMP "
        f"{_ci(imp['abs_kurtosis'], 3)}, random {_ci(random['abs_kurtosis'], 3)}, IMP - random "
        f"{_ci(coherence['kurtosis_gap'], 3, sign=True)}.",
    ]


def _theory_lines(theories: dict | None, name: str) -> list[str]:
    if theories is None:
        return ["The correlated-input theory is for NLGP inputs: not computed for these data."]
    return [
        f"Do the theories predict the exact effects? Rank correlation per unit between the exact and the predicted "
        f"Δ|excess kurtosis| over its kept weights ({theories['n_units']} unit-rounds: learned units at accurate "
        "rounds): the "
        f"*correlated-input theory* (the pixels' joint fourth cumulants, from the weights and the data model alone) "
        f"{_ci(theories['correlated'])}; the independent-input theory {_ci(theories['independent'])}.",
        "Per round (correlated / independent): "
        + "; ".join(
            f"r{int(r)}: {float(theories['correlated_per_round'].sel(round=r)):.2f} / "
            f"{float(theories['independent_per_round'].sel(round=r)):.2f}"
            for r in theories["correlated_per_round"]["round"].values
            if np.isfinite(theories["correlated_per_round"].sel(round=r))
        )
        + ".",
        f"Weights the correlated-input theory says raise |excess kurtosis|: {_ci(theories['pruned_raise'])} of those "
        f"IMP prunes next, {_ci(theories['kept_raise'])} of those it keeps ({name}).",
    ]


def _feedback_rank_lines(feedback: dict | None) -> list[str]:
    if feedback is None:
        return []
    line = (
        "Feedback unit by unit: rank correlation, over learned units and rounds, between the change of "
        "|excess kurtosis| the correlated-input theory predicts for a unit's next pruning step and the change of "
        f"its compactness after retraining: IMP {_ci(feedback['imp']['rho'], sign=True)} "
        f"({feedback['imp']['pairs']} unit-rounds)"
    )
    if "random" in feedback:
        line += f", random pruning {_ci(feedback['random']['rho'], sign=True)} ({feedback['random']['pairs']})"
    return [line + ". Positive: steps that raise non-Gaussianity more leave the field more compact."]


def _cavity_lines(claim: dict, errors: xr.DataArray | None, pair: tuple[str, str]) -> list[str]:
    name = LABELS[pair[0]]
    feedback = claim["feedback"]
    lines = [
        f"Share of the weights IMP prunes next whose exact removal raises |excess kurtosis| (learned units of {name}, "
        f"accurate rounds, per replicate): {_ci(claim['pruned'])}; of the weights it keeps {_ci(claim['kept'])}; "
        f"the clone's pruned weights {_ci(claim['clone_pruned'])}.",
        f"Pruned - clone {_ci(claim['gap'], sign=True)}; pruned - kept {_ci(claim['specific'], sign=True)} "
        "(criterion: the pruned share above 1/2 and both differences above 0).",
        f"Rank correlation of |w| with the exact Δ|excess kurtosis| per unit: {name} {_ci(claim['rho'])}, "
        + (
            f"independent-input prediction {_ci(claim['rho_theory'])}, "
            if claim["rho_theory"] is not None
            else "no independent-input prediction (no single pixel excess kurtosis for these data), "
        )
        + f"clone {_ci(claim['rho_clone'])}. In the independent-input theory removing a small weight raises "
        "|excess kurtosis| by an amount growing with |w| up to a threshold, so the prediction is positive.",
        *_theory_lines(claim.get("theories"), name),
        "Feedback per round, the change of the learned units' mean |excess kurtosis| when IMP prunes: as the summed "
        "single-weight effects of the pruned set predict / right after removing the set (exact, same samples) / "
        "after retraining: "
        + "; ".join(
            f"r{int(r)}: {float(feedback.predicted.sel(round=r)):+.3f} / "
            f"{float(feedback.after_pruning.sel(round=r)):+.3f} / {float(feedback.after_retraining.sel(round=r)):+.3f}"
            for r in feedback["round"].values
            if np.isfinite(feedback.after_retraining.sel(round=r))
        )
        + ".",
        *_feedback_rank_lines(claim.get("feedback_rank")),
        "Why no magnitude-matched comparison: within a replicate, magnitude pruning removes exactly the smallest "
        "weights, so no pruned and kept weight of one network share a magnitude.",
    ]
    if claim["cavity"] is not None:
        line = claim["cavity"]
        lines.append(
            "Causal test, cavity-guided pruning (removing the weights whose removal most raises |excess kurtosis|): "
            + _shape_line("cavity-guided", line["branch"], line["n"])
            + f"; IMP at the same n: bumps {_ci(line['imp']['bump'])}."
        )
    else:
        lines.append("No cavity-guided branch in this run (imp.controls): the causal test is not shown.")
    if errors is None:
        lines.append(
            "The cavity expansions are not stored in a weights file: their errors are in the full run's report."
        )
        return lines
    lines.append(
        "Median relative error of the cavity expansion against exact ablation, orders "
        + ", ".join(str(int(o)) for o in errors.approx_order.values)
        + ": "
        + "; ".join(
            f"{v}: " + ", ".join(f"{float(e):.1%}" for e in errors.sel(variant=v).values) for v in errors.variant.values
        )
        + "."
    )
    return lines


def _iterative_lines(claim: dict, pair: tuple[str, str]) -> list[str]:
    if "matched" not in claim:
        return ["Not tested: the run has no one-shot branch (imp.controls)."]
    name = LABELS[pair[0]]
    matched = claim["matched"]
    lines = [
        f"Criterion: per learned unit of {name}, one-shot pruning's final field against the same unit under IMP at "
        f"the same number of weights (both start from the same dense networks), share of bumps; IMP - one-shot at "
        f"least {analysis.BUMP_MARGIN} with its interval above 0. Units left with no weight, with fewer than "
        f"{analysis.MIN_SHAPE_SURVIVORS}, or with a count IMP's rounds never pass are counted apart, never scored.",
        f"Of {matched['learned']} learned units (all replicates): {matched['compared']} compared, "
        f"{matched['emptied']} left with no weight by one-shot pruning, {matched['too_few']} with fewer than "
        f"{analysis.MIN_SHAPE_SURVIVORS}, {matched['outside']} at a count outside IMP's rounds.",
    ]
    if not claim["tested"]:
        lines.append("Not tested: fewer than two replicates have a unit to compare at a common survivor count.")
    else:
        lines.append(
            f"At their one-shot survivor counts (mean n = {matched['n']:.0f}): bumps under IMP {_ci(matched['imp'])}, "
            f"one-shot {_ci(matched['one_shot'])}, the dense field cut to n (no retraining) "
            f"{_ci(matched['dense_cut'])}; IMP - one-shot {_ci(matched['gap'], sign=True)}."
        )
    lines.append(
        f"A finding of its own, at equal layer sparsity ({claim['sparsity']:.1%} of the first layer pruned, one "
        "threshold per layer), after the last round:"
    )
    for strategy, one in claim["equal_sparsity"].items():
        lines.append(
            f"{BRANCHES[strategy].label}: bumps {_ci(one['bump'])} of learned units (a unit with no weight is not a "
            f"bump); left with no weight {_ci(one['emptied'])}; surviving weights per learned unit "
            f"{_ci(one['n_kept'], 1)}; IPR / top-n null {_ci(one['ipr_over_top'])}; test accuracy "
            f"{one['accuracy']:.3f}."
        )
    lines.append(
        "Pruning the dense network once under one threshold per layer removes the small learned fields first, "
        "since the noise-like units are the largest: its low bump share there counts emptied units."
    )
    return lines


def _no_field_lines(ds: xr.Dataset, classes: xr.DataArray, features: xr.Dataset) -> list[str]:
    """Why a variant whose every unit is noise-like has no learned field, and what would give it one: the
    white-noise threshold of the low-frequency criterion on this grid against the dense fields' shares."""
    shape = analysis.grid_shape(ds)
    mean, threshold = metrics.noise_low_frequency_share(shape)
    lines = []
    for variant in classes.variant.values:
        if bool((classes.sel(variant=variant) != "noise").any()):
            continue
        dense = ds.weight.sel(variant=variant).isel(round=0).values.reshape(-1, ds.sizes["input"])
        shares = metrics.low_frequency_share(dense[(dense != 0).any(axis=-1)], shape)
        name = LABELS.get(str(variant), str(variant))
        grid = " x ".join(str(side) for side in shape)
        larger = ", ".join(
            f"{side} x {side}: {metrics.noise_low_frequency_share((side, side))[1]:.2f}"
            for side in (16, 28)
            if side * side > np.prod(shape)
        )
        lines.append(
            f"No unit of {name} formed a field. A field counts as learned when its share of power at spatial "
            f"frequencies up to a quarter of Nyquist exceeds {threshold:.2f}, what white noise on {grid} pixels "
            f"exceeds with probability {metrics.NOISE_LEVEL:g} (its mean share is {mean:.2f}); the dense fields "
            f"here reach {np.median(shares):.2f} (median) and {np.max(shares):.2f} (largest). What would change "
            + "it: "
            + (f"larger images, which give the criterion room (threshold at {larger}); " if larger else "")
            + f"a first layer that moves further from its initialization (cosine(w, w0) = "
            f"{float(features.cosine.sel(variant=variant)):.2f} here: more training.steps, a smaller "
            "network.init_scale); more units (network.width)."
        )
    return lines


def _class_lines(classes: xr.DataArray) -> list[str]:
    counts = analysis.class_counts(classes)
    lines = []
    for variant in counts.variant.values:
        per = counts.sel(variant=variant)
        lines.append(
            f"{LABELS.get(str(variant), str(variant))}: "
            + ", ".join(f"{c} {int(per.sel(unit_class=c).sum())}" for c in per.unit_class.values)
            + " (per replicate: "
            + "; ".join(
                "/".join(str(int(per.sel(unit_class=c, replicate=r))) for c in per.unit_class.values)
                for r in per.replicate.values
            )
            + ")."
        )
    return lines


def write_report(run_dir, *, out=None, variant=None, progress: bool = False) -> Path:
    """Compute the analyses, save the figures (PNG and PDF) and ``report.md`` in ``RUN/report`` (or ``out``).

    The cumulant spectra are read from ``RUN/cumulants.nc`` when it exists; otherwise they are
    computed on the run's held-out samples and, for a report inside the run directory, kept there
    for the next report.  With ``out`` elsewhere nothing is written into the run directory.

    Parameters
    ----------
    run_dir : str or Path
        A run directory, or a run's weights file (``cavitykit.io.write_weights``; its spectra are
        recomputed on fresh held-out samples and nothing is written beside it but the report).
    out : str or Path, optional
        The report folder; default ``RUN/report``.  An existing folder is used only if it holds a report
        (``report.md``) or nothing; its report (``report.md`` and the figures) is replaced whole, any
        other file in it (the weights file beside a published report, which the report may be read from)
        kept.
    variant : {'nlgp', 'ising'}, optional
        The non-Gaussian model compared with its clone; by default the first of them the run
        holds with its clone.
    progress : bool
        Progress bars (tqdm, on stderr) over the spectra's networks and the figures.

    Returns
    -------
    Path
        ``report.md`` in the report folder.

    Examples
    --------
    >>> import tempfile  # doctest: +SKIP
    >>> from cavitykit.testing import example_run  # doctest: +SKIP
    >>> folder = tempfile.mkdtemp()  # doctest: +SKIP
    >>> write_report(example_run(), out=f"{folder}/report").name  # doctest: +SKIP
    'report.md'
    """
    from cavitykit import plot
    from cavitykit.spectra import preactivation_cumulants

    run_dir = Path(run_dir)
    from_file = run_dir.is_file()  # a published weights file (cavitykit.io.write_weights)
    out = (run_dir.parent if from_file else run_dir) / "report" if out is None else Path(out)
    if out.exists() and not (out / "report.md").is_file() and (out.is_file() or any(out.iterdir())):
        raise ValueError(f"out {str(out)!r} exists and is not a report folder (no report.md): choose another")
    keep = None  # the spectra to store beside the run once the report is written
    if from_file:
        ds = open_weights(run_dir)
        controls = {name: open_weights(run_dir, control=name) for name in weights_controls(run_dir)}
        spectra = preactivation_cumulants(run_dir, max_order=8, run=ds, progress=progress)
    else:
        ds = open_run(run_dir)
        controls = {name: open_run(run_dir, control=name) for name in run_controls(run_dir)}
        spectra = _stored_spectra(run_dir / CUMULANTS_FILE, ds)
        if spectra is None:
            spectra = preactivation_cumulants(run_dir, max_order=8, run=ds, progress=progress)
            if out.resolve().parent == run_dir.resolve():
                keep = run_dir / CUMULANTS_FILE
    ds = with_cumulants(ds, spectra)
    pair = compared_pair(ds.variant.values, variant)
    summary = analysis.round_summary(ds)
    figures = {
        "claims_by_round": plot.claims_by_round(analysis.learned_trajectories(ds, controls, pair), pair),
        **{f"receptive_fields_{name}": plot.receptive_fields(ds, name) for name in pair},
        "cumulant_spectra": plot.cumulant_spectra(ds),
    }
    if "y" in ds.coords:  # a torus or an image: every unit's map, first and last round, model beside clone
        figures["receptive_field_maps"] = plot.receptive_field_maps(ds, pair)
    distances = {}  # line name -> {distance: ratio} at the first distances, for the text
    if not analysis.periodic_grid(ds):  # on images, Pellegrini and Biroli's measure of the survivors
        model, clone = pair
        imp = analysis.connection_distance_ratio(ds)
        ratios = {f"IMP, {label(model)}": (model, imp), f"IMP, {label(clone)}": (clone, imp)}
        for name, branch in controls.items():
            ratios[f"{BRANCHES[name].label}, {label(model)}"] = (model, analysis.connection_distance_ratio(branch))
        figures["connection_distances"] = plot.connection_distances(ratios)
        distances = {
            name: analysis.replicate_interval(ratio.sel(variant=variant).isel(distance=slice(0, 4)))
            for name, (variant, ratio) in ratios.items()
        }
    judged = analysis.judge(ds, pair, controls)
    features, classes, claims = judged["features"], judged["classes"], judged["claims"]
    verdicts = [judged["verdicts"][name] for name in analysis.CLAIMS]
    notes = [f" ({judged['notes'][name]})" if judged["notes"][name] else "" for name in analysis.CLAIMS]
    if judged["reason"] is not None:
        sections = [[f"Not tested: {judged['reason']}."]] * 4
    else:
        localization = claims["localization"]
        figures["matched_survivors"] = plot.matched_survivors(localization["curve"], localization["n_star"])
        sections = [_localization_lines(localization, pair), _kurtosis_lines(claims["kurtosis"], pair)]
        if "cavity" in claims:
            errors = None
            figures["cavity_delta_histograms"] = plot.delta_histograms(ds)
            if "cavity_expansion" in ds:
                errors = analysis.expansion_error(ds)
                figures["exact_vs_expansion"] = plot.exact_vs_expansion(ds, pair[0], errors=errors)
            elif "expansion_error" in ds:  # a weights file keeps the expansions' errors, not the expansions
                errors = ds.expansion_error
            sections.append(_cavity_lines(claims["cavity"], errors, pair))
        else:
            sections.append([f"Not tested: {judged['notes']['cavity']}."])
        sections.append(_iterative_lines(claims["iterative"], pair))
    if "snapshot_weight" in ds:
        snapshots = analysis.snapshot_summary(ds)
        figures["training_time"] = plot.training_time(snapshots, pair)
        if "y" in ds.coords:
            last = float(ds["time"].max())
            times = [t for t in (1e2, 1e3, 1e4) if t <= last] or [last]
            figures["receptive_fields_over_time"] = plot.receptive_fields_over_time(ds, pair, times)
        sections.append(_training_time_lines(snapshots, pair))
    correlation = analysis.kurtosis_ipr_correlation(ds)
    missing = _missing_rounds(ds, controls)
    text = _markdown(
        ds, summary, pair, sections, verdicts, notes, correlation, figures, features, classes, missing, distances
    )
    with atomic_directory(out) as folder:
        for kept in _not_the_report(out):  # the same files, in the folder that replaces this one
            shutil.copytree(kept, folder / kept.name) if kept.is_dir() else os.link(kept, folder / kept.name)
        for name, figure in tqdm(figures.items(), desc="figures", unit="figure", leave=False, disable=not progress):
            for suffix in ("png", "pdf"):
                figure.savefig(folder / f"{name}.{suffix}", dpi=130, format=suffix)
        (folder / "report.md").write_text(text)
    if keep is not None:
        write_dataset(keep, spectra)
    return out / "report.md"


def _heldout_note(ds: xr.Dataset) -> str:
    """On images, the held-out inputs per class behind the statistics when some class has fewer test images
    than ``analysis.n_heldout`` asks for ('' otherwise)."""
    counts = ds.attrs.get("data_heldout_counts", "").split()
    wanted = int(run_config(ds)["analysis"]["n_heldout"])
    if not counts or all(int(count) == wanted for count in counts):
        return ""
    return (
        f" The statistics use each class's test images, each once: {', '.join(counts)} per class "
        f"(analysis.n_heldout = {wanted} asks for more than the test set has), the clone as many draws."
    )


def _not_the_report(out: Path) -> list[Path]:
    """The files of an existing report folder that the report does not write (a weights file, notes)."""
    if not out.is_dir():
        return []
    return [path for path in out.iterdir() if path.name != "report.md" and path.suffix not in (".png", ".pdf")]


def _missing_rounds(ds: xr.Dataset, controls: dict[str, xr.Dataset]) -> list[str]:
    """Lines that say which rounds of the run and its branches are not written yet (none when complete)."""
    config = config_from_dict(run_config(ds))
    branches = {"IMP": (ds, config.imp.n_trainings)}
    branches |= {
        BRANCHES[name].label: (controls.get(name), config.branch(name).imp.n_trainings) for name in config.imp.controls
    }
    lines = []
    for name, (branch, expected) in branches.items():
        if branch is None:
            lines.append(f"- {name}: no round written yet.")
            continue
        written = branch.test_accuracy.reindex(round=range(expected)).notnull()
        for variant in written.variant.values:
            for replicate in written.replicate.values:
                one = written.sel(variant=variant, replicate=replicate).values
                if not one.all():
                    missing = np.flatnonzero(~one)
                    rounds = ("round " if len(missing) == 1 else "rounds ") + ", ".join(str(r) for r in missing)
                    lines.append(f"- {name}, {LABELS.get(str(variant), str(variant))} replicate {replicate}: {rounds}.")
    if not lines:
        return []
    return [
        "**A partial run.** These rounds are not written yet (resume with `cavitykit run`); every number below "
        "covers the rounds that exist, so claims read at the last round or at equal sparsity compare members "
        "that may have stopped at different rounds:",
        "",
        *lines,
    ]


def _stored_spectra(path: Path, run: xr.Dataset) -> xr.Dataset | None:
    """The run's stored cumulant spectra if they describe it as it stands (``cumulants_mismatch``), else
    None, with a warning that says why they are recomputed."""
    if not path.is_file():
        return None
    try:
        stored = read_round(path)
    except ValueError as error:
        warnings.warn(f"{error}; recomputing the cumulant spectra", stacklevel=3)
        return None
    stale = cumulants_mismatch(run, stored, max_order=8)
    if stale:
        warnings.warn(f"{str(path)!r} is stale ({stale}); recomputing the cumulant spectra", stacklevel=3)
        return None
    return stored


def _feature_lines(features: xr.Dataset, pair: tuple[str, str]) -> list[str]:
    lines = []
    for variant in pair:
        one = features.sel(variant=variant)
        lines.append(
            f"{LABELS.get(variant, variant)}: training moved the first layer by ||w - w0|| / ||w0|| = "
            f"{float(one.relative_change):.2f} (mean over units); cosine(w, w0) = {float(one.cosine):.3f} "
            f"(criterion <= {analysis.FEATURE_COSINE}); mean IPR {float(one.ipr):.4f} against a random vector's "
            f"3/(D+2) = {float(features.random_ipr):.4f}; test accuracy {float(one.test_accuracy):.3f} against "
            f"chance + {analysis.CHANCE_SE:g} SE = {float(features.chance):.3f}: "
            + ("**learned features**." if one.learned else "**did not learn features**.")
        )
    ratio = float(features.ipr.sel(variant=pair[0]) / features.ipr.sel(variant=pair[1]))
    lines.append(f"Dense IPR {LABELS.get(pair[0], pair[0])} / clone: {ratio:.2f}.")
    if not features.passed:
        lines.append(
            "The dense networks still compute (nearly) their initialization: IMP on them prunes the "
            "initialization, so claims 1, 3 and 4 are not tested here."
        )
    return lines


def _training_time_lines(snapshots: xr.Dataset, pair: tuple[str, str]) -> list[str]:
    dense = snapshots.isel(round=0)
    times = dense["time"].values
    picks = [t for t in (1e2, 1e3, 1e4) if t <= times.max()] or [times.max()]
    lines = []
    for variant in pair:
        one = dense.sel(variant=variant)
        lines.append(
            f"{LABELS.get(variant, variant)}, dense network: mean IPR "
            + ", ".join(f"{float(one.mean_ipr.sel(time=t, method='nearest')):.4f} at t = {t:g}" for t in picks)
            + "; largest unit IPR at the end "
            + f"{float(one.ipr.isel(time=-1).max()):.4f}; localized units at the end "
            + f"{float(one.localized_fraction.isel(time=-1)):.0%}."
        )
    return lines


def _markdown(
    ds, summary, pair, sections, verdicts, notes, correlation, figures, features, classes, missing, distances
) -> str:
    config = config_from_dict(run_config(ds)).to_toml()  # as this version reads it: only its source's data keys
    periodic = analysis.periodic_grid(ds)  # a ring or torus; images are bounded
    lines = [
        f"# cavitykit report: {run_name(ds)}",
        "",
        "Every number below is computed from the run's data by `cavitykit report`; each verdict follows the",
        "fixed criterion stated under it, whatever it says.",
        "",
        "## Verdicts",
        "",
    ]
    claims = [claim.format(label=LABELS[pair[0]]) for claim in STATEMENTS]
    for claim, verdict, note, criterion in zip(claims, verdicts, notes, CRITERIA, strict=True):
        lines.append(f"- {claim} {VERDICTS[verdict]}{note}")
        lines.append(f"  - Criterion: {criterion.format(margin=analysis.BUMP_MARGIN)}.")
    at = lines.index("## Verdicts")
    if not bool(features.learned_task):
        lines[at:at] = [
            "**The dense networks did not learn the task**: their test accuracy is at chance (below "
            f"{float(features.chance_level):.3g} + {analysis.CHANCE_SE:g} standard errors = "
            f"{float(features.chance):.3f}), so this report judges "
            "no claim. Check the training settings (learning rate, steps, optimizer).",
            "",
        ]
        at += 2
    if missing:
        lines[at:at] = [*missing, ""]
    lines += ["", "## Did the dense network learn features?", ""] + [
        f"- {line}" for line in _feature_lines(features, pair)
    ]
    lines += [
        "",
        "## Unit classes (from each unit's dense field)",
        "",
        "A unit learned a field when its share of power at low spatial frequency exceeds what a white-noise "
        "field reaches with probability 0.001; learned fields narrower than a tenth of the grid's side are bumps, "
        "the others extended"
        + ("" if periodic else " (on images, the width along each axis is the coordinates' standard deviation)")
        + ". The claims are judged on learned units; the noise-like ones are counted here and left out.",
        "",
    ] + [f"- {line}" for line in _class_lines(classes) + _no_field_lines(ds, classes, features)]
    for claim, section in zip(claims, sections[:4], strict=True):
        lines += ["", f"## {claim}", ""] + [f"- {line}" for line in section]
    if len(sections) > 4:
        lines += ["", "## Over training time (round 0)", ""] + [f"- {line}" for line in sections[4]]
    lines += [
        "",
        "## Per round (means over replicates; all units and classes pooled)",
        "",
        "Dense networks (round 0) classify their test sets with accuracy "
        + ", ".join(
            f"{LABELS.get(str(v), str(v))} {float(summary.test_accuracy.sel(variant=v, round=0)):.3f}"
            for v in summary.variant.values
        )
        + f" (chance: {float(features.chance_level):.3g}).{_heldout_note(ds)}",
        "",
        "IPR columns pool every unit, learned or not; the nulls are means over units of each unit's own "
        "survivor count n (which differs between variants at equal layer sparsity: magnitude pruning strips "
        "the largest fields last). 'localized' is the "
        + ("circular-width" if periodic else "width")
        + " criterion, which counts checkerboards too; the claims use shape classes instead.",
        "",
        "| variant | round | sparsity | test acc. | IPR | top-n null | 3/(n+2) | localized | mean abs. kurtosis | "
        "mean kurtosis |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    nulls = analysis.unit_measures(ds).null_top.mean(("replicate", "neuron"))
    for variant in summary.variant.values:
        for r in summary["round"].values:
            one = summary.sel(variant=variant, round=r)
            lines.append(
                f"| {variant} | {int(r)} | {float(one.sparsity):.3f} | {float(one.test_accuracy):.3f} | "
                f"{float(one.ipr):.4f} | {float(nulls.sel(variant=variant, round=r)):.4f} | "
                f"{float(one.random_ipr):.4f} | {float(one.localized_fraction):.2f} | "
                f"{float(one.abs_kurtosis):.3f} | {float(one.kurtosis):+.3f} |"
            )
    lines += [
        "",
        "Correlation across units of |excess kurtosis| and IPR: "
        + ", ".join(f"{v} {float(correlation.sel(variant=v)):.2f}" for v in correlation.variant.values)
        + ".",
    ]
    if distances:
        lines += [
            "",
            "## Surviving connections (Pellegrini and Biroli's measure)",
            "",
            "Pairs of a unit's surviving input connections at each distance at the last round, over their "
            "number had the same survivors been placed at random (1: random placement; above 1 at short "
            "distance: local fields), each network's units pooled; mean over replicates, with the 95% Student t "
            "interval at distance 1. Distances are Euclidean, in bins of width 1 centred on d = 1, 2, ...: "
            "d = 1 holds side and diagonal neighbours (distances 1 and 1.41):",
            "",
        ]
        for name, ratio in distances.items():
            mean, low, high = (ratio[key].values for key in ("mean", "low", "high"))
            further = zip(ratio.distance.values[1:], mean[1:], strict=True)
            first = {"mean": float(mean[0]), "low": float(low[0]), "high": float(high[0])}
            lines.append(f"- {name}: d = 1: {_ci(first)}" + "".join(f", d = {d:.0f}: {m:.2f}" for d, m in further))
    lines += [
        "",
        "## Figures",
        "",
    ]
    lines += [f"![{name}]({name}.png)" for name in figures]
    lines += ["", "## Configuration", "", "```toml", config.strip(), "```", ""]
    return "\n".join(lines)


def run_name(ds) -> str:
    """The run's id in the report's title, as its folder is named: ``<name>-<identity[:12]>``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> run_name(open_run(example_run()))
    'example-...'
    """
    config = config_from_dict(run_config(ds))
    return f"{config.name}-{config.identity[:12]}"
