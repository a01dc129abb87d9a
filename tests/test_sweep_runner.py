"""Sweeps: grid expansion, errors, a real LocalCluster, a scheduler and workers run as separate processes,
a worker killed mid-sweep, failures summarized, and ``open_sweep`` over finished and unfinished grids."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from cavitykit import cli
from cavitykit.imp import run
from cavitykit.io import open_run, open_sweep, read_sweep_index
from cavitykit.io.store import ROUND_GLOB
from cavitykit.sweep_runner import SweepFailed, load_sweep, run_sweep
from tests.imp.tiny import tiny_config

BIN = Path(sys.executable).parent


def write_sweep(folder: Path, **sections) -> Path:
    """A 2 x 2 sweep (gain x prune fraction) of a tiny config with ``sections`` replaced."""
    base = tiny_config(variants=["nlgp"], imp={"rounds": 2}, analysis={"cavity": False, "n_heldout": 100}, **sections)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tiny.toml").write_text(base.to_toml())
    path = folder / "scan.toml"
    path.write_text(
        'name = "scan"\nbase_file = "tiny.toml"\n[grid]\n"data.gain" = [1.0, 10.0]\n"imp.prune_fraction" = [0.2, 0.5]\n'
    )
    return path


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    return write_sweep(tmp_path_factory.mktemp("sweep"))


@pytest.fixture(scope="module")
def local_sweep(sweep_file):
    """The sweep run on a LocalCluster of two worker processes: (results root, run directories)."""
    out = sweep_file.parent / "local"
    return out, run_sweep(sweep_file, out, workers=2, progress=False)


def assert_same_runs(run_dirs, other_root: Path):
    """Every run of ``run_dirs`` has a twin under ``other_root`` with equal data (bit for bit)."""
    for run_dir in run_dirs:
        xr.testing.assert_equal(open_run(other_root / run_dir.name), open_run(run_dir))


def test_grid_expands_to_the_cartesian_product(sweep_file):
    name, configs, points = load_sweep(sweep_file)
    assert name == "scan" and len(configs) == 4
    assert [(c.data.gain, c.imp.prune_fraction) for c in configs] == [(1.0, 0.2), (1.0, 0.5), (10.0, 0.2), (10.0, 0.5)]
    assert points[3] == {"data.gain": 10.0, "imp.prune_fraction": 0.5}
    assert len({c.hash for c in configs}) == 4


def test_set_applies_to_every_point_and_under_another_base(tmp_path):
    path = tmp_path / "scan.toml"
    path.write_text(
        'base = "quick"\n[set]\n"imp.controls" = ["random"]\nreplicates = 1\n[grid]\n"data.gain" = [1.0, 3.0]\n'
    )
    for base in (None, "medium"):
        _, configs, points = load_sweep(path, base=base)
        assert [(c.imp.controls, c.replicates) for c in configs] == [(("random",), 1)] * 2
        assert points == [{"data.gain": 1.0}, {"data.gain": 3.0}]  # fixed settings are not grid dims


SHIPPED_SWEEPS = [
    path
    for path in sorted((Path(__file__).parents[1] / "experiments").glob("*.toml"))
    if "grid" in tomllib.loads(path.read_text())
]


@pytest.mark.parametrize("path", SHIPPED_SWEEPS, ids=lambda p: p.name)
def test_shipped_sweeps_expand_to_valid_configs(path):
    _, configs, points = load_sweep(path)
    assert configs and len(configs) == len(points) == len({c.hash for c in configs})
    for config, point in zip(configs, points, strict=True):
        for key, value in point.items():
            section, field = key.split(".")
            assert np.array_equal(getattr(getattr(config, section), field), value), (key, value)
        if "data.xi" in point:  # both correlation lengths within the side of the ring or torus
            assert max(config.data.xi) <= config.data.L


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('base = "quick"\nbase_file = "x.toml"\n[grid]\n"data.gain" = [1.0]\n', "exactly one of base"),
        ('base = "quick"\ncolour = 1\n[grid]\n"data.gain" = [1.0]\n', "unknown sweep key"),
        ('base = "quick"\n[grid]\n"data.colour" = [1.0]\n', "unknown config key 'colour'"),
        ('base = "quick"\n[grid]\n"imp.prune_fraction" = [1.5]\n', r"imp.prune_fraction must be in \(0, 1\)"),
        ('base = "quick"\n[grid]\n"data.gain" = []\n', "non-empty lists"),
        ('base = "quick"\n[set]\n"imp.colour" = 1\n[grid]\n"data.gain" = [1.0]\n', "set key 'imp.colour'"),
        ('base = "quick"\nset = 1\n[grid]\n"data.gain" = [1.0]\n', "set must be a table"),
    ],
)
def test_bad_sweeps_are_named(tmp_path, text, message):
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ValueError, match=message):
        load_sweep(tmp_path / "bad.toml")


@pytest.mark.slow
def test_sweep_on_a_local_cluster_matches_direct_runs(sweep_file, local_sweep, tmp_path):
    out, run_dirs = local_sweep
    assert len(run_dirs) == 4 and (out / "scan-sweep.toml").is_file()
    _, configs, _ = load_sweep(sweep_file)
    direct = open_run(run(configs[3], tmp_path / "direct", progress=False))
    swept = open_run(run_dirs[3])
    np.testing.assert_array_equal(swept["mask"].values, direct["mask"].values)
    np.testing.assert_allclose(swept.weight.values, direct.weight.values, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_open_sweep_has_the_swept_keys_as_dims(sweep_file, local_sweep):
    out, run_dirs = local_sweep
    sweep = open_sweep(out)
    assert sweep.weight.dims[:2] == ("gain", "prune_fraction")
    assert sweep.gain.values.tolist() == [1.0, 10.0] and sweep.prune_fraction.values.tolist() == [0.2, 0.5]
    assert type(sweep.weight.data).__module__ == "dask.array.core"  # lazy
    assert sweep.attrs["swept"] == ["data.gain", "imp.prune_fraction"]
    points = read_sweep_index(out / "scan-sweep.toml")
    for run_dir in run_dirs:
        point = points[run_dir.name]
        one = sweep.sel(gain=point["data.gain"], prune_fraction=point["imp.prune_fraction"], drop=True).compute()
        xr.testing.assert_equal(one.drop_vars("mask"), open_run(run_dir).drop_vars("mask"))
        assert (one["mask"].values == open_run(run_dir)["mask"].values).all()


@pytest.mark.slow
def test_open_sweep_reads_an_unfinished_sweep(local_sweep, tmp_path):
    out, run_dirs = local_sweep
    partial = tmp_path / "partial"
    shutil.copytree(out, partial)
    not_started, half_done = (partial / run_dirs[0].name), (partial / run_dirs[3].name)
    for path in not_started.glob(ROUND_GLOB):
        path.unlink()
    for path in half_done.glob("*/replicate_*/round_001.nc"):
        path.unlink()
    sweep = open_sweep(partial)
    assert dict(sweep.weight.sizes) == dict(open_sweep(out).weight.sizes)
    assert bool(sweep.weight.sel(gain=1.0, prune_fraction=0.2).isnull().all())
    last = sweep.test_accuracy.sel(gain=10.0, prune_fraction=0.5)
    assert bool(last.sel(round=1).isnull().all()) and bool(last.sel(round=0).notnull().all())
    assert bool(sweep.test_accuracy.sel(gain=10.0, prune_fraction=0.2).notnull().all())


def test_open_sweep_names_what_is_missing(tmp_path):
    with pytest.raises(ValueError, match="no sweep index"):
        open_sweep(tmp_path)
    (tmp_path / "a-sweep.toml").write_text("")
    (tmp_path / "b-sweep.toml").write_text("")
    with pytest.raises(ValueError, match=r"several sweeps \(a, b\)"):
        open_sweep(tmp_path)
    with pytest.raises(ValueError, match="lists no grid point"):
        open_sweep(tmp_path, name="a")


@pytest.mark.slow
def test_failed_tasks_are_retried_then_summarized(tmp_path, capsys):
    sweep_file = write_sweep(tmp_path)
    _, configs, _ = load_sweep(sweep_file)
    broken = run(configs[1], tmp_path / "out", progress=False)  # a finished point ...
    (broken / "nlgp" / "replicate_00" / "round_001.nc").unlink()
    (broken / "nlgp" / "replicate_00" / "round_000.nc").write_bytes(b"not netCDF")  # ... whose round 0 is damaged
    with pytest.raises(SweepFailed) as failed:
        run_sweep(sweep_file, tmp_path / "out", workers=2, retries=1, progress=False)
    assert list(failed.value.failures) == [f"{broken.name}/nlgp/replicate_00"]
    assert "is not a readable netCDF4 file" in str(failed.value) and "1 of 4 sweep tasks failed" in str(failed.value)
    others = [path for path in (tmp_path / "out").glob(f"scan-*/{ROUND_GLOB}") if broken not in path.parents]
    assert len(others) == 3 * 2  # every other task finished its two rounds
    written = {path: path.stat().st_mtime_ns for path in others}
    assert cli.main(["sweep", str(sweep_file), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet"]) == 1
    assert "1 of 4 sweep tasks failed" in capsys.readouterr().err
    assert {path: path.stat().st_mtime_ns for path in others} == written  # finished rounds are not recomputed


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    """A ``dask scheduler`` and two ``dask worker`` processes (nannies, one thread each) on loopback."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    common = {"cwd": folder, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    scheduler = [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"]
    processes = [subprocess.Popen([*scheduler, "--scheduler-file", scheduler_file], **common)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        for _ in range(2):
            worker = [BIN / "dask", "worker", address, "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"]
            processes.append(subprocess.Popen(worker, **common))
        from dask.distributed import Client

        with Client(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


@pytest.mark.slow
def test_scheduler_and_worker_processes_match_the_local_cluster(sweep_file, local_sweep, dask_processes):
    out = sweep_file.parent / "remote"
    code = cli.main(["sweep", str(sweep_file), "--out", str(out), "--scheduler", dask_processes, "--quiet"])
    assert code == 0
    assert_same_runs(local_sweep[1], out)


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_loses_nothing(tmp_path, dask_processes):
    from dask.distributed import Client

    # Longer tasks than the other tests', so that the kill lands while both workers train.
    sweep_file = write_sweep(tmp_path, training={"steps": 1500})
    reference = run_sweep(sweep_file, tmp_path / "local", workers=2, progress=False)
    out = tmp_path / "remote"
    command = [BIN / "cavitykit", "sweep", sweep_file, "--out", out, "--scheduler", dask_processes, "--quiet"]
    sweep = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob(f"scan-*/{ROUND_GLOB}")) and time.monotonic() < deadline:
        time.sleep(0.05)
    with Client(dask_processes) as client:
        victim = next(iter(client.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)  # the nanny starts a fresh worker
        killed_while_running = len(list(out.glob(f"scan-*/{ROUND_GLOB}"))) < 8
    output, _ = sweep.communicate(timeout=300)
    assert sweep.returncode == 0, output
    assert killed_while_running
    assert sorted(p.relative_to(out) for p in out.glob(f"scan-*/{ROUND_GLOB}")) == sorted(
        p.relative_to(tmp_path / "local") for p in (tmp_path / "local").glob(f"scan-*/{ROUND_GLOB}")
    )
    assert_same_runs(reference, out)
