"""``cavitykit report RUN``: the claims judged from the data, the numbers beside them and the figures,
written with ``report.md`` (formatted by ``cavitykit.report.markdown``)."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm import tqdm

from cavitykit import analysis, metrics
from cavitykit.branches import BRANCHES
from cavitykit.config import stored_config
from cavitykit.io import (
    CUMULANT_VARIABLES,
    CUMULANTS_FILE,
    atomic_directory,
    current_cumulants,
    open_run,
    open_weights,
    run_config,
    run_controls,
    weights_controls,
    with_cumulants,
    write_dataset,
)
from cavitykit.io.weights import SPECTRA_ORDER
from cavitykit.report.markdown import NoField, ReportText, report_markdown
from cavitykit.variants import LABELS, compared_variants, label


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
    # a folder that holds nothing, a report, or only the weights file being reported
    foreign = out.is_file() or (out.is_dir() and any(path.resolve() != run_dir.resolve() for path in out.iterdir()))
    if out.exists() and not (out / "report.md").is_file() and foreign:
        raise ValueError(f"out {str(out)!r} exists and is not a report folder (no report.md): choose another")
    keep = None  # the spectra to store beside the run once the report is written
    if from_file:
        ds = open_weights(run_dir)
        controls = {name: open_weights(run_dir, control=name) for name in weights_controls(run_dir)}
        if "preact_cumulant" in ds:  # kept by the weights file: no data file needed
            spectra = ds[list(CUMULANT_VARIABLES)]
        else:
            spectra = preactivation_cumulants(run_dir, max_order=SPECTRA_ORDER, run=ds, progress=progress)
    else:
        ds = open_run(run_dir)
        controls = {name: open_run(run_dir, control=name) for name in run_controls(run_dir)}
        spectra, why = current_cumulants(run_dir / CUMULANTS_FILE, ds, max_order=SPECTRA_ORDER)
        if why:
            warnings.warn(f"{why}; recomputing the cumulant spectra", stacklevel=2)
        if spectra is None:
            spectra = preactivation_cumulants(run_dir, max_order=SPECTRA_ORDER, run=ds, progress=progress)
            if out.resolve().parent == run_dir.resolve():
                keep = run_dir / CUMULANTS_FILE
    ds = with_cumulants(ds, spectra)
    pair = compared_variants(ds.variant.values, variant)
    summary = analysis.round_summary(ds)
    judged = analysis.judge(ds, pair, controls)
    evidence = judged.evidence
    measures = {"imp": evidence.measures} | {name: evidence.branch_measures(name) for name in controls}
    with_clone = len(pair) == 2  # a model alone (no clone) judges no claim: no claim's figures
    figures = {
        **(
            {"claims_by_round": plot.claims_by_round(analysis.learned_trajectories(ds, controls, pair, measures), pair)}
            if with_clone
            else {}
        ),
        **{f"receptive_fields_{name}": plot.receptive_fields(ds, name) for name in pair},
        "cumulant_spectra": plot.cumulant_spectra(ds),
    }
    if "y" in ds.coords and with_clone:  # a torus or an image: each unit's map, first and last round, beside the clone
        figures["receptive_field_maps"] = plot.receptive_field_maps(ds, pair)
    distances = {}  # line name -> {distance: ratio} at the first distances, for the text
    if not analysis.periodic_grid(ds):  # on images, Pellegrini and Biroli's measure of the survivors
        model = pair[0]
        imp = analysis.connection_distance_ratio(ds)
        ratios = {f"IMP, {label(variant)}": (variant, imp) for variant in pair}
        for name, branch in controls.items():
            ratios[f"{BRANCHES[name].label}, {label(model)}"] = (model, analysis.connection_distance_ratio(branch))
        figures["connection_distances"] = plot.connection_distances(ratios)
        distances = {
            name: analysis.replicate_interval(ratio.sel(variant=variant).isel(distance=slice(0, 4)))
            for name, (variant, ratio) in ratios.items()
        }
    if judged.reason is None:
        localization, cavity = judged.claims["localization"], judged.claims["cavity"]
        figures["matched_survivors"] = plot.matched_survivors(localization.curve, localization.n_star)
        if cavity.tested:
            figures["cavity_delta_histograms"] = plot.delta_histograms(ds)
            if "cavity_expansion" in ds:
                figures["exact_vs_expansion"] = plot.exact_vs_expansion(ds, pair[0], errors=cavity.expansion_error)
    lottery = analysis.lottery_ticket(ds, controls, pair[0], drop=analysis.ACCURACY_DROP)
    if lottery is not None:
        figures["lottery_ticket"] = plot.lottery_ticket(lottery, pair[0])
    snapshots = None
    if "snapshot_weight" in ds:
        snapshots = analysis.snapshot_summary(ds)
        figures["training_time"] = plot.training_time(snapshots, pair)
        if "y" in ds.coords:
            last = float(ds["time"].max())
            times = [t for t in (1e2, 1e3, 1e4) if t <= last] or [last]
            figures["receptive_fields_over_time"] = plot.receptive_fields_over_time(ds, pair, times)
    counts = ds.attrs.get("data_heldout_counts", "").split()
    text = ReportText(
        name=run_name(ds),
        pair=pair,
        judged=judged,
        summary=summary,
        top_null=evidence.measures.null_top.mean(("replicate", "neuron")),
        correlation=analysis.kurtosis_ipr_correlation(ds),
        class_counts=analysis.class_counts(judged.classes),
        no_field=_no_field(ds, judged.classes, judged.features),
        snapshots=snapshots,
        lottery=lottery,
        missing=_missing_rounds(ds, controls),
        distances=distances,
        heldout=([int(count) for count in counts], int(run_config(ds)["analysis"]["n_heldout"])),
        periodic=analysis.periodic_grid(ds),
        figures=list(figures),
        # as this version reads the config: only its source's data keys
        config=stored_config(run_config(ds)).to_toml(),
    )
    with atomic_directory(out) as folder:
        for kept in _not_the_report(out):  # the same files, in the folder that replaces this one
            shutil.copytree(kept, folder / kept.name) if kept.is_dir() else os.link(kept, folder / kept.name)
        for name, figure in tqdm(figures.items(), desc="figures", unit="figure", leave=False, disable=not progress):
            for suffix in ("png", "pdf"):
                figure.savefig(folder / f"{name}.{suffix}", dpi=130, format=suffix)
        (folder / "report.md").write_text(report_markdown(text))
    if keep is not None:
        write_dataset(keep, spectra)
    return out / "report.md"


def _no_field(ds: xr.Dataset, classes: xr.DataArray, features: xr.Dataset) -> dict[str, NoField]:
    """Per variant whose every unit is noise-like, why it has no learned field and what would give it one:
    the white-noise threshold of the low-frequency criterion on this grid against the dense fields' shares."""
    shape = analysis.grid_shape(ds)
    mean, threshold = metrics.noise_low_frequency_share(shape)
    out = {}
    for variant in classes.variant.values:
        if bool((classes.sel(variant=variant) != "noise").any()):
            continue
        dense = ds.weight.sel(variant=variant).isel(round=0).values.reshape(-1, ds.sizes["input"])
        shares = metrics.low_frequency_share(dense[(dense != 0).any(axis=-1)], shape)
        out[str(variant)] = NoField(
            grid=tuple(shape),
            threshold=threshold,
            noise_mean=mean,
            median=float(np.median(shares)),
            largest=float(np.max(shares)),
            larger={
                side: metrics.noise_low_frequency_share((side, side))[1]
                for side in (16, 28)
                if side * side > np.prod(shape)
            },
            cosine=float(features.cosine.sel(variant=variant)),
        )
    return out


def _not_the_report(out: Path) -> list[Path]:
    """The files of an existing report folder that the report does not write (a weights file, notes)."""
    if not out.is_dir():
        return []
    return [path for path in out.iterdir() if path.name != "report.md" and path.suffix not in (".png", ".pdf")]


def _missing_rounds(ds: xr.Dataset, controls: dict[str, xr.Dataset]) -> list[str]:
    """Lines that say which rounds of the run and its branches are not written yet (none when complete)."""
    config = stored_config(run_config(ds))
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


def run_name(ds) -> str:
    """The run's id in the report's title, as its folder is named: ``<name>-<identity[:12]>``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> run_name(open_run(example_run()))
    'example-...'
    """
    config = stored_config(run_config(ds))
    return f"{config.name}-{config.identity[:12]}"
