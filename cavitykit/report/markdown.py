"""``report.md`` from the judged claims and the numbers beside them: this module only formats.

Everything it prints is computed before (``cavitykit.report.writer`` gathers it into a ``ReportText``);
each claim's statement and criterion come with its result (``cavitykit.analysis.claims``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from cavitykit.analysis.claims import (
    ACCURACY_DROP,
    BUMP_MARGIN,
    MIN_SHAPE_SURVIVORS,
    Cavity,
    Coherence,
    FeedbackRank,
    Interval,
    Iterative,
    Kurtosis,
    Localization,
    TheoryAgreement,
)
from cavitykit.analysis.features import CHANCE_SE, FEATURE_COSINE
from cavitykit.analysis.verdicts import Verdicts
from cavitykit.branches import BRANCHES, ONE_SHOT
from cavitykit.metrics import NOISE_LEVEL
from cavitykit.variants import LABELS

VERDICTS = {True: "**supported**", False: "**not supported**", None: "**not tested**"}


@dataclasses.dataclass(frozen=True)
class NoField:
    """Why a variant's units formed no field: the low-frequency criterion on this grid against its dense
    fields (``metrics.noise_low_frequency_share``).

    Attributes
    ----------
    grid : tuple of int
        The image shape.
    threshold, noise_mean : float
        What white noise exceeds with probability ``NOISE_LEVEL``, and its mean share.
    median, largest : float
        The dense fields' shares.
    larger : dict of int to float
        The threshold on larger square grids (side -> threshold).
    cosine : float
        cosine(w, w0) of the dense networks.
    """

    grid: tuple[int, ...]
    threshold: float
    noise_mean: float
    median: float
    largest: float
    larger: dict[int, float]
    cosine: float


@dataclasses.dataclass(frozen=True)
class ReportText:
    """Everything ``report.md`` prints, computed (``cavitykit.report.writer``).

    Attributes
    ----------
    name : str
        The run id (``run_name``).
    pair : (model, clone)
    judged : Verdicts
    summary : xarray.Dataset over (variant, round)
        ``analysis.round_summary``.
    top_null : xarray.DataArray over (variant, round)
        The top-n IPR null, mean over replicates and units.
    correlation : xarray.DataArray over variant
        ``analysis.kurtosis_ipr_correlation``.
    class_counts : xarray.DataArray
        ``analysis.class_counts`` of the unit classes.
    no_field : dict of str to NoField
        Per variant whose every unit is noise-like.
    snapshots : xarray.Dataset or None
        ``analysis.snapshot_summary`` when the run kept snapshots over training time.
    lottery : xarray.Dataset or None
        ``analysis.lottery_ticket`` of the model, when the run has the re-initialization control.
    missing : list of str
        Lines naming the rounds not written yet.
    distances : dict of str to xarray.Dataset
        Per line, the connection-distance ratio's replicate interval at the first distances (images).
    heldout : (list of int, int)
        The held-out inputs per class, and what ``analysis.n_heldout`` asked for (empty list: synthetic).
    periodic : bool
        A ring or torus (synthetic data); images are bounded.
    figures : list of str
        The figures' names, in order.
    config : str
        The run's configuration as TOML.
    """

    name: str
    pair: tuple[str, str]
    judged: Verdicts
    summary: xr.Dataset
    top_null: xr.DataArray
    correlation: xr.DataArray
    class_counts: xr.DataArray
    no_field: dict[str, NoField]
    snapshots: xr.Dataset | None
    lottery: xr.Dataset | None
    missing: list[str]
    distances: dict[str, xr.Dataset]
    heldout: tuple[list[int], int]
    periodic: bool
    figures: list[str]
    config: str


def _ci(value: Interval, digits: int = 2, sign: bool = False) -> str:
    """'0.53 [0.23, 0.83]': a replicate mean and its 95% interval.

    Examples
    --------
    >>> _ci(Interval(0.5, 0.25, 0.75), sign=True)
    '+0.50 [+0.25, +0.75]'
    """
    form = f"{{:+.{digits}f}}" if sign else f"{{:.{digits}f}}"

    def number(x):
        return form.format(round(x, digits) + 0.0)  # + 0.0: never "-0"

    if not np.isfinite(value.mean):
        return "n/a (no unit reaches it)"
    if not np.isfinite(value.low):
        return number(value.mean) + " (one replicate: no interval)"
    return f"{number(value.mean)} [{number(value.low)}, {number(value.high)}]"


def _shape_line(name: str, values: dict[str, Interval], n: float) -> str:
    return (
        f"{name} at n = {n:.0f}: bumps {_ci(values['bump'])} of learned units; IPR / top-n null "
        f"{_ci(values['ipr_over_top'])}, / 3/(n+2) {_ci(values['ipr_over_random'])}, / own dense field cut to n "
        f"{_ci(values['ipr_over_truncated'])}; connectivity above random placement "
        f"{_ci(values['connectivity_excess'], sign=True)}"
    )


def localization_lines(claim: Localization, pair: tuple[str, str]) -> list[str]:
    """Claim 1's section of ``report.md``: its numbers and control lines, one Markdown item each."""
    name = LABELS[pair[0]]
    accurate = ", ".join(f"{LABELS.get(v, v)} up to round {r}" for v, r in claim.accurate_round.items())
    lines = [
        "Read on learned units (classes below), at matched survivors: "
        f"n* = {claim.n_star:.0f} weights per unit, the sparsest point every learned unit of both variants "
        f"reaches while the networks classify within {ACCURACY_DROP:g} of their dense accuracy ({accurate}). "
        "Intervals: 95% Student t over replicates.",
        _shape_line(name, claim.model, claim.n_star) + ".",
        _shape_line("Clone", claim.clone, claim.n_star) + ".",
        f"Bump share {name} - clone {_ci(claim.bump_gap, sign=True)} (criterion >= {BUMP_MARGIN} with "
        f"interval above 0); IPR / top-n null {name} - clone {_ci(claim.ipr_gap, sign=True)} (criterion: interval "
        "above 0).",
        "Where the contrast comes from: the share of squared weight on kept pixels with a kept neighbour "
        f"(compactness) at n*, of the survivors after retraining / of the unit's dense field cut to n (pruning "
        f"without retraining): {name} {_ci(claim.model['compactness'])} / "
        f"{_ci(claim.model['truncated_compactness'])}; clone {_ci(claim.clone['compactness'])} / "
        f"{_ci(claim.clone['truncated_compactness'])}.",
    ]
    lines.append(
        "Shapes of the learned units at each variant's last accurate round: "
        + "; ".join(
            f"{LABELS.get(v, v)} (round {claim.accurate_round[v]}) "
            + ", ".join(f"{shape} {count}" for shape, count in counts.items())
            for v, counts in claim.shapes.items()
        )
        + "."
    )
    curve = claim.curve
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
            if n >= claim.n_star * 0.999
        )
    )
    for strategy, line in claim.controls.items():
        if strategy == ONE_SHOT.name and not np.isfinite(line.imp["bump"].mean):
            lines.append(
                f"Control, one-shot pruning ({name}): its learned units keep n = {line.n:.1f} weights on average, "
                "fewer than IMP's reach in any round, so no matched comparison exists; the two are compared at "
                "equal sparsity under claim 4."
            )
            continue
        lines.append(
            f"Control, {BRANCHES[strategy].label} ({name}): "
            + _shape_line(BRANCHES[strategy].label, line.branch, line.n)
            + f"; IMP at the same n: bumps {_ci(line.imp['bump'])}, "
            + f"IPR / top-n null {_ci(line.imp['ipr_over_top'])}."
        )
    if not claim.controls:
        lines.append("No control branches in this run (imp.controls): random and one-shot pruning are not shown.")
    return lines


def kurtosis_lines(claim: Kurtosis, pair: tuple[str, str]) -> list[str]:
    """Claim 2's section of ``report.md``: the rises, the random-pruning control and the coherence diagnostic."""
    name = LABELS[pair[0]]
    lines = [
        f"Rise of the mean |excess kurtosis| of the learned units of {name} from round 0 to round {claim.round} "
        f"(the last accurate round): IMP {_ci(claim.imp, 3, sign=True)}; the clone's "
        f"{_ci(claim.clone, 3, sign=True)}.",
    ]
    if not claim.tested:
        lines.append(
            "Not tested: the run has no random-pruning control (imp.controls), the only control that can fail."
        )
        return lines
    lines.append(
        f"Random pruning of the same dense networks to the same sparsity: {_ci(claim.random, 3, sign=True)}; "
        f"IMP - random {_ci(claim.gap, 3, sign=True)} (criterion: IMP's rise and this difference both with "
        "intervals above 0). Pruning alone moves the kurtosis (a sum of fewer independent inputs is less "
        "Gaussian; on correlated inputs random pruning can lower it), so only the difference speaks to IMP."
    )
    lines.extend(_coherence_lines(claim.coherence, name))
    per_round = claim.per_round
    lines.append(
        "Per round (IMP / random): "
        + "; ".join(
            f"r{int(r)}: {float(per_round.imp.sel(round=r)):+.3f} / {float(per_round.random.sel(round=r)):+.3f}"
            for r in per_round["round"].values
            if np.isfinite(per_round.random.sel(round=r))
        )
    )
    return lines


def _coherence_lines(coherence: Coherence | None, name: str) -> list[str]:
    if coherence is None:
        return ["The coherence factor needs one pixel excess kurtosis for every pixel (NLGP or Ising data)."]
    imp, random = coherence.imp, coherence.random
    return [
        "How each strategy makes its rise (a diagnostic beside the verdict, not part of it). On correlated pixels "
        "gamma_2 = kappa_x x IPR x C: the independent-pixel value times the *coherence factor* C, 1 for independent "
        "pixels and larger the more of the field's weight lies on correlated pixels of one sign; pruning a learned "
        "field lowers it (fewer pixels), scattering the survivors lowers it more. Any sparsification raises the IPR; "
        "C is the part that speaks to localization. Reading: IMP's C above random pruning's at a common per-unit "
        f"survivor count (paired interval above 0), n = {coherence.n:.0f} weights per unit (learned units "
        f"of {name}).",
        f"At n = {coherence.n:.0f}: coherence factor IMP {_ci(imp['coherence'])}, "
        f"random {_ci(random['coherence'])}, "
        f"IMP - random {_ci(coherence.gap, sign=True)} (IMP's {'higher' if coherence.higher else 'not higher'}); "
        f"IPR IMP {_ci(imp['ipr'], 3)}, random {_ci(random['ipr'], 3)}; |excess kurtosis| IMP "
        f"{_ci(imp['abs_kurtosis'], 3)}, random {_ci(random['abs_kurtosis'], 3)}, IMP - random "
        f"{_ci(coherence.kurtosis_gap, 3, sign=True)}.",
    ]


def _theory_lines(theories: TheoryAgreement | None, name: str) -> list[str]:
    if theories is None:
        return ["The correlated-input theory is for NLGP inputs: not computed for these data."]
    return [
        f"Do the theories predict the exact effects? Rank correlation per unit between the exact and the predicted "
        f"Δ|excess kurtosis| over its kept weights ({theories.n_units} unit-rounds: learned units at accurate "
        "rounds): the "
        f"*correlated-input theory* (the pixels' joint fourth cumulants, from the weights and the data model alone) "
        f"{_ci(theories.correlated)}; the independent-input theory {_ci(theories.independent)}.",
        "Per round (correlated / independent): "
        + "; ".join(
            f"r{int(r)}: {float(theories.correlated_per_round.sel(round=r)):.2f} / "
            f"{float(theories.independent_per_round.sel(round=r)):.2f}"
            for r in theories.correlated_per_round["round"].values
            if np.isfinite(theories.correlated_per_round.sel(round=r))
        )
        + ".",
        f"Weights the correlated-input theory says raise |excess kurtosis|: {_ci(theories.pruned_raise)} of those "
        f"IMP prunes next, {_ci(theories.kept_raise)} of those it keeps ({name}).",
    ]


def _feedback_rank_lines(feedback: dict[str, FeedbackRank] | None) -> list[str]:
    if feedback is None:
        return []
    line = (
        "Feedback unit by unit: rank correlation, over learned units and rounds, between the change of "
        "|excess kurtosis| the correlated-input theory predicts for a unit's next pruning step and the change of "
        f"its compactness after retraining: IMP {_ci(feedback['imp'].rho, sign=True)} "
        f"({feedback['imp'].pairs} unit-rounds)"
    )
    if "random" in feedback:
        line += f", random pruning {_ci(feedback['random'].rho, sign=True)} ({feedback['random'].pairs})"
    return [line + ". Positive: steps that raise non-Gaussianity more leave the field more compact."]


def cavity_lines(claim: Cavity, pair: tuple[str, str]) -> list[str]:
    """Claim 3's section of ``report.md``: the shares, the theories, the feedback and the causal test."""
    if not claim.tested:
        return [f"Not tested: {claim.note}."]
    name = LABELS[pair[0]]
    feedback = claim.feedback
    lines = [
        f"Share of the weights IMP prunes next whose exact removal raises |excess kurtosis| (learned units of {name}, "
        f"accurate rounds, per replicate): {_ci(claim.pruned)}; of the weights it keeps {_ci(claim.kept)}; "
        f"the clone's pruned weights {_ci(claim.clone_pruned)}.",
        f"Pruned - clone {_ci(claim.gap, sign=True)}; pruned - kept {_ci(claim.specific, sign=True)} "
        "(criterion: the pruned share above 1/2 and both differences above 0).",
        f"Rank correlation of |w| with the exact Δ|excess kurtosis| per unit: {name} {_ci(claim.rho)}, "
        + (
            f"independent-input prediction {_ci(claim.rho_theory)}, "
            if claim.rho_theory is not None
            else "no independent-input prediction (no single pixel excess kurtosis for these data), "
        )
        + f"clone {_ci(claim.rho_clone)}. In the independent-input theory removing a small weight raises "
        "|excess kurtosis| by an amount growing with |w| up to a threshold, so the prediction is positive.",
        *_theory_lines(claim.theories, name),
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
        *_feedback_rank_lines(claim.feedback_rank),
        "Why no magnitude-matched comparison: within a replicate, magnitude pruning removes exactly the smallest "
        "weights, so no pruned and kept weight of one network share a magnitude.",
    ]
    if claim.cavity is not None:
        line = claim.cavity
        lines.append(
            "Causal test, cavity-guided pruning (removing the weights whose removal most raises |excess kurtosis|): "
            + _shape_line("cavity-guided", line.branch, line.n)
            + f"; IMP at the same n: bumps {_ci(line.imp['bump'])}."
        )
    else:
        lines.append("No cavity-guided branch in this run (imp.controls): the causal test is not shown.")
    errors = claim.expansion_error
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


def iterative_lines(claim: Iterative, pair: tuple[str, str]) -> list[str]:
    """Claim 4's section of ``report.md``: the units compared per unit, and equal layer sparsity beside them."""
    if claim.matched is None:
        return [f"Not tested: {claim.note}."]
    name = LABELS[pair[0]]
    matched = claim.matched
    lines = [
        f"Criterion: per learned unit of {name}, one-shot pruning's final field against the same unit under IMP at "
        f"the same number of weights (both start from the same dense networks), share of bumps; IMP - one-shot at "
        f"least {BUMP_MARGIN} with its interval above 0. Units left with no weight, with fewer than "
        f"{MIN_SHAPE_SURVIVORS}, or with a count IMP's rounds never pass are counted apart, never scored.",
        f"Of {matched.learned} learned units (all replicates): {matched.compared} compared, "
        f"{matched.emptied} left with no weight by one-shot pruning, {matched.too_few} with fewer than "
        f"{MIN_SHAPE_SURVIVORS}, {matched.outside} at a count outside IMP's rounds.",
    ]
    if not claim.tested:
        lines.append(f"Not tested: {claim.reason}.")
    else:
        lines.append(
            f"At their one-shot survivor counts (mean n = {matched.n:.0f}): bumps under IMP {_ci(matched.imp)}, "
            f"one-shot {_ci(matched.one_shot)}, the dense field cut to n (no retraining) "
            f"{_ci(matched.dense_cut)}; IMP - one-shot {_ci(matched.gap, sign=True)}."
        )
    lines.append(
        f"A finding of its own, at equal layer sparsity ({claim.sparsity:.1%} of the first layer pruned, one "
        "threshold per layer), after the last round:"
    )
    for strategy, one in claim.equal_sparsity.items():
        lines.append(
            f"{BRANCHES[strategy].label}: bumps {_ci(one.bump)} of learned units (a unit with no weight is not a "
            f"bump); left with no weight {_ci(one.emptied)}; surviving weights per learned unit "
            f"{_ci(one.n_kept, 1)}; IPR / top-n null {_ci(one.ipr_over_top)}; test accuracy "
            f"{one.accuracy:.3f}."
        )
    lines.append(
        "Pruning the dense network once under one threshold per layer removes the small learned fields first, "
        "since the noise-like units are the largest: its low bump share there counts emptied units."
    )
    return lines


# Each claim's section, by the claim's name.
SECTIONS = {
    "localization": localization_lines,
    "kurtosis": kurtosis_lines,
    "cavity": cavity_lines,
    "iterative": iterative_lines,
}


def _feature_lines(features: xr.Dataset, pair: tuple[str, str]) -> list[str]:
    lines = []
    for variant in pair:
        one = features.sel(variant=variant)
        lines.append(
            f"{LABELS.get(variant, variant)}: training moved the first layer by ||w - w0|| / ||w0|| = "
            f"{float(one.relative_change):.2f} (mean over units); cosine(w, w0) = {float(one.cosine):.3f} "
            f"(criterion <= {FEATURE_COSINE}); mean IPR {float(one.ipr):.4f} against a random vector's "
            f"3/(D+2) = {float(features.random_ipr):.4f}; test accuracy {float(one.test_accuracy):.3f} against "
            f"chance + {CHANCE_SE:g} SE = {float(features.chance):.3f}: "
            + ("**learned features**." if one.learned else "**did not learn features**.")
        )
    if len(pair) == 2:
        ratio = float(features.ipr.sel(variant=pair[0]) / features.ipr.sel(variant=pair[1]))
        lines.append(f"Dense IPR {LABELS.get(pair[0], pair[0])} / clone: {ratio:.2f}.")
    if not features.passed:
        lines.append(
            "The dense networks' first layer is still (nearly) its initialization: its fields are not learned "
            "features, so claims 1, 3 and 4, which read them, are not tested here."
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


def _class_lines(counts: xr.DataArray) -> list[str]:
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


def _no_field_lines(no_field: dict[str, NoField]) -> list[str]:
    lines = []
    for variant, why in no_field.items():
        grid = " x ".join(str(side) for side in why.grid)
        larger = ", ".join(f"{side} x {side}: {threshold:.2f}" for side, threshold in why.larger.items())
        lines.append(
            f"No unit of {LABELS.get(variant, variant)} formed a field. A field counts as learned when its share of "
            f"power at spatial frequencies up to a quarter of Nyquist exceeds {why.threshold:.2f}, what white noise on "
            f"{grid} pixels exceeds with probability {NOISE_LEVEL:g} (its mean share is {why.noise_mean:.2f}); the "
            f"dense fields here reach {why.median:.2f} (median) and {why.largest:.2f} (largest). What would change "
            + "it: "
            + (f"larger images, which give the criterion room (threshold at {larger}); " if larger else "")
            + f"a first layer that moves further from its initialization (cosine(w, w0) = "
            f"{why.cosine:.2f} here: more training.steps, a smaller network.init_scale); more units "
            "(network.width, or the first of network.hidden)."
        )
    return lines


def _lottery_lines(lottery: xr.Dataset, pair: tuple[str, str]) -> list[str]:
    name = LABELS[pair[0]]
    branches = [str(branch) for branch in lottery.branch.values]
    labels = " / ".join(BRANCHES[branch].label for branch in branches)
    others = " and ".join(BRANCHES[branch].label for branch in branches if branch not in ("imp", "reinit"))
    lines = [
        f"Frankle and Carbin's test on {name}: each round's IMP mask trained from IMP's rewind point (the ticket) and "
        "from a fresh random initialization (random re-initialisation, as many steps as IMP's round)"
        + (f"; beside them the run's {others}" if others else "")
        + ". Test accuracy, mean over replicates, with its 95% Student t interval (clipped to [0, 1]) where "
        "there are several.",
        f"Dense (round 0): {_accuracy_at(lottery, 'imp', 0)}. Then per round, with the share of "
        f"{lottery.attrs['weights_counted']} weights left ({labels}): "
        + "; ".join(
            f"r{int(r)} ({float(lottery.weights_left.sel(branch='imp', round=r)):.1%} left): "
            + " / ".join(_accuracy_at(lottery, branch, r) for branch in branches)
            for r in lottery["round"].values[1:]
        )
        + ".",
    ]
    dense = float(lottery.test_accuracy.sel(branch="imp").isel(round=0))
    for branch in branches:
        at = int(lottery.leaves_at.sel(branch=branch))
        left = float(lottery.weights_left.sel(branch=branch, round=at)) if at >= 0 else np.nan
        lines.append(
            f"{BRANCHES[branch].label}: "
            + (
                f"its accuracy leaves the dense value ({dense:.3f}) at round {at}, {left:.1%} of "
                f"{_counted(lottery)} left (more than {ACCURACY_DROP:g} below)."
                if at >= 0
                else f"its accuracy stays within {ACCURACY_DROP:g} of the dense value ({dense:.3f}) in every round."
            )
        )
    return lines


def _counted(lottery: xr.Dataset) -> str:
    return "the first layer" if lottery.attrs["weights_counted"] == "first-layer" else "all weights"


def _accuracy_at(lottery: xr.Dataset, branch: str, r) -> str:
    one = lottery.sel(branch=branch, round=r)
    if not np.isfinite(float(one.test_accuracy)):
        return "-"
    if not np.isfinite(float(one.low)):  # one replicate
        return f"{float(one.test_accuracy):.3f}"
    return _ci(Interval(float(one.test_accuracy), float(one.low), float(one.high)), 3)


def _heldout_note(counts: list[int], wanted: int) -> str:
    """On images, the held-out inputs per class behind the statistics when some class has fewer test images
    than ``analysis.n_heldout`` asks for ('' otherwise)."""
    if not counts or all(count == wanted for count in counts):
        return ""
    return (
        f" The statistics use each class's test images, each once: {', '.join(str(c) for c in counts)} per class "
        f"(analysis.n_heldout = {wanted} asks for more than the test set has), the clone as many draws."
    )


def _sections(text: ReportText) -> dict[str, list[str]]:
    """Each claim's section by name: its numbers, or why nothing is judged."""
    judged = text.judged
    if judged.reason is not None:
        return {name: [f"Not tested: {judged.reason}."] for name in judged.claims}
    return {name: SECTIONS[name](claim, text.pair) for name, claim in judged.claims.items()}


def report_markdown(text: ReportText) -> str:
    """The whole ``report.md``.

    Parameters
    ----------
    text : ReportText

    Returns
    -------
    str
    """
    judged, pair, features = text.judged, text.pair, text.judged.features
    label = LABELS[pair[0]]
    lines = [
        f"# cavitykit report: {text.name}",
        "",
        "Every number below is computed from the run's data by `cavitykit report`; each verdict follows the",
        "fixed criterion stated under it, whatever it says.",
        "",
        "## Verdicts",
        "",
    ]
    for claim in judged.claims.values():
        note = f" ({claim.note})" if claim.note else ""
        lines.append(f"- {claim.statement.format(label=label)} {VERDICTS[claim.verdict]}{note}")
        lines.append(f"  - Criterion: {claim.criterion_text()}.")
    at = lines.index("## Verdicts")
    if not bool(features.learned_task):
        lines[at:at] = [
            "**The dense networks did not learn the task**: their test accuracy is at chance (below "
            f"{float(features.chance_level):.3g} + {CHANCE_SE:g} standard errors = "
            f"{float(features.chance):.3f}), so this report judges "
            "no claim. Check the training settings (learning rate, steps, optimizer).",
            "",
        ]
        at += 2
    if text.missing:
        lines[at:at] = [*text.missing, ""]
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
        + ("" if text.periodic else " (on images, the width along each axis is the coordinates' standard deviation)")
        + ". The claims are judged on learned units; the noise-like ones are counted here and left out.",
        "",
    ] + [f"- {line}" for line in _class_lines(text.class_counts) + _no_field_lines(text.no_field)]
    for claim, section in zip(judged.claims.values(), _sections(text).values(), strict=True):
        lines += ["", f"## {claim.statement.format(label=label)}", ""] + [f"- {line}" for line in section]
    if text.lottery is not None:
        lines += ["", "## The lottery ticket: IMP against random re-initialisation of its masks", ""] + [
            f"- {line}" for line in _lottery_lines(text.lottery, pair)
        ]
    if text.snapshots is not None:
        lines += ["", "## Over training time (round 0)", ""] + [
            f"- {line}" for line in _training_time_lines(text.snapshots, pair)
        ]
    summary = text.summary
    lines += [
        "",
        "## Per round (means over replicates; all units and classes pooled)",
        "",
        "Dense networks (round 0) classify their test sets with accuracy "
        + ", ".join(
            f"{LABELS.get(str(v), str(v))} {float(summary.test_accuracy.sel(variant=v, round=0)):.3f}"
            for v in summary.variant.values
        )
        + f" (chance: {float(features.chance_level):.3g}).{_heldout_note(*text.heldout)}",
        "",
        "IPR columns pool every unit, learned or not; the nulls are means over units of each unit's own "
        "survivor count n (which differs between variants at equal layer sparsity: magnitude pruning strips "
        "the largest fields last). 'localized' is the "
        + ("circular-width" if text.periodic else "width")
        + " criterion, which counts checkerboards too; the claims use shape classes instead.",
        "",
        "| variant | round | layer-1 sparsity | test acc. | IPR | top-n null | 3/(n+2) | localized | "
        "mean abs. kurtosis | mean kurtosis |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in summary.variant.values:
        for r in summary["round"].values:
            one = summary.sel(variant=variant, round=r)
            lines.append(
                f"| {variant} | {int(r)} | {float(one.sparsity):.3f} | {float(one.test_accuracy):.3f} | "
                f"{float(one.ipr):.4f} | {float(text.top_null.sel(variant=variant, round=r)):.4f} | "
                f"{float(one.random_ipr):.4f} | {float(one.localized_fraction):.2f} | "
                f"{float(one.abs_kurtosis):.3f} | {float(one.kurtosis):+.3f} |"
            )
    lines += [
        "",
        "Correlation across units of |excess kurtosis| and IPR: "
        + ", ".join(f"{v} {float(text.correlation.sel(variant=v)):.2f}" for v in text.correlation.variant.values)
        + ".",
    ]
    if text.distances:
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
        for name, ratio in text.distances.items():
            mean, low, high = (ratio[key].values for key in ("mean", "low", "high"))
            further = zip(ratio.distance.values[1:], mean[1:], strict=True)
            first = Interval(float(mean[0]), float(low[0]), float(high[0]))
            lines.append(f"- {name}: d = 1: {_ci(first)}" + "".join(f", d = {d:.0f}: {m:.2f}" for d, m in further))
    lines += ["", "## Figures", ""]
    lines += [f"![{name}]({name}.png)" for name in text.figures]
    lines += ["", "## Configuration", "", "```toml", text.config.strip(), "```", ""]
    return "\n".join(lines)
