"""Cumulant spectra of a run's pre-activations against k-statistics computed by hand on the same samples."""

import numpy as np
import pytest

import cavitykit
from cavitykit.cli import main
from cavitykit.config import load_config
from cavitykit.imp import run
from cavitykit.io import open_run
from cavitykit.spectra import preactivation_cumulants
from cavitykit.variants import VARIANT_INDEX, Stream, data_models, seed
from tests.imp.tiny import tiny_config


@pytest.fixture(scope="module")
def tiny_run_dir(tmp_path_factory):
    return run(tiny_config(), tmp_path_factory.mktemp("spectra"), progress=False)


def by_hand(one, inputs, max_order):
    """k-statistics (order, neuron) of one round's pre-activations, written out without the toolkit's helpers."""
    pre = inputs @ one.weight.values.T / np.sqrt(inputs.shape[1]) + one.bias.values
    return cavitykit.kstats(pre, max_order)


def test_regenerated_samples_reproduce_by_hand(tiny_run_dir):
    result = preactivation_cumulants(tiny_run_dir, max_order=6)
    config = load_config(tiny_run_dir / "config.toml")
    rng = np.random.default_rng(seed(config.seed, 0, Stream.CUMULANTS, VARIANT_INDEX["gaussian_clone"]))
    class_0, class_1 = (
        m.sample(config.analysis.n_heldout, rng).astype(np.float64) for m in data_models("gaussian_clone", config.data)
    )
    one = open_run(tiny_run_dir).sel(variant="gaussian_clone", replicate=0, round=2)
    alive = one["mask"].values.any(axis=1)
    expected = by_hand(one, class_1, 6)
    got = result.sel(variant="gaussian_clone", replicate=0, round=2, sample_set="class_1")
    np.testing.assert_allclose(got.preact_kstat.values.T[:, alive], expected[:, alive], rtol=1e-9)
    orders = np.arange(1, 7)[:, None]
    np.testing.assert_allclose(
        got.preact_cumulant.values.T[2:, alive], (expected / expected[1] ** (orders / 2))[2:, alive], rtol=1e-9
    )
    assert not np.allclose(by_hand(one, class_0, 6)[:, alive], expected[:, alive])  # the two classes differ
    assert np.isnan(got.preact_kstat.values[~alive]).all()
    assert result.preact_kstat.dims[-1] == "order" and result.sizes["sample_set"] == 2


def test_user_samples_from_a_file(tiny_run_dir):
    samples = np.random.default_rng(0).standard_normal((500, 12))
    np.save(tiny_run_dir / "samples.npy", samples)
    user = preactivation_cumulants(tiny_run_dir, max_order=4, samples=tiny_run_dir / "samples.npy")
    one = open_run(tiny_run_dir).sel(variant="nlgp", replicate=0, round=2)
    alive = one["mask"].values.any(axis=1)
    got = user.preact_kstat.sel(variant="nlgp", replicate=0, round=2, sample_set="file").values.T
    np.testing.assert_allclose(got[:, alive], by_hand(one, samples, 4)[:, alive], rtol=1e-10)
    se = user.preact_kstat_se.values
    assert np.all(se[np.isfinite(se)] > 0)
    assert open_run(tiny_run_dir).sizes["order"] == 4  # merged into the run from now on


def test_cumulants_cli_errors(tiny_run_dir, tmp_path, capsys):
    assert main(["cumulants", str(tmp_path)]) == 2
    assert "no config.toml" in capsys.readouterr().err
    np.save(tmp_path / "wrong.npy", np.zeros((10, 5)))
    assert main(["cumulants", str(tiny_run_dir), "--samples", str(tmp_path / "wrong.npy")]) == 2
    assert "samples must be numeric of shape (P, 12)" in capsys.readouterr().err
    assert main(["cumulants", str(tiny_run_dir), "--max-order", "9"]) == 2
    assert "max_order" in capsys.readouterr().err
