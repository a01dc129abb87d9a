"""Sweeps: grid expansion, errors, and a real LocalCluster run equal to direct runs."""

import numpy as np
import pytest

from cavitykit.imp import run
from cavitykit.io import open_run
from cavitykit.sweep import load_sweep, run_sweep
from tests.imp.tiny import tiny_config


@pytest.fixture
def sweep_file(tmp_path):
    base = tiny_config(variants=["nlgp"], imp={"rounds": 2}, analysis={"cavity": False, "n_heldout": 100})
    (tmp_path / "tiny.toml").write_text(base.to_toml())
    path = tmp_path / "scan.toml"
    path.write_text(
        'name = "scan"\nbase_file = "tiny.toml"\n[grid]\n"data.gain" = [1.0, 10.0]\n"imp.prune_fraction" = [0.2, 0.5]\n'
    )
    return path


def test_grid_expands_to_the_cartesian_product(sweep_file):
    name, configs, points = load_sweep(sweep_file)
    assert name == "scan" and len(configs) == 4
    assert [(c.data.gain, c.imp.prune_fraction) for c in configs] == [(1.0, 0.2), (1.0, 0.5), (10.0, 0.2), (10.0, 0.5)]
    assert points[3] == {"data.gain": 10.0, "imp.prune_fraction": 0.5}
    assert len({c.hash for c in configs}) == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('base = "quick"\nbase_file = "x.toml"\n[grid]\n"data.gain" = [1.0]\n', "exactly one of base"),
        ('base = "quick"\ncolour = 1\n[grid]\n"data.gain" = [1.0]\n', "unknown sweep key"),
        ('base = "quick"\n[grid]\n"data.colour" = [1.0]\n', "unknown config key 'colour'"),
        ('base = "quick"\n[grid]\n"imp.prune_fraction" = [1.5]\n', r"imp.prune_fraction must be in \(0, 1\)"),
        ('base = "quick"\n[grid]\n"data.gain" = []\n', "non-empty lists"),
    ],
)
def test_bad_sweeps_are_named(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_sweep(tmp_path / "bad.toml")


@pytest.mark.slow
def test_sweep_on_a_local_cluster_matches_direct_runs(sweep_file, tmp_path):
    run_dirs = run_sweep(sweep_file, tmp_path / "out", workers=2)
    assert len(run_dirs) == 4 and (tmp_path / "out" / "scan-sweep.toml").is_file()
    _, configs, _ = load_sweep(sweep_file)
    direct = open_run(run(configs[3], tmp_path / "direct", progress=False))
    swept = open_run(run_dirs[3])
    np.testing.assert_array_equal(swept["mask"].values, direct["mask"].values)
    np.testing.assert_allclose(swept.weight.values, direct.weight.values, rtol=1e-5, atol=1e-6)
