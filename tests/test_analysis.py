"""Analyses on constructed run data whose answers are known, and the report on a tiny run."""

import numpy as np
import pytest
import xarray as xr

from cavitykit import analysis
from cavitykit.cli import main
from cavitykit.imp import run
from cavitykit.io import open_run
from cavitykit.spectra import preactivation_cumulants
from cavitykit.variants import compared_pair
from tests.imp.tiny import tiny_config


def constructed_run():
    """One variant, replicate and round; unit 0 has 4 weights, 2 pruned next; known cavity effects."""
    mask = np.array([[True, True, True, True, False, False]])
    pruned = np.array([[True, True, False, False, False, False]])
    delta = np.array([[[-0.1, -0.2, 0.3, 0.1, np.nan, np.nan]]])  # one class
    dims = ("variant", "replicate", "round")
    return xr.Dataset(
        {
            "mask": ((*dims, "neuron", "input"), mask[None, None, None]),
            "pruned_next": ((*dims, "neuron", "input"), pruned[None, None, None]),
            "cavity_exact": ((*dims, "label", "neuron", "input"), delta[None, None, None]),
            "preact_excess_kurtosis": ((*dims, "label", "neuron"), np.full((1, 1, 1, 1, 1), -0.5)),
        },
        coords={"variant": ["nlgp"], "replicate": [0], "round": [0], "label": [0], "neuron": [0], "input": range(6)},
    )


def test_cavity_groups_on_a_constructed_run():
    groups = analysis.cavity_groups(constructed_run()).sel(variant="nlgp", round=0)
    # kurtosis -0.5: a negative delta raises |kurtosis|; both pruned weights do, neither kept one.
    assert float(groups.fraction_raising_pruned) == 1.0
    assert float(groups.fraction_raising_kept) == 0.0
    assert int(groups.count_random) == 2
    assert float(groups.mean_delta_pruned) == pytest.approx(-0.15)


@pytest.fixture(scope="module")
def tiny_run_dir(tmp_path_factory):
    return run(tiny_config(), tmp_path_factory.mktemp("analysis"), progress=False)


def test_cumulants_match_direct_kstats(tiny_run_dir):
    import cavitykit
    from cavitykit.data import NLGP

    result = preactivation_cumulants(tiny_run_dir, max_order=6)
    ds = open_run(tiny_run_dir)
    assert ds.preact_cumulant.dims[-1] == "order" and ds.sizes["order"] == 6
    one = ds.sel(variant="nlgp", replicate=0, round=2)
    samples = np.random.default_rng(0).standard_normal((500, 12))  # a user file reproduces by hand
    np.save(tiny_run_dir / "samples.npy", samples)
    user = preactivation_cumulants(tiny_run_dir, max_order=4, samples=tiny_run_dir / "samples.npy")
    pre = samples @ one.weight.values.T / np.sqrt(12) + one.bias.values
    expected = cavitykit.kstats(pre, 4)
    got = user.preact_kstat.sel(variant="nlgp", replicate=0, round=2, sample_set="file").values.T
    alive = one["mask"].values.any(axis=1)
    np.testing.assert_allclose(got[:, alive], expected[:, alive], rtol=1e-10)
    assert np.all(user.preact_kstat_se.values[np.isfinite(user.preact_kstat_se.values)] >= 0)
    assert NLGP and result.sizes["sample_set"] == 2


def test_report_writes_figures_and_verdicts(tiny_run_dir, capsys):
    assert main(["report", str(tiny_run_dir)]) == 0
    report = (tiny_run_dir / "report" / "report.md").read_text()
    for claim in ("1. Non-Gaussian", "2. IMP raises", "3. The weights IMP prunes"):
        assert claim in report
    verdicts = report.split("## Verdicts")[1].split("## 1.")[0]
    assert verdicts.count("**supported**") + verdicts.count("**not supported at this size**") == 2
    # One replicate gives the growth of claim 2 no error bar to be judged against.
    assert "across rounds. **not tested**" in verdicts
    assert "by receptive-field contiguity" in verdicts
    for name in ("localization_and_kurtosis", "receptive_fields_nlgp", "cavity_delta_histograms", "cumulant_spectra"):
        assert (tiny_run_dir / "report" / f"{name}.png").stat().st_size > 10_000
        assert (tiny_run_dir / "report" / f"{name}.pdf").is_file()


def test_cumulants_cli_errors(tiny_run_dir, tmp_path, capsys):
    assert main(["cumulants", str(tmp_path)]) == 2
    assert "no config.toml" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((10, 5)))
    assert main(["cumulants", str(tiny_run_dir), "--samples", str(tmp_path / "wrong.npy")]) == 2
    assert "samples must be numeric of shape (P, 12)" in capsys.readouterr().err
    assert main(["cumulants", str(tiny_run_dir), "--max-order", "9"]) == 2


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


def test_compared_pair_prefers_nlgp_and_names_what_is_missing():
    assert compared_pair(["ising", "ising_clone", "nlgp", "gaussian_clone"]) == ("nlgp", "gaussian_clone")
    assert compared_pair(["ising_clone", "ising", "nlgp"]) == ("ising", "ising_clone")
    assert compared_pair(["nlgp", "gaussian_clone", "ising", "ising_clone"], "ising") == ("ising", "ising_clone")
    with pytest.raises(ValueError, match=r"compares a model with its clone.*this run has \['nlgp'\]"):
        compared_pair(["nlgp"])
    with pytest.raises(ValueError, match="variant='ising' needs ising and ising_clone"):
        compared_pair(["nlgp", "gaussian_clone"], "ising")
    with pytest.raises(ValueError, match="variant must be one of"):
        compared_pair(["nlgp", "gaussian_clone"], "gaussian_clone")


@pytest.mark.slow
def test_ising_run_reports_ising_against_its_clone(tmp_path, capsys):
    config = tiny_config(variants=["ising", "ising_clone"], imp={"rounds": 2})
    run_dir = run(config, tmp_path, progress=False)
    assert main(["report", str(run_dir), "--variant", "nlgp"]) == 2
    assert "variant='nlgp' needs nlgp and gaussian_clone" in capsys.readouterr().err
    assert main(["report", str(run_dir)]) == 0
    report = (run_dir / "report" / "report.md").read_text()
    assert "IMP localizes on Ising, not on its Gaussian clone" in report
    assert "Ising mean |excess kurtosis|" in report
    assert (run_dir / "report" / "receptive_fields_ising_clone.png").stat().st_size > 10_000
    assert list(open_run(run_dir).variant.values) == ["ising", "ising_clone"]
