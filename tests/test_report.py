"""The report states exactly the numbers and verdicts the analyses compute, for each pair of variants."""

import numpy as np
import pytest

from cavitykit import analysis
from cavitykit.cli import main
from cavitykit.imp import run
from cavitykit.io import open_run
from cavitykit.report import VERDICTS
from cavitykit.variants import compared_pair
from tests.imp.tiny import tiny_config

# A tiny run whose dense networks learn features: the anchor's committee, online SGD, small initial weights.
LEARNING = {
    "network": {"init_scale": 0.1, "activation": "erf", "bias_init": "split", "parameterization": "mean_field"},
    "training": {"mode": "online", "optimizer": "sgd", "learning_rate": 0.5, "batch_size": 1, "steps": 6000},
    "data": {"xi": [1.0, 6.0]},
}


@pytest.fixture(scope="module")
def reported_run(tmp_path_factory):
    run_dir = run(tiny_config(**LEARNING), tmp_path_factory.mktemp("report"), progress=False)
    assert main(["report", str(run_dir)]) == 0
    return run_dir, (run_dir / "report" / "report.md").read_text()


def test_report_states_the_verdicts_and_numbers_of_the_analyses(reported_run):
    run_dir, report = reported_run
    ds = open_run(run_dir)
    pair = compared_pair(ds.variant.values)
    evidence = analysis.Evidence(ds, pair)
    localization = analysis.claim_localization(evidence)
    kurtosis = analysis.claim_kurtosis(evidence)
    cavity = analysis.claim_cavity(evidence, localization)
    assert bool(analysis.feature_learning(ds, pair).passed)
    assert not kurtosis.tested  # no random-pruning branch: the only control that can fail is missing
    expected = [localization.supported, None, cavity.supported, None]
    verdicts = report.split("## Verdicts")[1].split("\n## ")[0]
    for kind, verdict in zip(analysis.CLAIM_TYPES, expected, strict=True):
        assert f"- {kind.statement.format(label='NLGP')} {VERDICTS[verdict]}" in verdicts
        assert f"  - Criterion: {kind.criterion_text()}." in verdicts
    gap = localization.bump_gap.mean
    assert f"Bump share NLGP - clone {gap:+.2f}" in report
    assert f"n* = {localization.n_star:.0f} weights per unit" in report
    assert f"pruned - kept {cavity.specific.mean:+.2f}" in report
    counts = analysis.class_counts(analysis.unit_classes(ds)).sel(variant="nlgp").sum("replicate")
    assert "NLGP: " + ", ".join(f"{c} {int(counts.sel(unit_class=c))}" for c in counts.unit_class.values) in report
    errors = analysis.expansion_error(ds).sel(variant="nlgp").values
    assert "nlgp: " + ", ".join(f"{e:.1%}" for e in errors) in report


def test_the_weights_file_recomputes_claim_one_and_the_report(reported_run, tmp_path):
    from cavitykit.io.weights import open_weights, write_weights

    run_dir, report = reported_run
    path = write_weights(run_dir, tmp_path / "weights.nc")
    pair = ("nlgp", "gaussian_clone")
    full = analysis.claim_localization(analysis.Evidence(open_run(run_dir), pair))
    again = analysis.claim_localization(analysis.Evidence(open_weights(path), pair))
    assert again.n_star == full.n_star and again.supported == full.supported
    for side in ("model", "clone"):
        for name, value in getattr(full, side).items():
            assert getattr(again, side)[name].mean == pytest.approx(value.mean, rel=1e-4, abs=1e-6), (side, name)
    assert main(["report", str(path), "--out", str(tmp_path / "again")]) == 0
    verdicts = report.split("## Verdicts")[1].split("\n## ")[0]
    assert verdicts in (tmp_path / "again" / "report.md").read_text()
    # Re-judged in the folder that holds it, as a published report is: the weights file stays, a stale
    # figure goes.
    published = tmp_path / "published"
    published.mkdir()
    (published / "weights.nc").write_bytes(path.read_bytes())
    (published / "report.md").write_text("old\n")
    (published / "stale.png").write_bytes(b"png")
    assert main(["report", str(published / "weights.nc"), "--out", str(published)]) == 0
    assert (published / "weights.nc").read_bytes() == path.read_bytes() and not (published / "stale.png").exists()
    assert (published / "report.md").read_text() == (tmp_path / "again" / "report.md").read_text()


# Random features: a wide erf network from unit-scale weights classifies by barely moving them.
LAZY = {
    "network": {"activation": "erf", "bias_init": "split", "init_scale": 1.0, "width": 16},
    "training": {"mode": "online", "optimizer": "sgd", "learning_rate": 0.02, "batch_size": 1, "steps": 2000},
    "data": {"xi": [1.0, 6.0], "n_test": 1000},
    "imp": {"rounds": 2},
}


def verdict_lines(run_dir):
    report = (run_dir / "report" / "report.md").read_text()
    return report, report.split("## Verdicts")[1].split("\n## ")[0]


def test_a_report_on_networks_that_did_not_learn_features_judges_no_localization_or_cavity_claim(tmp_path):
    run_dir = run(tiny_config(**LAZY, replicates=2), tmp_path, progress=False)
    ds = open_run(run_dir)
    features = analysis.feature_learning(ds, ("nlgp", "gaussian_clone"))
    assert bool(features.learned_task) and not bool(features.passed)  # above chance, yet at its initialization
    assert main(["report", str(run_dir)]) == 0
    report, verdicts = verdict_lines(run_dir)
    # Still at their initialization: no unit formed a spatial field, so no claim about learned units is judged.
    assert verdicts.count(f"{VERDICTS[None]} (some network formed no spatial field in its dense round") == 4
    cosine = float(features.cosine.sel(variant="nlgp"))
    assert f"cosine(w, w0) = {cosine:.3f} (criterion <= 0.9)" in report
    assert "**did not learn features**" in report and "did not learn the task" not in report


def test_a_report_on_networks_at_chance_judges_no_claim_and_says_so_first(tmp_path):
    run_dir = run(tiny_config(), tmp_path, progress=False)  # 60 Adam steps: at chance on 200 test samples
    features = analysis.feature_learning(open_run(run_dir), ("nlgp", "gaussian_clone"))
    assert not bool(features.learned_task)
    assert main(["report", str(run_dir)]) == 0
    report, verdicts = verdict_lines(run_dir)
    assert report.index("**The dense networks did not learn the task**") < report.index("## Verdicts")
    assert f"0.5 + 3 standard errors = {float(features.chance):.3f}" in report
    assert verdicts.count(f"{VERDICTS[None]} (the dense networks classify at chance; see the feature check)") == 4


def test_a_dense_run_judges_no_claim(tmp_path):
    run_dir = run(
        tiny_config(**LEARNING, imp={"strategy": "dense"}, variants=["nlgp", "gaussian_clone"]),
        tmp_path,
        progress=False,
    )
    assert main(["report", str(run_dir)]) == 0
    verdicts = (run_dir / "report" / "report.md").read_text().split("## Verdicts")[1].split("\n## ")[0]
    assert verdicts.count("**not tested** (the run has one round: no pruning to judge)") == 4


def test_the_index_of_published_reports_states_each_weights_file_s_verdicts_and_numbers(reported_run, tmp_path):
    from cavitykit.io.weights import open_weights, write_weights
    from cavitykit.report.published import results_index

    run_dir, _ = reported_run
    folder = tmp_path / "results"
    assert main(["index", str(folder)]) == 2 and not folder.exists()  # nothing to index: nothing written
    path = write_weights(run_dir, folder / "tiny" / "weights.nc")
    with pytest.raises(ValueError, match=r"hold.* a weights\.nc but no report\.md; write it first: cavitykit report"):
        results_index(folder)
    assert main(["report", str(path), "--out", str(folder / "tiny"), "--quiet"]) == 0
    assert main(["index", str(folder)]) == 0
    index = (folder / "README.md").read_text()
    judged = analysis.judge(open_weights(path), ("nlgp", "gaussian_clone"), {})
    rows = [line for line in index.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 4 and all(row.replace("\\|", "").count("|") == 4 for row in rows)  # 3 cells each
    for row, claim in zip(rows, judged.claims.values(), strict=True):
        assert row.startswith(f"| {analysis.CLAIMS.index(claim.name) + 1} | {VERDICTS[claim.verdict]} |")
    localization = judged.claims["localization"]
    assert f"at n* = {localization.n_star:.0f} weights per learned unit" in rows[0]
    assert f"gap {localization.bump_gap.mean:+.2f}" in rows[0]
    assert "no random-pruning branch" in rows[1]  # claim 2 has numbers, and says why it has no verdict
    assert "with the configuration its report ends with" in index  # not a shipped preset


def test_report_writes_every_figure(reported_run):
    run_dir, report = reported_run
    for name in (
        "claims_by_round",
        "receptive_fields_nlgp",
        "receptive_fields_gaussian_clone",
        "cavity_delta_histograms",
        "exact_vs_expansion",
        "cumulant_spectra",
        "matched_survivors",
    ):
        assert (run_dir / "report" / f"{name}.png").stat().st_size > 10_000
        assert (run_dir / "report" / f"{name}.pdf").is_file()
        assert f"![{name}]({name}.png)" in report


@pytest.mark.slow
def test_two_dimensional_run_has_pixel_coordinates_and_reports(tmp_path):
    config = tiny_config(data={"L": 5, "dim": 2, "xi": [0.5, 2.0]}, imp={"rounds": 2}, analysis={"n_heldout": 200})
    run_dir = run(config, tmp_path, progress=False)
    ds = open_run(run_dir)
    np.testing.assert_array_equal(ds.x.values, np.tile(np.arange(5), 5))
    np.testing.assert_array_equal(ds.y.values, np.repeat(np.arange(5), 5))
    assert analysis.grid_shape(ds) == (5, 5)
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "report" / "receptive_fields_nlgp.png").stat().st_size > 10_000
    assert "![receptive_field_maps](receptive_field_maps.png)" in (run_dir / "report" / "report.md").read_text()
    local = analysis.localization(ds)
    assert local.rf_centre.sizes["axis"] == 2 and list(local.rf_centre.axis.values) == ["y", "x"]


@pytest.mark.slow
def test_ising_run_reports_ising_against_its_clone(tmp_path, capsys):
    config = tiny_config(variants=["ising", "ising_clone"], imp={"rounds": 2})
    run_dir = run(config, tmp_path, progress=False)
    assert main(["report", str(run_dir), "--variant", "nlgp"]) == 2
    assert "variant='nlgp' needs nlgp and gaussian_clone" in capsys.readouterr().err
    assert main(["report", str(run_dir)]) == 0
    report = (run_dir / "report" / "report.md").read_text()
    assert "IMP localizes on Ising, not on its Gaussian clone" in report
    assert "- Ising: bump " in report  # its unit classes, named by its own label
    assert (run_dir / "report" / "receptive_fields_ising_clone.png").stat().st_size > 10_000
    assert list(open_run(run_dir).variant.values) == ["ising", "ising_clone"]


def test_report_shows_progress_unless_quiet(reported_run, capsys):
    run_dir, _ = reported_run
    capsys.readouterr()
    assert main(["report", str(run_dir)]) == 0
    assert "figures:" in capsys.readouterr().err
    assert main(["report", str(run_dir), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_an_interrupted_report_leaves_the_previous_one_intact(reported_run, monkeypatch):
    from matplotlib.figure import Figure

    run_dir, _ = reported_run
    before = {path.name: path.read_bytes() for path in (run_dir / "report").iterdir()}
    calls = []

    def interrupted(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # after two files of the new report
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    original = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", interrupted)
    assert main(["report", str(run_dir), "--quiet"]) == 130
    assert {path.name: path.read_bytes() for path in (run_dir / "report").iterdir()} == before
    assert not list(run_dir.glob(".report*"))


def test_a_report_elsewhere_writes_nothing_into_the_run(reported_run, tmp_path, capsys):
    run_dir, report = reported_run
    before = sorted(p.relative_to(run_dir) for p in run_dir.rglob("*"))
    spectra = run_dir / "cumulants.nc"
    spectra.rename(tmp_path / "kept.nc")  # the spectra must be computed again, and not kept in the run
    try:
        assert main(["report", str(run_dir), "--out", str(tmp_path / "copy"), "--quiet"]) == 0
        assert not spectra.exists()
    finally:
        (tmp_path / "kept.nc").rename(spectra)
    assert sorted(p.relative_to(run_dir) for p in run_dir.rglob("*")) == before
    assert (tmp_path / "copy" / "report.md").read_text() == report
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "mine.txt").write_text("keep me")
    assert main(["report", str(run_dir), "--out", str(tmp_path / "notes")]) == 2
    assert "is not a report folder" in capsys.readouterr().err
    assert (tmp_path / "notes" / "mine.txt").read_text() == "keep me"


def test_a_partial_run_is_reported_honestly_and_refreshed_after_resuming(tmp_path, monkeypatch):
    """Interrupt a run, report it, resume it, report again: the stale spectra are recomputed and every
    round shows; a report that fails writes no spectra."""
    from matplotlib.figure import Figure

    config = tiny_config(analysis={"cavity": False, "n_heldout": 400})
    run_dir = run(config, tmp_path, progress=False)
    for path in run_dir.glob("gaussian_clone/replicate_00/round_00[23].nc"):
        path.unlink()
    ds = open_run(run_dir)
    assert ds["mask"].dtype == bool and ds.pruned_next.dtype == bool  # missing rounds read False, not NaN
    assert not ds["mask"].sel(variant="gaussian_clone", round=3).any()

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(Figure, "savefig", broken)
        assert main(["report", str(run_dir), "--quiet"]) != 0
    assert not (run_dir / "cumulants.nc").exists() and not (run_dir / "report").exists()

    assert main(["report", str(run_dir), "--quiet"]) == 0
    report = (run_dir / "report" / "report.md").read_text()
    assert "**A partial run.**" in report and "- IMP, Gaussian clone replicate 0: rounds 2, 3." in report
    assert report.index("**A partial run.**") < report.index("## Verdicts")

    run(config, tmp_path, progress=False)  # resume: rounds 2 and 3 of the clone
    with pytest.warns(UserWarning, match=r"cumulants.nc' is stale \(it was computed for rounds"):
        assert main(["report", str(run_dir), "--quiet"]) == 0
    assert "partial run" not in (run_dir / "report" / "report.md").read_text()
    spectra = open_run(run_dir, cumulants=True).preact_cumulant.sel(order=4)
    assert bool(spectra.notnull().any(("sample_set", "neuron")).all())  # every member, every round


def test_spectra_of_too_few_orders_are_recomputed_and_stale_ones_refused(tmp_path):
    run_dir = run(tiny_config(imp={"rounds": 2}, analysis={"cavity": False}), tmp_path, progress=False)
    assert main(["cumulants", str(run_dir), "--max-order", "4", "--quiet"]) == 0
    with pytest.warns(UserWarning, match="holds orders up to 4, not 8"):
        assert main(["report", str(run_dir), "--quiet"]) == 0
    assert int(open_run(run_dir, cumulants=True)["order"].max()) == 8
    (run_dir / "nlgp" / "replicate_00" / "round_001.nc").unlink()
    with pytest.raises(ValueError, match="is stale: it was computed for rounds"):
        open_run(run_dir, cumulants=True)


def test_a_stored_sweep_gives_its_tables_and_where_each_claim_holds(tmp_path):
    import xarray as xr

    from cavitykit.io import read_sweep_verdicts, write_sweep_verdicts
    from cavitykit.report.published import sweep_tables, sweeps_index
    from cavitykit.testing import example_run
    from tests.analysis.test_verdicts import PAIR, hand_made_run

    random = {"random": hand_made_run(kurtosis_rise=(0.1, 0.0), seed=1)}
    rows = [  # gain 1: bumps against extended fields; gain 10: bumps on both sides, claim 1 fails
        analysis.point_verdicts(hand_made_run(), PAIR, random),
        analysis.point_verdicts(hand_made_run(("bump", "bump")), PAIR, random),
    ]
    verdicts = xr.Dataset({key: ("gain", [row[key] for row in rows]) for key in rows[0]}, coords={"gain": [1.0, 10.0]})
    config = open_run(example_run()).attrs["config"]
    verdicts.attrs = {"sweep": "gain", "swept": ["data.gain"], "pair": list(PAIR), "config": config}
    path = write_sweep_verdicts(tmp_path / "sweeps" / "demo" / "gain.nc", verdicts)
    stored = read_sweep_verdicts(path)
    assert stored.attrs["swept"] == ["data.gain"]
    index = sweeps_index(tmp_path / "sweeps")
    assert "| 1.0 | **yes** | **yes** | not tested | not tested |" in index
    assert "| 10.0 | no | **yes** | not tested | not tested |" in index
    assert "- Claim 1 is supported at gain = 1.0." in index and "- Claim 3 is supported at no gain." in index
    tables = sweep_tables(stored)
    assert f"| 1.0 | 2.0 / 2.0 | {rows[0]['n_star']:.0f} | 1.00 [1.00, 1.00] | 0.00 [0.00, 0.00] |" in tables
    with pytest.raises(ValueError, match="holds no stored sweep"):
        sweeps_index(tmp_path)


def test_the_lottery_ticket_section_states_each_branch_s_accuracy_and_where_it_leaves_the_dense_value(tmp_path):
    config = tiny_config(**LEARNING, imp={"rounds": 3, "controls": ["reinit", "random"]})
    run_dir = run(config, tmp_path, progress=False)
    assert main(["report", str(run_dir), "--out", str(tmp_path / "report"), "--quiet"]) == 0
    text = (tmp_path / "report" / "report.md").read_text()
    assert (tmp_path / "report" / "lottery_ticket.png").is_file()
    section = text.split("## The lottery ticket: IMP against random re-initialisation of its masks")[1].split("\n## ")[
        0
    ]
    ds, reinit = open_run(run_dir), open_run(run_dir, control="reinit")
    for r in (1, 2):
        left = 1 - float(ds.sparsity.sel(variant="nlgp", round=r).mean())
        imp = float(ds.test_accuracy.sel(variant="nlgp", round=r).mean())
        again = float(reinit.test_accuracy.sel(variant="nlgp", round=r).mean())
        assert f"r{r} ({left:.1%} left): {imp:.3f}" in section and f" / {again:.3f}" in section


def test_the_lottery_ticket_finds_where_each_branch_leaves_the_dense_accuracy():
    import xarray as xr

    def branch(accuracies):
        values = np.array(accuracies)[None, None, :]  # (variant, replicate, round)
        sparsity = np.array([0.0, 0.5, 0.75])[None, None, :]
        dims = ("variant", "replicate", "round")
        return xr.Dataset(
            {"test_accuracy": (dims, values), "sparsity": (dims, sparsity)},
            coords={"variant": ["nlgp"], "round": [0, 1, 2]},
        )

    run_ = branch([0.90, 0.89, 0.80])  # within 0.03 at round 1, out at round 2
    lottery = analysis.lottery_ticket(run_, {"reinit": branch([0.90, 0.85, 0.70])}, "nlgp", drop=0.03)
    assert lottery.leaves_at.values.tolist() == [2, 1]
    assert lottery.weights_left.sel(branch="imp").values.tolist() == [1.0, 0.5, 0.25]
    assert analysis.lottery_ticket(run_, {"random": run_}, "nlgp", drop=0.03) is None
