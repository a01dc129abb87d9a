"""``cavitykit report RUN``: figures and ``report.md`` with a verdict per claim, computed from the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from tqdm import tqdm

from cavitykit import analysis
from cavitykit.io import CUMULANTS_FILE, atomic_directory, open_run, with_cumulants
from cavitykit.variants import LABELS, compared_pair

# Formatted with the non-Gaussian variant's label.
CLAIMS = (
    "1. Non-Gaussian inputs are necessary: IMP localizes on {label}, not on its Gaussian clone.",
    "2. IMP raises the non-Gaussianity of hidden-unit pre-activations across rounds.",
    "3. The weights IMP prunes are those whose removal raises non-Gaussianity.",
)
VERDICTS = {True: "**supported**", False: "**not supported at this size**", None: "**not tested**"}


def _per_round(values, rounds, format_one) -> str:
    """'r0: ...; r1: ...' over the rounds."""
    return "; ".join(f"r{int(r)}: {format_one(values, r)}" for r in rounds)


def _localization_lines(summary: xr.Dataset, claim: xr.Dataset, pair: tuple[str, str]) -> list[str]:
    source, twin = pair
    name = LABELS[source]
    model, clone = summary.sel(variant=source).isel(round=-1), summary.sel(variant=twin).isel(round=-1)
    width = summary.rf_width
    return [
        f"Mean IPR after the last round: {name} {float(model.ipr):.4f}, clone {float(clone.ipr):.4f} "
        f"(ratio {float(claim.ipr_ratio):.2f}; criterion >= {analysis.IPR_RATIO:g}).",
        "A random Gaussian vector with as many surviving weights has IPR 3/(n+2): "
        f"{name} {float(model.random_ipr):.4f}, "
        f"clone {float(clone.random_ipr):.4f}; the clone's IPR is {float(claim.clone_ipr_excess):.2f} times its value "
        f"(criterion <= {analysis.CLONE_IPR_EXCESS}: 'near the random value').",
        f"Localized units (circular RF width < 0.1 L): {name} {float(model.localized_fraction):.0%}, clone "
        f"{float(clone.localized_fraction):.0%}; mean RF width {float(model.rf_width):.2f} vs "
        f"{float(clone.rf_width):.2f} pixels.",
        f"Per round, IPR ratio {name} / clone and mean RF width {name} vs clone (pixels): "
        + _per_round(
            claim.ipr_ratio_per_round,
            summary["round"].values,
            lambda ratio, r: (
                f"{float(ratio.sel(round=r)):.2f}, {float(width.sel(variant=source, round=r)):.1f} vs "
                f"{float(width.sel(variant=twin, round=r)):.1f}"
            ),
        )
        + ". At high sparsity the IPR of both is set by the few surviving weights (compare 3/(n+2)).",
        f"By receptive-field contiguity (localized fraction {name} - clone = {float(claim.localized_gap):+.2f}, "
        f"criterion >= {analysis.LOCALIZED_MARGIN}; RF width ratio {name} / clone = {float(claim.width_ratio):.2f}, "
        f"criterion <= {analysis.WIDTH_RATIO}): " + ("**supported**." if claim.contiguous else "**not supported**."),
    ]


def _kurtosis_lines(claim: xr.Dataset, source: str) -> list[str]:
    lines = [
        f"{LABELS[source]} mean |excess kurtosis|: round 0 {float(claim['first']):.3f}, last round "
        f"{float(claim['last']):.3f} (increase {float(claim.increase):.3f}, "
        f"3 x SE over replicates = {analysis.GROWTH_SE * float(claim.se):.3f}); correlation with the round number "
        f"{float(claim.trend):.2f}.",
        f"Clone mean |excess kurtosis|: at most {float(claim.clone_max):.3f} over rounds; sampling noise alone gives "
        f"~{float(claim.noise):.3f} (criterion: below twice that).",
    ]
    if not claim.tested:
        lines.append("Not tested: the growth is judged against its spread over replicates, and this run has one.")
    return lines


def _magnitude_controlled_line(fair: xr.Dataset, source: str) -> str:
    if not fair.n_pairs:
        return "Magnitude-controlled comparison: no bin of |w| holds both pruned and kept weights."
    theory = (
        f"the independent-input prediction gives {float(fair.auc_theory):.3f} "
        f"[{float(fair.auc_theory_low):.3f}, {float(fair.auc_theory_high):.3f}], so the data exceed it by "
        f"{float(fair.excess):+.3f} [{float(fair.excess_low):+.3f}, {float(fair.excess_high):+.3f}]"
        + (" (**beyond the independent-input theory**)" if fair.beyond_theory else " (not beyond it)")
        if np.isfinite(fair.auc_theory)
        else "the run stores no independent-input prediction to compare with"
    )
    return (
        f"Magnitude-controlled ({LABELS[source]}, {fair.attrs['n_bins']} quantile bins of |w| per round): "
        f"a pruned weight raises |excess kurtosis| more than a kept weight of the same bin in "
        f"{float(fair.auc):.1%} of {int(fair.n_pairs)} pairs (AUC; 95% bootstrap over "
        f"{fair.attrs['n_replicates']} replicates [{float(fair.auc_low):.3f}, {float(fair.auc_high):.3f}]; "
        f"0.5 = no relation at equal magnitude: "
        + ("**supported**" if fair.supported else "**not supported**")
        + f"); {theory}."
    )


def _cavity_lines(claim: xr.Dataset, fair: xr.Dataset, errors: xr.DataArray, source: str) -> list[str]:
    groups = claim.group.values
    return [
        f"Fraction of weights whose removal raises |excess kurtosis| ({LABELS[source]}, all rounds, classes and "
        "replicates): "
        + ", ".join(
            f"{name} {float(claim.fraction_raising.sel(group=name)):.3f} (n = {int(claim['count'].sel(group=name))})"
            for name in groups
        )
        + f"; 2 binomial SE of the pruned fraction = {float(claim.margin):.3f}.",
        f"Mean exact Δ excess kurtosis ({LABELS[source]}, mean over rounds): "
        + ", ".join(f"{name} {float(claim.mean_delta.sel(group=name)):+.4f}" for name in groups)
        + ".",
        "Per round (pruned / kept / random): "
        + _per_round(
            claim.fraction_raising_per_round,
            claim["round"].values,
            lambda fractions, r: "/".join(f"{float(f):.2f}" for f in fractions.sel(round=r).values),
        ),
        _magnitude_controlled_line(fair, source),
        "Median relative error of the cavity expansion against exact ablation, orders "
        + ", ".join(str(int(o)) for o in errors.approx_order.values)
        + ": "
        + "; ".join(
            f"{v}: " + ", ".join(f"{float(e):.1%}" for e in errors.sel(variant=v).values) for v in errors.variant.values
        )
        + ".",
    ]


def write_report(run_dir, *, out=None, variant=None, progress: bool = False) -> Path:
    """Compute the analyses, save the figures (PNG and PDF) and ``report.md`` in ``RUN/report`` (or ``out``).

    The cumulant spectra are read from ``RUN/cumulants.nc`` when it exists; otherwise they are
    computed on the run's held-out samples and, for a report inside the run directory, kept there
    for the next report.  With ``out`` elsewhere nothing is written into the run directory.

    Parameters
    ----------
    run_dir : str or Path
        A run directory.
    out : str or Path, optional
        The report folder, replaced whole; default ``RUN/report``.  An existing folder is replaced
        only if it holds a report (``report.md``) or nothing.
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
    >>> import tempfile
    >>> from cavitykit.testing import example_run
    >>> folder = tempfile.mkdtemp()
    >>> write_report(example_run(), out=f"{folder}/report").name
    'report.md'
    """
    from cavitykit import plot
    from cavitykit.spectra import preactivation_cumulants

    run_dir = Path(run_dir)
    out = run_dir / "report" if out is None else Path(out)
    if out.exists() and not (out / "report.md").is_file() and (out.is_file() or any(out.iterdir())):
        raise ValueError(f"out {str(out)!r} exists and is not a report folder (no report.md): choose another")
    has_spectra = (run_dir / CUMULANTS_FILE).is_file()
    ds = open_run(run_dir, cumulants=has_spectra)
    pair = compared_pair(ds.variant.values, variant)
    if not has_spectra:
        keep = run_dir / CUMULANTS_FILE if out.resolve().parent == run_dir.resolve() else None
        spectra = preactivation_cumulants(run_dir, max_order=8, run=ds, progress=progress, out=keep)
        ds = with_cumulants(ds, spectra)
    summary = analysis.round_summary(ds)
    figures = {
        "localization_and_kurtosis": plot.localization_and_kurtosis(summary),
        **{f"receptive_fields_{name}": plot.receptive_fields(ds, name) for name in pair},
        "cumulant_spectra": plot.cumulant_spectra(ds),
    }
    if "y" in ds.coords:  # a torus: every unit's map, first and last round, model beside clone
        figures["receptive_field_maps"] = plot.receptive_field_maps(ds, pair)
    features = analysis.feature_learning(ds, pair)
    sections, verdicts, notes = [], [], []
    if ds.sizes["round"] < 2:
        reason = "the run has one round: no pruning to judge"
        verdicts, notes = [None] * 3, [f" ({reason})"] * 3
        sections = [[f"Not tested: {reason}."]] * 3
    else:
        localization = analysis.claim_localization(summary, pair)
        kurtosis = analysis.claim_kurtosis(summary, pair)
        contiguity = "supported" if localization.contiguous else "not supported"
        verdicts = [bool(localization.supported), bool(kurtosis.supported) if kurtosis.tested else None]
        notes = [f" (IPR criterion; by receptive-field contiguity: {contiguity})", ""]
        sections = [_localization_lines(summary, localization, pair), _kurtosis_lines(kurtosis, pair[0])]
        if "cavity_exact" in ds:
            errors = analysis.expansion_error(ds)
            figures["cavity_delta_histograms"] = plot.delta_histograms(ds)
            figures["exact_vs_expansion"] = plot.exact_vs_expansion(ds, pair[0], errors=errors)
            cavity = analysis.claim_cavity(analysis.cavity_groups(ds), pair[0])
            verdicts.append(bool(cavity.supported))
            sections.append(_cavity_lines(cavity, analysis.cavity_by_magnitude(ds, pair[0]), errors, pair[0]))
        else:
            verdicts.append(None)
            sections.append(["Not tested: the run has no cavity effects (analysis.cavity = false)."])
        notes.append("")
        if not bool(features.learned_task):
            # Networks at chance learned nothing: no claim about what training or pruning did holds.
            verdicts, notes = [None] * 3, [" (the dense networks classify at chance; see below)"] * 3
        elif not bool(features.passed):
            # Claims 1 and 3 are about the features IMP finds: on networks still at their
            # initialization they would describe the initialization.
            for index in (0, 2):
                verdicts[index] = None
                notes[index] = " (the dense network did not learn features; see below)"
    if "snapshot_weight" in ds:
        snapshots = analysis.snapshot_summary(ds)
        figures["training_time"] = plot.training_time(snapshots, pair)
        if "y" in ds.coords:
            last = float(ds["time"].max())
            times = [t for t in (1e2, 1e3, 1e4) if t <= last] or [last]
            figures["receptive_fields_over_time"] = plot.receptive_fields_over_time(ds, pair, times)
        sections.append(_training_time_lines(snapshots, pair))
    correlation = analysis.kurtosis_ipr_correlation(ds)
    text = _markdown(ds, summary, pair, sections, verdicts, notes, correlation, figures, features)
    with atomic_directory(out) as folder:
        for name, figure in tqdm(figures.items(), desc="figures", unit="figure", leave=False, disable=not progress):
            for suffix in ("png", "pdf"):
                figure.savefig(folder / f"{name}.{suffix}", dpi=130, format=suffix)
        (folder / "report.md").write_text(text)
    return out / "report.md"


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
            "initialization, so claims 1 and 3 are not tested here."
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


def _markdown(ds, summary, pair, sections, verdicts, notes, correlation, figures, features) -> str:
    config = ds.attrs["config"]
    lines = [
        f"# cavitykit report: {run_name(ds)}",
        "",
        "Every number below is computed from the run's data by `cavitykit report`; the verdicts follow",
        "fixed criteria stated beside them, whatever they say.",
        "",
        "## Verdicts",
        "",
    ]
    claims = [claim.format(label=LABELS[pair[0]]) for claim in CLAIMS]
    for claim, verdict, note in zip(claims, verdicts, notes, strict=True):
        lines.append(f"- {claim} {VERDICTS[verdict]}{note}")
    if not bool(features.learned_task):
        at = lines.index("## Verdicts")
        lines[at:at] = [
            "**The dense networks did not learn the task**: their test accuracy is at chance (below "
            f"0.5 + {analysis.CHANCE_SE:g} standard errors = {float(features.chance):.3f}), so this report judges "
            "no claim. Check the training settings (learning rate, steps, optimizer).",
            "",
        ]
    lines += ["", "## Did the dense network learn features?", ""] + [
        f"- {line}" for line in _feature_lines(features, pair)
    ]
    for claim, section in zip(claims, sections[:3], strict=True):
        lines += ["", f"## {claim}", ""] + [f"- {line}" for line in section]
    if len(sections) > 3:
        lines += ["", "## Over training time (round 0)", ""] + [f"- {line}" for line in sections[3]]
    lines += [
        "",
        "## Per round (means over replicates; units and classes pooled)",
        "",
        "Dense networks (round 0) classify their test sets with accuracy "
        + ", ".join(
            f"{LABELS.get(str(v), str(v))} {float(summary.test_accuracy.sel(variant=v, round=0)):.3f}"
            for v in summary.variant.values
        )
        + " (chance: 0.5).",
        "",
        "| variant | round | sparsity | test acc. | IPR | 3/(n+2) | localized | mean abs. kurtosis | mean kurtosis |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for variant in summary.variant.values:
        for r in summary["round"].values:
            one = summary.sel(variant=variant, round=r)
            lines.append(
                f"| {variant} | {int(r)} | {float(one.sparsity):.3f} | {float(one.test_accuracy):.3f} | "
                f"{float(one.ipr):.4f} | {float(one.random_ipr):.4f} | {float(one.localized_fraction):.2f} | "
                f"{float(one.abs_kurtosis):.3f} | {float(one.kurtosis):+.3f} |"
            )
    lines += [
        "",
        "Correlation across units of |excess kurtosis| and IPR: "
        + ", ".join(f"{v} {float(correlation.sel(variant=v)):.2f}" for v in correlation.variant.values)
        + ".",
        "",
        "## Figures",
        "",
    ]
    lines += [f"![{name}]({name}.png)" for name in figures]
    lines += ["", "## Configuration", "", "```toml", config.strip(), "```", ""]
    return "\n".join(lines)


def run_name(ds) -> str:
    """The run's name in the report's title: its config hash.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> run_name(open_run(example_run()))
    'config ...'
    """
    return f"config {ds.attrs['config_hash'][:12]}"
