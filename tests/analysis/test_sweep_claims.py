"""The claims over a sweep's grid: every finished point judged as its own run, unfinished points NaN."""

import shutil

import numpy as np
import pytest

from cavitykit import analysis
from cavitykit.io import open_run, write_sweep_index
from cavitykit.testing import example_run

PAIR = ("nlgp", "gaussian_clone")


def test_sweep_verdicts_judge_each_point_as_its_run(tmp_path):
    points = [{"data.gain": g, "imp.prune_fraction": f} for g in (1.0, 10.0) for f in (0.2, 0.5)]
    run_dirs = [tmp_path / f"demo-{i}" for i in range(len(points))]
    for run_dir in run_dirs[:3]:  # the fourth point has not started
        shutil.copytree(example_run(), run_dir)
    write_sweep_index(tmp_path, "demo", run_dirs, points)
    verdicts = analysis.sweep_verdicts(tmp_path)
    assert dict(verdicts.sizes) == {"gain": 2, "prune_fraction": 2}
    assert verdicts.attrs["pair"] == list(PAIR) and verdicts.attrs["swept"] == ["data.gain", "imp.prune_fraction"]
    expected = analysis.point_verdicts(open_run(example_run()), PAIR, {})
    for name, value in expected.items():
        finished = verdicts[name].values.ravel()[:3]
        if name == "reason":
            assert finished.tolist() == [value] * 3
            continue
        np.testing.assert_array_equal(finished, np.full(3, value), err_msg=name)
        assert np.isnan(verdicts[name].sel(gain=10.0, prune_fraction=0.5)), name


def test_sweep_verdicts_need_a_finished_point(tmp_path):
    write_sweep_index(tmp_path, "demo", [tmp_path / "demo-a"], [{"data.gain": 1.0}])
    with pytest.raises(ValueError, match="no grid point of sweep 'demo'"):
        analysis.sweep_verdicts(tmp_path)
