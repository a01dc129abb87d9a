"""``cavitykit report RUN``: figures and ``report.md`` with a verdict per claim, computed from the data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit import analysis
from cavitykit.imp.config import CLONES, LABELS
from cavitykit.io import CUMULANTS_FILE, atomic_target, open_run, with_cumulants

# Formatted with the non-Gaussian variant's label.
CLAIMS = (
    "1. Non-Gaussian inputs are necessary: IMP localizes on {label}, not on its Gaussian clone.",
    "2. IMP raises the non-Gaussianity of hidden-unit pre-activations across rounds.",
    "3. The weights IMP prunes are those whose removal raises non-Gaussianity.",
)


# Contiguity criterion of claim 1: the model's localized fraction exceeds its clone's by this much ...
LOCALIZED_MARGIN = 0.25
# ... and its mean receptive-field width is at most this fraction of the clone's.
WIDTH_RATIO = 0.75


def _claim_localization(summary: xr.Dataset, pair: tuple[str, str]) -> tuple[bool, list[str], bool]:
    source, twin = pair
    name = LABELS[source]
    last = summary.isel(round=-1)
    model, clone = last.sel(variant=source), last.sel(variant=twin)
    ratio = float(model.ipr / clone.ipr)
    per_round = summary.ipr.sel(variant=source) / summary.ipr.sel(variant=twin)
    width = summary.rf_width
    clone_excess = float(clone.ipr / clone.random_ipr)
    supported = ratio >= 2 and clone_excess <= 1.5
    localized_gap = float(model.localized_fraction - clone.localized_fraction)
    width_ratio = float(model.rf_width / clone.rf_width)
    contiguous = localized_gap >= LOCALIZED_MARGIN and width_ratio <= WIDTH_RATIO
    lines = [
        f"Mean IPR after the last round: {name} {float(model.ipr):.4f}, clone {float(clone.ipr):.4f} "
        f"(ratio {ratio:.2f}; criterion >= 2).",
        "A random Gaussian vector with as many surviving weights has IPR 3/(n+2): "
        f"{name} {float(model.random_ipr):.4f}, "
        f"clone {float(clone.random_ipr):.4f}; the clone's IPR is {clone_excess:.2f} times its value "
        "(criterion <= 1.5: 'near the random value').",
        f"Localized units (circular RF width < 0.1 L): {name} {float(model.localized_fraction):.0%}, clone "
        f"{float(clone.localized_fraction):.0%}; mean RF width {float(model.rf_width):.2f} vs "
        f"{float(clone.rf_width):.2f} pixels.",
        f"Per round, IPR ratio {name} / clone and mean RF width {name} vs clone (pixels): "
        + "; ".join(
            f"r{int(r)}: {float(per_round.sel(round=r)):.2f}, {float(width.sel(variant=source, round=r)):.1f} vs "
            f"{float(width.sel(variant=twin, round=r)):.1f}"
            for r in summary["round"].values
        )
        + ". At high sparsity the IPR of both is set by the few surviving weights (compare 3/(n+2)).",
        f"By receptive-field contiguity (localized fraction {name} - clone = {localized_gap:+.2f}, criterion >= "
        f"{LOCALIZED_MARGIN}; RF width ratio {name} / clone = {width_ratio:.2f}, criterion <= {WIDTH_RATIO}): "
        + ("**supported**." if contiguous else "**not supported**."),
    ]
    return supported, lines, contiguous


def _claim_kurtosis(
    summary: xr.Dataset, pair: tuple[str, str], n_replicates: int, n_heldout: int
) -> tuple[bool | None, list[str]]:
    model, clone = summary.sel(variant=pair[0]), summary.sel(variant=pair[1])
    first, last = model.isel(round=0), model.isel(round=-1)
    se = np.sqrt(float(first.abs_kurtosis_sd) ** 2 + float(last.abs_kurtosis_sd) ** 2) / np.sqrt(n_replicates)
    rounds = model["round"].values
    trend = float(np.corrcoef(rounds, model.abs_kurtosis.values)[0, 1])
    grows = float(last.abs_kurtosis - first.abs_kurtosis) > 3 * se and trend > 0.5
    # For Gaussian pre-activations the mean over units of |kurtosis| is ~ sqrt(2/pi) sqrt(24/n).
    noise = float(np.sqrt(2 / np.pi) * np.sqrt(24 / n_heldout))
    clone_max = float(clone.abs_kurtosis.max())
    clone_flat = clone_max < 2 * noise
    lines = [
        f"{LABELS[pair[0]]} mean |excess kurtosis|: round 0 {float(first.abs_kurtosis):.3f}, last round "
        f"{float(last.abs_kurtosis):.3f} (increase {float(last.abs_kurtosis - first.abs_kurtosis):.3f}, "
        f"3 x SE over replicates = {3 * se:.3f}); correlation with the round number {trend:.2f}.",
        f"Clone mean |excess kurtosis|: at most {clone_max:.3f} over rounds; sampling noise alone gives "
        f"~{noise:.3f} (criterion: below twice that).",
    ]
    if n_replicates < 2:
        lines.append("Not tested: the growth is judged against its spread over replicates, and this run has one.")
        return None, lines
    return grows and clone_flat, lines


def _claim_cavity(groups: xr.Dataset, source: str) -> tuple[bool, list[str]]:
    model = groups.sel(variant=source)
    pooled = {}
    for name in ("pruned", "kept", "random"):
        count = model[f"count_{name}"]
        pooled[name] = (float((model[f"fraction_raising_{name}"] * count).sum() / count.sum()), float(count.sum()))
    p_pruned, n_pruned = pooled["pruned"]
    margin = 2 * np.sqrt(p_pruned * (1 - p_pruned) / max(n_pruned, 1))
    supported = p_pruned - margin > pooled["kept"][0] and p_pruned - margin > pooled["random"][0]
    lines = [
        f"Fraction of weights whose removal raises |excess kurtosis| ({LABELS[source]}, all rounds, classes and "
        "replicates): "
        + ", ".join(f"{name} {p:.3f} (n = {int(n)})" for name, (p, n) in pooled.items())
        + f"; 2 binomial SE of the pruned fraction = {margin:.3f}.",
        f"Mean exact Δ excess kurtosis ({LABELS[source]}, mean over rounds): "
        + ", ".join(f"{name} {float(model[f'mean_delta_{name}'].mean()):+.4f}" for name in pooled)
        + ".",
        "Per round (pruned / kept / random): "
        + "; ".join(
            f"r{int(r)}: {float(model.fraction_raising_pruned.sel(round=r)):.2f}/"
            f"{float(model.fraction_raising_kept.sel(round=r)):.2f}/"
            f"{float(model.fraction_raising_random.sel(round=r)):.2f}"
            for r in model["round"].values
        ),
    ]
    return supported, lines


def compared_pair(variants, variant=None) -> tuple[str, str]:
    """(non-Gaussian variant, its Gaussian clone) the report compares: ``variant`` and its clone, or
    by default the first pair of ``CLONES`` whose two variants are both in ``variants``."""
    variants = [str(v) for v in variants]
    if variant is None:
        pair = next(((model, clone) for model, clone in CLONES.items() if {model, clone} <= set(variants)), None)
        if pair is None:
            pairs = ", ".join(f"{model} and {clone}" for model, clone in CLONES.items())
            raise ValueError(f"the report compares a model with its clone ({pairs}); this run has {variants}")
        return pair
    if variant not in CLONES:
        raise ValueError(f"variant must be one of {sorted(CLONES)} (a model that has a clone), got {variant!r}")
    if {variant, CLONES[variant]} - set(variants):
        raise ValueError(f"variant={variant!r} needs {variant} and {CLONES[variant]} in the run; it has {variants}")
    return variant, CLONES[variant]


def write_report(run_dir, *, variant=None) -> Path:
    """Compute the analyses, save the figures (PNG and PDF) and ``report.md`` in ``RUN/report``.

    ``variant`` names the non-Gaussian model compared with its clone ('nlgp' or 'ising'); by
    default the first of them the run holds with its clone.
    """
    from cavitykit import plot
    from cavitykit.imp.cumulants import preactivation_cumulants

    run_dir = Path(run_dir)
    ds = open_run(run_dir)
    pair = compared_pair(ds.variant.values, variant)
    if not (run_dir / CUMULANTS_FILE).is_file():
        ds = with_cumulants(ds, preactivation_cumulants(run_dir, max_order=8, run=ds))
    out = run_dir / "report"
    out.mkdir(exist_ok=True)
    summary = analysis.round_summary(ds)
    figures = {
        "localization_and_kurtosis": plot.localization_and_kurtosis(summary),
        **{f"receptive_fields_{name}": plot.receptive_fields(ds, name) for name in pair},
        "cumulant_spectra": plot.cumulant_spectra(ds),
    }
    sections = []
    verdicts = []
    supported, lines, contiguous = _claim_localization(summary, pair)
    verdicts.append(supported)
    sections.append(lines)
    supported, lines = _claim_kurtosis(summary, pair, ds.sizes["replicate"], analysis.n_heldout(ds))
    verdicts.append(supported)
    sections.append(lines)
    if "cavity_exact" in ds:
        figures["cavity_delta_histograms"] = plot.delta_histograms(ds)
        figures["exact_vs_expansion"] = plot.exact_vs_expansion(ds, pair[0])
        supported, lines = _claim_cavity(analysis.cavity_groups(ds), pair[0])
        errors = analysis.expansion_error(ds)
        lines.append(
            "Median relative error of the cavity expansion against exact ablation, orders "
            + ", ".join(str(int(o)) for o in errors.approx_order.values)
            + ": "
            + "; ".join(
                f"{v}: " + ", ".join(f"{float(e):.1%}" for e in errors.sel(variant=v).values)
                for v in errors.variant.values
            )
            + "."
        )
    else:
        supported, lines = None, ["Not tested: the run has no cavity effects (analysis.cavity = false)."]
    verdicts.append(supported)
    sections.append(lines)
    correlation = analysis.kurtosis_ipr_correlation(ds)
    for name, figure in figures.items():
        for suffix in ("png", "pdf"):
            with atomic_target(out / f"{name}.{suffix}") as temporary:
                figure.savefig(temporary, dpi=130, format=suffix)
    notes = [
        f" (IPR criterion; by receptive-field contiguity: {'supported' if contiguous else 'not supported'})",
        "",
        "",
    ]
    text = _markdown(ds, summary, pair, sections, verdicts, notes, correlation, figures)
    with atomic_target(out / "report.md") as temporary:
        temporary.write_text(text)
    return out / "report.md"


def _markdown(ds, summary, pair, sections, verdicts, notes, correlation, figures) -> str:
    config = ds.attrs["config"]
    words = {True: "**supported**", False: "**not supported at this size**", None: "**not tested**"}
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
        lines.append(f"- {claim} {words[verdict]}{note}")
    for claim, section in zip(claims, sections, strict=True):
        lines += ["", f"## {claim}", ""] + [f"- {line}" for line in section]
    lines += [
        "",
        "## Per round (means over replicates; units and classes pooled)",
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
    return f"config {ds.attrs['config_hash'][:12]}"
