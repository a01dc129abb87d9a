"""The index of a folder of published reports, ``README.md``, written from the weights files alone.

Each subfolder that holds a ``weights.nc`` (``cavitykit.io.write_weights``) gets a section: the command
that makes the run again, what the run is (from its stored configuration), the dense networks' accuracy,
each claim's verdict with the numbers its criterion reads, and on images Pellegrini and Biroli's measure at
distance 1.  Every number is computed here from the weights file, as ``cavitykit report`` computes it,
so the index cannot drift from the reports beside it: ``cavitykit index FOLDER`` rewrites it, and a test
of the project compares the committed one with what the files give today.
"""

from __future__ import annotations

from pathlib import Path

from cavitykit import analysis
from cavitykit.analysis.claims import Cavity, Interval, Iterative, Kurtosis, Localization
from cavitykit.branches import BRANCHES, CONTROLS
from cavitykit.config import RunConfig, config_from_dict, load_preset, presets
from cavitykit.io import atomic_target, open_weights, run_config, weights_controls
from cavitykit.report.markdown import VERDICTS, _ci
from cavitykit.variants import LABELS, compared_pair, label

WEIGHTS_FILE = "weights.nc"
INDEX_FILE = "README.md"
# Where hand-written notes beside the index live, when a folder has them.
NOTES_FILE = "notes.md"


def _command(config: RunConfig) -> str:
    """The command that makes the run again: its preset's when the run is the preset as shipped (the same
    identity), else one of the configuration its report ends with."""
    if config.name in presets() and load_preset(config.name).identity == config.identity:
        return f"`cavitykit run --preset {config.name} --out results --report`"
    return f"`cavitykit run {config.name}.toml --out results --report`, with the configuration its report ends with"


def _data(config: RunConfig) -> str:
    data = config.data
    if data.source == "synthetic":
        grid = f"a ring of {data.L} pixels" if data.dim == 1 else f"a {data.L} x {data.L} torus"
        return f"{grid}, correlation lengths xi = {', '.join(f'{x:g}' for x in data.xi)}, gain g = {data.gain:g}"
    shape = " x ".join(str(side) for side in data.shape) if data.shape else "stored-size"
    if data.source == "photos":
        groups = " against ".join(" + ".join(group) for group in data.classes)
        return f"{shape} patches of photographs ({groups})"
    return f"{shape} images from {Path(data.path).name}"


def _what(config: RunConfig) -> str:
    """What the run is, in one sentence, from its stored configuration."""
    imp, network = config.imp, config.network
    variants = " and ".join(label(v) for v in config.variants)
    training = config.training
    rounds = (
        "the dense round only"
        if imp.rounds == 1
        else f"{imp.rounds} rounds (the dense one and {imp.rounds - 1} prunings of {imp.prune_fraction:.0%})"
    )
    controls = ", ".join(BRANCHES[name].label for name in imp.controls if name in CONTROLS)
    return (
        f"{variants[0].upper()}{variants[1:]} on {_data(config)}; {network.width} hidden units "
        f"({network.activation}); {training.steps} {training.optimizer} steps of batch {training.batch_size} "
        f"per round; {rounds}; "
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
    config = config_from_dict(run_config(ds))
    pair = compared_pair(ds.variant.values)
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
        clone = _ci(_interval_at_one(ds, pair[1]))
        lines += [
            "",
            f"Surviving connections at distance 1 over random placement, last round ({model}): {ratios}; "
            f"IMP on the clone {clone}.",
        ]
    return lines


def _interval_at_one(branch, variant: str) -> Interval:
    """Pellegrini and Biroli's ratio at distance 1, last round, over replicates."""
    ratio = analysis.connection_distance_ratio(branch).sel(variant=variant).isel(distance=0)
    return Interval.over_replicates(ratio)


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
    reports = sorted(path.parent for path in folder.glob(f"*/{WEIGHTS_FILE}"))
    if not reports:
        raise ValueError(f"folder {str(folder)!r} holds no report folder with a {WEIGHTS_FILE}")
    lines = [
        "# Published reports",
        "",
        "Generated by `cavitykit index " + folder.as_posix() + "` from the weights files below; do not edit.",
        "",
        "Each folder holds a run's `weights.nc`: every round's first-layer weights, masks, pruning, biases,",
        "readouts and pre-activation statistics, for the run and its control branches, in float32, and the",
        "`report.md` and figures that `cavitykit report FOLDER/weights.nc --out FOLDER` writes from it alone,",
        "with no run directory and no data file. Every number on this page is computed from the same files",
        "(`cavitykit.report.published`); the criteria are in [the report's guide](../report.md), intervals are",
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


def write_results_index(folder) -> Path:
    """Write ``results_index(folder)`` to ``FOLDER/README.md`` (whole, or not at all).

    Returns
    -------
    Path
        The index file.
    """
    text = results_index(folder)
    target = Path(folder) / INDEX_FILE
    with atomic_target(target) as partial:
        Path(partial).write_text(text)
    return target
