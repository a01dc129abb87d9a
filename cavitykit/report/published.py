"""The index of a folder of published reports, ``README.md``, written from the weights files alone.

Each subfolder that holds a ``weights.nc`` (``cavitykit.io.write_weights``) gets a section: the command
that makes the run again, what the run is (from its stored configuration), the dense networks' accuracy,
each claim's verdict with the numbers its criterion reads, and on images Pellegrini and Biroli's measure at
distance 1.  Every number is computed here from the weights file, as ``cavitykit report`` computes it,
so the index cannot drift from the reports beside it: ``cavitykit index FOLDER`` rewrites it, and a test
of the project compares the committed one with what the files give today.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit import analysis
from cavitykit.analysis.claims import CLAIMS, Cavity, Interval, Iterative, Kurtosis, Localization
from cavitykit.branches import BRANCHES, CONTROLS
from cavitykit.config import RunConfig, load_preset, presets, stored_config
from cavitykit.io import atomic_target, open_weights, read_sweep_verdicts, run_config, weights_controls
from cavitykit.report.markdown import VERDICTS, _ci
from cavitykit.variants import LABELS, compared_variants, label

WEIGHTS_FILE = "weights.nc"
INDEX_FILE = "README.md"
# Where hand-written notes beside the index live, when a folder has them.
NOTES_FILE = "notes.md"
# The subfolder of stored sweeps (GROUP/NAME.nc), with pages of their own.
SWEEPS_DIR = "sweeps"


def _command(config: RunConfig) -> str:
    """The command that makes the run again: its preset's when the run is the preset as shipped (the same
    identity), else one of the configuration its report ends with."""
    if config.name in presets() and load_preset(config.name, check_files=False).identity == config.identity:
        return f"`cavitykit run --preset {config.name} --out results --report`"
    return f"`cavitykit run {config.name}.toml --out results --report`, with the configuration its report ends with"


def _what(config: RunConfig) -> str:
    """What the run is, in one sentence, from its stored configuration."""
    imp, network = config.imp, config.network
    variants = " and ".join(label(v) for v in config.variants)
    training = config.training
    later = ", ".join(f"{fraction:.0%}" for fraction in imp.layer_fractions)
    rates = f"{imp.prune_fraction:.0%}" + (f" of the first layer and {later} of the later ones" if later else "")
    rounds = (
        "the dense round only"
        if imp.rounds == 1
        else f"{imp.rounds} rounds (the dense one and {imp.rounds - 1} prunings of {rates})"
    )
    controls = ", ".join(BRANCHES[name].label for name in imp.controls if name in CONTROLS)
    units = (
        f"{network.width} hidden units"
        if network.depth == 1
        else "hidden layers of " + ", ".join(str(width) for width in network.widths) + " units"
    )
    normalized = ", every layer's input batch-normalized" if network.batch_norm else ""
    return (
        f"{variants[0].upper()}{variants[1:]} on {config.data.describe()}; {units} "
        f"({network.activation}{normalized}); {training.steps} {training.optimizer} steps of batch "
        f"{training.batch_size} per round; {rounds}; "
        f"{config.replicates} replicates" + (f"; control branches: {controls}" if controls else "") + "."
    )


def _localization(claim: Localization, model: str) -> str:
    if claim.n_star is None:
        return ""
    return (
        f"at n* = {claim.n_star:.0f} weights per learned unit, bumps {model} {_ci(claim.model['bump'])}, clone "
        f"{_ci(claim.clone['bump'])}, gap {_ci(claim.bump_gap, sign=True)}; IPR over the top-n null gap "
        f"{_ci(claim.ipr_gap, sign=True)}"
    )


def _kurtosis(claim: Kurtosis, model: str) -> str:
    if claim.imp is None:
        return ""
    text = f"rise of |excess kurtosis| to round {claim.round}: IMP {_ci(claim.imp, 3, sign=True)}"
    if claim.tested:
        text += f", random pruning {_ci(claim.random, 3, sign=True)}, IMP - random {_ci(claim.gap, 3, sign=True)}"
    return text + f", clone {_ci(claim.clone, 3, sign=True)}"


def _cavity(claim: Cavity, model: str) -> str:
    if claim.pruned is None:
        return ""
    return (
        f"removal raises |excess kurtosis| for {_ci(claim.pruned)} of the weights IMP prunes next, "
        f"{_ci(claim.kept)} of those it keeps, {_ci(claim.clone_pruned)} of the clone's pruned; pruned - kept "
        f"{_ci(claim.specific, sign=True)}, pruned - clone {_ci(claim.gap, sign=True)}"
    )


def _iterative(claim: Iterative, model: str) -> str:
    matched = claim.matched
    if matched is None:
        return ""
    text = (
        f"of {matched.learned} learned units, {matched.compared} compared at one-shot's count, {matched.emptied} "
        f"emptied by one-shot pruning, {matched.too_few} with too few weights, {matched.outside} outside IMP's rounds"
    )
    if claim.tested:
        text += f"; bumps IMP - one-shot {_ci(matched.gap, sign=True)}"
    shapes = claim.equal_sparsity
    return text + (
        "; at equal layer sparsity, bumps "
        + ", ".join(f"{BRANCHES[name].label} {_ci(one.bump)}" for name, one in shapes.items())
    )


_NUMBERS = {"localization": _localization, "kurtosis": _kurtosis, "cavity": _cavity, "iterative": _iterative}


def report_entry(folder: Path) -> list[str]:
    """The index's section for one report folder, from its ``weights.nc``.

    Parameters
    ----------
    folder : Path
        A folder holding ``weights.nc`` and the ``report.md`` written from it.

    Returns
    -------
    list of str
        Markdown lines.
    """
    path = folder / WEIGHTS_FILE
    ds = open_weights(path)
    controls = {name: open_weights(path, control=name) for name in weights_controls(path)}
    config = stored_config(run_config(ds))
    pair = compared_variants(ds.variant.values)
    judged = analysis.judge(ds, pair, controls)
    model = LABELS[pair[0]]
    accuracy = ds.test_accuracy.isel(round=0).mean("replicate")
    lines = [
        f"## [`{folder.name}/`]({folder.name}/report.md)",
        "",
        _command(config),
        "",
        _what(config),
        "",
        "Dense test accuracy "
        + ", ".join(f"{label(str(v))} {float(accuracy.sel(variant=v)):.3f}" for v in pair)
        + (
            f"; after the last round {float(ds.sparsity.isel(round=-1).mean()):.1%} of the first layer is pruned."
            if ds.sizes["round"] > 1
            else "."
        ),
        "",
        "| claim | verdict | the numbers its criterion reads |",
        "|---|---|---|",
    ]
    for number, (name, claim) in enumerate(judged.claims.items(), start=1):
        numbers = _NUMBERS[name](claim, model)
        if claim.note:
            numbers = f"{numbers} (no verdict: {claim.note})" if numbers else claim.note
        cell = numbers.replace("|", "\\|")  # |excess kurtosis| inside a table cell
        lines.append(f"| {number} | {VERDICTS[claim.verdict]} | {cell} |")
    if not analysis.periodic_grid(ds):
        branches = {"IMP": ds} | {BRANCHES[name].label: branch for name, branch in controls.items()}
        ratios = ", ".join(f"{name} {_ci(_interval_at_one(branch, pair[0]))}" for name, branch in branches.items())
        clone = f"; IMP on the clone {_ci(_interval_at_one(ds, pair[1]))}" if len(pair) == 2 else ""
        lines += [
            "",
            f"Surviving connections at distance 1 over random placement, last round ({model}): {ratios}{clone}.",
        ]
    return lines


def _interval_at_one(branch, variant: str) -> Interval:
    """Pellegrini and Biroli's ratio at distance 1, last round, over replicates."""
    ratio = analysis.connection_distance_ratio(branch).sel(variant=variant).isel(distance=0)
    return Interval.over_replicates(ratio)


SWEEP_VERDICTS = {1.0: "**yes**", 0.0: "no"}


def _cell(one, name: str, digits: int = 2, sign: bool = False) -> str:
    """A replicate mean with its 95% interval, or a dash where the point has none."""
    value = float(one[name]) if name in one else np.nan
    if not np.isfinite(value):
        return "–"
    form = f"{'+' if sign else ''}.{digits}f"
    return f"{value:{form}} [{float(one[f'{name}_low']):{form}}, {float(one[f'{name}_high']):{form}}]"


def _count(value) -> str:
    """A survivor count, or a dash where the point has none."""
    return f"{float(value):.0f}" if np.isfinite(float(value)) else "–"


def _verdict(one, claim: str) -> str:
    value = float(one[f"{claim}_supported"])
    return SWEEP_VERDICTS.get(value, "not tested")


def sweep_tables(verdicts: xr.Dataset) -> str:
    """A sweep's numbers as Markdown tables, one per claim (replicate means and 95% intervals), from
    ``analysis.sweep_verdicts`` over one swept dim."""
    (axis,) = verdicts.dims
    model = label(verdicts.attrs["pair"][0])
    sections = {
        "Claim 1: localization at matched survivors n* (learned units)": (
            f"| {axis} | learned units {model} / clone | n* | bumps {model} | bumps clone | bump gap "
            f"| IPR / top-n null {model} | IPR / top-n null clone | IPR gap | supported |",
            lambda one: (
                f"{float(one.learned_model):.1f} / {float(one.learned_clone):.1f} | {_count(one.n_star)} | "
                f"{_cell(one, 'bump_model')} | {_cell(one, 'bump_clone')} | {_cell(one, 'bump_gap', sign=True)} | "
                f"{_cell(one, 'ipr_over_top_model')} | {_cell(one, 'ipr_over_top_clone')} | "
                f"{_cell(one, 'ipr_gap', sign=True)} | {_verdict(one, 'localization')} |"
            ),
        ),
        "Claim 2: rise of the learned units' mean |excess kurtosis|": (
            f"| {axis} | IMP ({model}) | random pruning | IMP - random | clone | supported |",
            lambda one: (
                f"{_cell(one, 'rise_imp', 3, True)} | {_cell(one, 'rise_random', 3, True)} | "
                f"{_cell(one, 'rise_gap', 3, True)} | {_cell(one, 'rise_clone', 3, True)} | "
                f"{_verdict(one, 'kurtosis')} |"
            ),
        ),
        "Claim 3: share of the weights IMP prunes whose removal raises |excess kurtosis|": (
            f"| {axis} | pruned ({model}) | kept | clone's pruned | pruned - clone | pruned - kept "
            f"| rank corr. abs(w), effect | prediction | supported |",
            lambda one: (
                f"{_cell(one, 'raising_pruned')} | {_cell(one, 'raising_kept')} | "
                f"{_cell(one, 'raising_clone')} | {_cell(one, 'raising_gap', sign=True)} | "
                f"{_cell(one, 'raising_specific', sign=True)} | {_cell(one, 'rho', sign=True)} | "
                f"{_cell(one, 'rho_theory', sign=True)} | {_verdict(one, 'cavity')} |"
            ),
        ),
        "Claim 4: bumps among learned units at one-shot pruning's per-unit survivor count": (
            f"| {axis} | IMP ({model}) | one-shot | dense field cut to n | IMP - one-shot | supported |",
            lambda one: (
                f"{_cell(one, 'bump_imp_matched')} | {_cell(one, 'bump_one_shot_matched')} | "
                f"{_cell(one, 'bump_dense_cut_matched')} | {_cell(one, 'iterative_gap', sign=True)} | "
                f"{_verdict(one, 'iterative')} |"
            ),
        ),
    }
    lines = []
    for value in verdicts[axis].values:
        reason = str(verdicts.reason.sel({axis: value}).values) if "reason" in verdicts else ""
        if reason and reason != "nan":
            lines += [f"At {axis} = {value} no claim is judged: {reason.removesuffix('; see the unit classes')}.", ""]
    for title, (head, row) in sections.items():
        lines += [f"### {title}", "", head, "|" + "---|" * (head.count("|") - 1)]
        lines += [f"| {value} | {row(verdicts.sel({axis: value}))}" for value in verdicts[axis].values]
        lines.append("")
    return "\n".join(lines)


def _sweep_section(group: str, path: Path) -> list[str]:
    """The sweeps index's section for one stored sweep: what its points are and where each claim holds."""
    verdicts = read_sweep_verdicts(path)
    (axis,) = verdicts.dims
    name, swept = verdicts.attrs["sweep"], verdicts.attrs["swept"]
    config = stored_config(tomllib.loads(verdicts.attrs["config"]))
    lines = [
        f"## `{group}/{name}`: along {', '.join(f'`{key}`' for key in swept)}",
        "",
        f"[Figure]({group}/{name}.png), [tables]({group}/{name}.md). The first point: {_what(config)} The points "
        f"differ in {', '.join(f'`{key}`' for key in swept)} only.",
        "",
        f"| {axis} | " + " | ".join(f"claim {number}" for number in range(1, len(CLAIMS) + 1)) + " |",
        "|" + "---|" * (len(CLAIMS) + 1),
    ]
    values = verdicts[axis].values
    for value in values:
        one = verdicts.sel({axis: value})
        lines.append(f"| {value} | " + " | ".join(_verdict(one, claim) for claim in CLAIMS) + " |")
    lines.append("")
    for number, claim in enumerate(CLAIMS, start=1):
        held = [str(value) for value in values if float(verdicts[f"{claim}_supported"].sel({axis: value})) == 1.0]
        lines.append(
            f"- Claim {number} is supported at {axis} = {', '.join(held)}."
            if held
            else f"- Claim {number} is supported at no {axis}."
        )
    return [*lines, ""]


def sweeps_index(folder) -> str:
    """``README.md`` of a folder of stored sweeps, ``GROUP/NAME.nc`` (``io.write_sweep_verdicts``).

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    str
    """
    folder = Path(folder)
    stored = sorted(folder.glob("*/*.nc"))
    if not stored:
        raise ValueError(f"folder {str(folder)!r} holds no stored sweep (GROUP/NAME.nc)")
    lines = [
        "# Sweeps: where each claim holds",
        "",
        "Generated by `cavitykit index` from the stored sweeps below; do not edit.",
        "",
        "Every point of every sweep is judged exactly as `cavitykit report` judges a run (the criteria stated",
        "under each report's verdicts), by `analysis.sweep_verdicts`: on the units that learned a field in the dense",
        "round, at matched survivor counts, within the rounds where the pruned networks still classify, against",
        "the nulls of magnitude pruning and the control branches each point carries, with 95% Student t",
        "intervals over replicates. A claim is marked supported only where it passes its criterion; not tested",
        "where a check or a control is missing. Each `GROUP/NAME.nc` holds a sweep's verdicts as",
        "`python experiments/sweep_figures.py ROOT --name NAME --out docs/results/sweeps/GROUP` stored them from",
        "the sweep's run directories (`cavitykit sweep FILE --out ROOT`); its figure and tables beside it.",
        "",
    ]
    for path in stored:
        lines += _sweep_section(path.parent.name, path)
    return "\n".join(lines)


def results_index(folder) -> str:
    """``README.md`` of a folder of published reports: a section per subfolder with a ``weights.nc``.

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    str
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} {'is a file' if folder.is_file() else 'does not exist'}")
    reports = sorted(path.parent for path in folder.glob(f"*/{WEIGHTS_FILE}"))
    if not reports:
        raise ValueError(f"folder {str(folder)!r} holds no report folder with a {WEIGHTS_FILE}")
    unreported = [path.name for path in reports if not (path / "report.md").is_file()]
    if unreported:
        raise ValueError(
            f"folder {str(folder)!r}: {', '.join(unreported)} hold(s) a {WEIGHTS_FILE} but no report.md; write it "
            f"first: cavitykit report {(folder / unreported[0] / WEIGHTS_FILE).as_posix()} --out "
            f"{(folder / unreported[0]).as_posix()}"
        )
    lines = [
        "# Published reports",
        "",
        "Generated by `cavitykit index` from the weights files below; do not edit.",
        "",
        "Each folder holds a run's `weights.nc`: every round's first-layer weights, masks, pruning, biases,",
        "readouts and pre-activation statistics, for the run and its control branches, in float32, and the",
        "`report.md` and figures that `cavitykit report FOLDER/weights.nc --out FOLDER` writes from it alone,",
        "with no run directory and no data file. Every number on this page is computed from the same files",
        "(`cavitykit.report.published`); each report states the criteria under its verdicts, intervals are",
        "95% Student t over replicates, and a verdict is given only where the claim passes or fails its",
        "criterion against its control.",
        "",
    ]
    others = sorted(path.parent.name for path in folder.glob(f"*/{INDEX_FILE}") if path.parent not in reports)
    if others:
        lines += [
            "Beside the reports, with an index of their own: "
            + ", ".join(f"[`{name}/`]({name}/{INDEX_FILE})" for name in others)
            + ".",
            "",
        ]
    if (folder / NOTES_FILE).is_file():
        lines += [
            f"What the runs say, what was measured with other code and how verdicts changed: [{NOTES_FILE}]"
            f"({NOTES_FILE}).",
            "",
        ]
    for path in reports:
        lines += [*report_entry(path), ""]
    return "\n".join(lines)


def results_pages(folder) -> dict[Path, str]:
    """Every generated page of a results folder, by path: ``README.md`` (``results_index``) and, where
    ``FOLDER/sweeps`` holds stored sweeps, each sweep's tables ``GROUP/NAME.md`` and the sweeps'
    ``README.md`` (``sweeps_index``).

    Parameters
    ----------
    folder : str or Path

    Returns
    -------
    dict of Path to str
    """
    folder = Path(folder)
    pages = {folder / INDEX_FILE: results_index(folder)}
    sweeps = folder / SWEEPS_DIR
    if any(sweeps.glob("*/*.nc")):
        for path in sorted(sweeps.glob("*/*.nc")):
            pages[path.with_suffix(".md")] = sweep_tables(read_sweep_verdicts(path))
        pages[sweeps / INDEX_FILE] = sweeps_index(sweeps)
    return pages


def write_results_index(folder) -> list[Path]:
    """Write every page of ``results_pages(folder)``, each whole or not at all.

    Returns
    -------
    list of Path
        The pages written.
    """
    pages = results_pages(folder)
    for target, text in pages.items():
        with atomic_target(target) as partial:
            Path(partial).write_text(text)
    return list(pages)
