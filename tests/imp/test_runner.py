"""IMP runs: determinism, mask bookkeeping, rewinding, resuming after kill -9, and the stored schema."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr

from cavitykit.buffers import Scratch
from cavitykit.data import NLGP
from cavitykit.imp import run
from cavitykit.imp.runner import Member, initial_network, make_task, round_statistics
from cavitykit.io import open_run, open_weights, round_path, weights_controls, write_weights
from tests.imp.tiny import tiny_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = tiny_config()
    run_dir = run(config, tmp_path_factory.mktemp("runs"), progress=False)
    return config, run_dir, open_run(run_dir)


def test_schema_and_attributes(tiny_run):
    config, run_dir, ds = tiny_run
    assert run_dir.name == f"tiny-{config.identity[:12]}"
    assert set(ds.dims) >= {"variant", "replicate", "round", "neuron", "input", "label", "approx_order"}
    assert ds.sizes["round"] == 4 and ds.sizes["neuron"] == 4 and ds.sizes["input"] == 12
    for name in (
        "weight",
        "mask",
        "init_weight",
        "pruned_next",
        "train_loss",
        "test_accuracy",
        "sparsity",
        "preact_excess_kurtosis",
        "ipr",
        "cavity_exact",
        "cavity_expansion",
    ):
        assert name in ds, name
        assert "long_name" in ds[name].attrs
    assert ds["mask"].dtype == bool and ds["pruned_next"].dtype == bool
    assert ds.attrs["Conventions"] == "CF-1.8" and ds.attrs["config_hash"] == config.hash
    assert ds.attrs["data_model"] == "gaussian_clone nlgp"
    one = xr.open_dataset(round_path(run_dir, "nlgp", 0, 0), engine="netcdf4")
    assert one.attrs["data_model"] == "nlgp" and one.attrs["data_xi"] == "1.0 3.0"
    one.close()


def test_masks_shrink_and_pruned_weights_are_zero(tiny_run):
    config, _, ds = tiny_run
    for variant in ds.variant.values:
        sel = ds.sel(variant=variant, replicate=0)
        n_weights = sel.sizes["neuron"] * sel.sizes["input"]
        for r in range(1, sel.sizes["round"]):
            before, after = sel["mask"].isel(round=r - 1).values, sel["mask"].isel(round=r).values
            assert not np.any(after & ~before)
            np.testing.assert_array_equal(after, before & ~sel.pruned_next.isel(round=r - 1).values)
        for r in range(sel.sizes["round"]):
            mask = sel["mask"].isel(round=r).values
            assert np.all(sel.weight.isel(round=r).values[~mask] == 0)
            assert abs(mask.sum() - n_weights * (1 - config.imp.prune_fraction) ** r) <= 1


def test_rewinding_restores_the_initialization(tiny_run):
    _, _, ds = tiny_run
    init = ds.init_weight.isel(round=0)
    for r in range(1, ds.sizes["round"]):
        np.testing.assert_array_equal(ds.init_weight.isel(round=r), init.where(ds["mask"].isel(round=r), 0.0))
    # NLGP and its clone start from the same weights (same seeds).
    np.testing.assert_array_equal(init.sel(variant="nlgp"), init.sel(variant="gaussian_clone"))


def test_same_config_gives_bitwise_identical_weights(tiny_run, tmp_path):
    config, _, ds = tiny_run
    again = open_run(run(config, tmp_path, progress=False))
    for name in ("weight", "init_weight", "readout", "cavity_exact", "preact_excess_kurtosis"):
        np.testing.assert_array_equal(again[name].values, ds[name].values, err_msg=name)


def test_a_finished_run_is_not_recomputed(tiny_run):
    config, run_dir, _ = tiny_run
    stamps = {p: p.stat().st_mtime_ns for p in run_dir.glob("**/*.nc")}
    run(config, run_dir.parent, progress=False)
    assert stamps == {p: p.stat().st_mtime_ns for p in run_dir.glob("**/*.nc")}


def test_stored_theory_is_the_independent_input_prediction(tiny_run):
    _, _, ds = tiny_run
    kappa_x = {"nlgp": NLGP(12, 1.0, 3.0).marginal_cumulants(4)[3], "gaussian_clone": 0.0}
    for variant, kappa in kappa_x.items():
        one = ds.sel(variant=variant, replicate=0, round=2)
        w, mask = one.weight.values, one["mask"].values
        ipr = (w**4).sum(1) / (w**2).sum(1) ** 2
        for label in (0, 1):
            np.testing.assert_allclose(one.theory_excess_kurtosis.sel(label=label).values, kappa * ipr, atol=1e-12)
        # Removing w_kj: kappa_x times the change of the IPR, computed here by deleting the weight.
        k, j = np.argwhere(mask)[3]
        rest = np.delete(w[k], j)
        expected = kappa * ((rest**4).sum() / (rest**2).sum() ** 2 - ipr[k])
        np.testing.assert_allclose(one.cavity_theory.sel(label=1).values[k, j], expected, rtol=1e-10, atol=1e-15)


def test_cavity_strategy_prunes_the_weights_whose_removal_most_raises_kurtosis(tmp_path):
    config = tiny_config(imp={"strategy": "cavity", "rounds": 3}, variants=["nlgp"])
    ds = open_run(run(config, tmp_path, progress=False)).sel(variant="nlgp", replicate=0)
    for r in range(2):
        one = ds.isel(round=r)
        kurtosis = one.preact_excess_kurtosis
        raises = (np.abs(kurtosis + one.cavity_exact) - np.abs(kurtosis)).mean("label").values
        pruned, mask = one.pruned_next.values, one["mask"].values
        assert pruned.sum() == mask.sum() - round(48 * 0.7 ** (r + 1))
        # Every pruned weight raises |kurtosis| at least as much as every weight kept.
        assert raises[pruned].min() >= raises[mask & ~pruned].max()
    magnitude = open_run(run(tiny_config(variants=["nlgp"]), tmp_path, progress=False)).sel(variant="nlgp")
    assert (magnitude.pruned_next.isel(round=0) != ds.pruned_next.isel(round=0)).any()  # not IMP in disguise


@pytest.mark.parametrize("strategy", ["random", "one_shot", "dense"])
def test_controls(tmp_path, strategy):
    config = tiny_config(imp={"strategy": strategy}, variants=["nlgp"], analysis={"cavity": False, "n_heldout": 100})
    ds = open_run(run(config, tmp_path, progress=False)).sel(variant="nlgp", replicate=0)
    n_weights = 48
    if strategy == "dense":
        assert ds.sizes["round"] == 1 and ds["mask"].all()
    elif strategy == "one_shot":
        assert ds.sizes["round"] == 2
        assert abs(int(ds["mask"].isel(round=1).sum()) - n_weights * 0.7**3) <= 1
    else:
        kept = ds["mask"].sum(dim=("neuron", "input")).values
        assert all(abs(k - n_weights * 0.7**r) <= 1 for r, k in enumerate(kept))


def _same_round_files(a, b):
    """Every variable of two round files equal (bitwise, NaN where NaN); history and version aside."""
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())


def test_control_branches_equal_runs_of_their_strategies_and_leave_the_run_as_it_was(tmp_path):
    controls = ["random", "one_shot", "cavity"]
    with_controls = tiny_config(imp={"rewind_step": 5, "controls": controls})
    plain = tiny_config(imp={"rewind_step": 5})
    assert with_controls.hash == plain.hash  # the branches do not rename the run
    run_dir = run(plain, tmp_path / "main", progress=False)
    assert run(with_controls, tmp_path / "main", progress=False) == run_dir  # branches added to the run
    for r in range(4):
        path = round_path(run_dir, "nlgp", 0, r)
        fresh = run(plain, tmp_path / "fresh", progress=False)
        _same_round_files(xr.load_dataset(path), xr.load_dataset(round_path(fresh, "nlgp", 0, r)))
    for control in controls:
        alone = run(tiny_config(imp={"rewind_step": 5, "strategy": control}), tmp_path / control, progress=False)
        rounds = 2 if control == "one_shot" else 4
        for variant in ("nlgp", "gaussian_clone"):
            for r in range(1, rounds):
                branch = xr.load_dataset(round_path(run_dir, variant, 0, r, control=control))
                _same_round_files(branch, xr.load_dataset(round_path(alone, variant, 0, r)))
        ds, reference = open_run(run_dir, control=control), open_run(alone)
        assert ds.attrs["control"] == control and ds.attrs["config_hash"] == reference.attrs["config_hash"]
        for name in ("weight", "mask", "pruned_next", "preact_excess_kurtosis"):
            xr.testing.assert_identical(ds[name], reference[name])  # round 0's pruning is the branch's own
    with pytest.raises(ValueError, match="control must be a control branch"):
        open_run(run_dir, control="dense")
    # The weights file holds every branch: each opens as open_run opens it, in float32.
    path = write_weights(run_dir, tmp_path / "weights.nc")
    assert weights_controls(path) == sorted(controls)
    for control in (None, *controls):
        full, stored = open_run(run_dir, control=control), open_weights(path, control=control)
        for name in ("mask", "pruned_next", "readout_mask"):
            xr.testing.assert_equal(stored[name], full[name])
        for name in ("weight", "init_weight", "preact_excess_kurtosis", "test_accuracy"):
            xr.testing.assert_allclose(stored[name], full[name].astype(np.float32), rtol=1e-7)
    # ... and the file opens as a tree, each branch a group aligned with the run at the root.
    tree = xr.open_datatree(path, engine="netcdf4")
    assert sorted(tree["controls"].children) == sorted(controls)
    assert (tree["controls/one_shot"]["round"].values == tree["round"].values).all()


def test_the_reinit_control_trains_imp_s_masks_from_fresh_initializations(tmp_path):
    from cavitykit.variants import Stream, seed

    config = tiny_config(imp={"rewind_step": 5, "controls": ["reinit"]}, analysis={"cavity": False, "n_heldout": 100})
    run_dir = run(config, tmp_path, progress=False)
    imp, reinit = open_run(run_dir), open_run(run_dir, control="reinit")
    assert reinit["round"].values.tolist() == imp["round"].values.tolist()
    xr.testing.assert_equal(reinit["mask"], imp["mask"])  # round r: IMP's mask of round r, the dense round shared
    for r in range(1, imp.sizes["round"]):
        fresh = initial_network(config, 0, fresh_round=r)
        stored = reinit.init_weight.sel(variant="nlgp", replicate=0, round=r).values
        kept = reinit["mask"].sel(variant="nlgp", replicate=0, round=r).values
        np.testing.assert_array_equal(stored, fresh.weight * kept)  # a fresh draw per round, seeded (Stream.REINIT)
        assert np.abs(stored - imp.init_weight.sel(variant="nlgp", replicate=0, round=r).values).max() > 0.1
    assert seed(config.seed, 0, Stream.REINIT, 1) != seed(config.seed, 0, Stream.INIT)
    assert not (reinit.weight.isel(round=1) == imp.weight.isel(round=1)).all()  # trained from elsewhere
    # Resuming trains nothing, and the branch leaves the run's own rounds as they were.
    before = xr.load_dataset(round_path(run_dir, "nlgp", 0, 2, control="reinit"))
    assert run(config, tmp_path, progress=False) == run_dir
    _same_round_files(before, xr.load_dataset(round_path(run_dir, "nlgp", 0, 2, control="reinit")))


def test_a_new_name_or_new_analysis_keeps_the_training_and_matches_a_fresh_run(tmp_path):
    """Renamed, or re-measured under other analysis settings: the stored rounds become, bit for bit, what a
    fresh run of the new config stores, and nothing is trained again."""
    first = tiny_config(imp={"rounds": 2, "controls": ["random"]})
    run_dir = run(first, tmp_path / "runs", progress=False)
    trained = {p: xr.load_dataset(p).weight for p in run_dir.glob("**/round_*.nc")}
    changed = tiny_config(
        name="renamed", imp={"rounds": 2, "controls": ["random"]}, analysis={"n_heldout": 600, "expansion_orders": [2]}
    )
    assert changed.identity == first.identity and changed.hash != first.hash
    assert run(changed, tmp_path / "runs", progress=False) == run_dir  # found by its training, not its name
    fresh = run(changed, tmp_path / "fresh", progress=False)
    assert fresh.name == f"renamed-{changed.identity[:12]}"
    for path, weight in trained.items():
        stored, expected = xr.load_dataset(path), xr.load_dataset(fresh / path.relative_to(run_dir))
        xr.testing.assert_identical(stored.weight, weight)
        _same_round_files(stored, expected)
        assert (stored.attrs["config"], stored.attrs["config_hash"]) == (
            expected.attrs["config"],
            expected.attrs["config_hash"],
        )
    assert open_run(run_dir).sizes["approx_order"] == 1


def test_a_cavity_branch_refuses_other_held_out_inputs(tmp_path):
    config = tiny_config(variants=["nlgp"], imp={"rounds": 2, "controls": ["cavity"]})
    run_dir = run(config, tmp_path, progress=False)
    before = {p: p.read_bytes() for p in run_dir.glob("**/*") if p.is_file()}
    other = tiny_config(variants=["nlgp"], imp={"rounds": 2, "controls": ["cavity"]}, analysis={"n_heldout": 500})
    with pytest.raises(ValueError, match=r"pruned by cavity effects on analysis.n_heldout = 400 .* not 500"):
        run(other, run_dir, progress=False)
    assert before == {p: p.read_bytes() for p in run_dir.glob("**/*") if p.is_file()}  # nothing touched


def test_directories_named_by_the_former_hash_resume(tmp_path):
    config = tiny_config(variants=["nlgp"], imp={"rounds": 2})
    former = tmp_path / f"tiny-{config.hash[:12]}"
    run(config, tmp_path, progress=False).rename(former)
    stamps = {p: p.stat().st_mtime_ns for p in former.glob("**/*.nc")}
    assert run(config, tmp_path, progress=False) == former
    assert stamps == {p: p.stat().st_mtime_ns for p in former.glob("**/*.nc")}


def test_late_rewinding_stores_the_step_k_weights(tmp_path):
    config = tiny_config(imp={"rewind_step": 10, "rounds": 2}, variants=["nlgp"], analysis={"cavity": False})
    ds = open_run(run(config, tmp_path, progress=False)).sel(variant="nlgp", replicate=0)
    from cavitykit.imp.runner import initial_network

    init = initial_network(config, 0).weight
    assert not np.allclose(ds.init_weight.isel(round=0), init)  # trained for 10 steps
    np.testing.assert_array_equal(
        ds.init_weight.isel(round=1), ds.init_weight.isel(round=0).where(ds["mask"].isel(round=1), 0.0)
    )


def _round_files(run_dir):
    return sorted(run_dir.glob("*/replicate_*/round_*.nc"))


ONLINE = {
    "network": {"activation": "erf", "bias": True, "bias_init": "split"},
    "training": {"mode": "online", "optimizer": "sgd", "learning_rate": 0.05, "batch_size": 1, "steps": 3000},
}


@pytest.mark.parametrize("parameterization", ["standard", "mean_field"])
def test_snapshots_start_at_the_rewind_point_and_end_at_the_trained_weights(tmp_path, parameterization):
    config = tiny_config(
        network=ONLINE["network"] | {"parameterization": parameterization, "init_scale": 0.1},
        training=ONLINE["training"] | {"steps": 1200, "snapshots": 4},
        imp={"rounds": 2, "rewind_step": 30},
        variants=["nlgp"],
        analysis={"cavity": False},
    )
    steps = config.snapshot_steps()  # D = 12: t = 0, then 0.1, 1, 10, 100 -> steps 0, 1.2, 12, 120, 1200
    assert steps == (0, 1, 12, 120, 1200)
    ds = open_run(run(config, tmp_path, progress=False)).sel(variant="nlgp", replicate=0)
    np.testing.assert_allclose(ds["time"], np.array(steps) / 12)
    first, second = ds.isel(round=0), ds.isel(round=1)
    from cavitykit.imp.runner import initial_network

    initial = initial_network(config, 0)
    np.testing.assert_allclose(first.snapshot_weight.isel(time=0), initial.weight, rtol=1e-6)
    np.testing.assert_array_equal(first.snapshot_weight.isel(time=-1), first.weight)
    np.testing.assert_array_equal(first.snapshot_bias.isel(time=-1), first.bias)
    np.testing.assert_array_equal(second.snapshot_weight.isel(time=-1), second.weight)
    # Round 1 starts from step 30 of round 0: the snapshots before it are missing.
    assert second.snapshot_weight.isel(time=slice(0, 3)).isnull().all()
    assert second.snapshot_weight.isel(time=3).notnull().all()
    readout_moves = parameterization == "standard"
    assert bool((first.snapshot_readout.isel(time=-1) != first.snapshot_readout.isel(time=0)).any()) == readout_moves


@pytest.mark.slow
@pytest.mark.parametrize("route", ["torch (minibatch Adam)", "kernel (online SGD)"])
def test_kill_9_then_resume_equals_an_uninterrupted_run(tmp_path, route):
    sections = ONLINE if route.startswith("kernel") else {"training": {"steps": 400}}
    sections = sections | {"training": sections["training"] | {"snapshots": 6}}
    config = tiny_config(**sections, imp={"rounds": 5, "rewind_step": 20})
    (tmp_path / "config.toml").write_text(config.to_toml())
    reference = open_run(run(config, tmp_path / "reference", progress=False))
    out = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "cavitykit.cli",
        "run",
        str(tmp_path / "config.toml"),
        "--out",
        str(out),
        "--quiet",
    ]
    run_dir = out / f"tiny-{config.identity[:12]}"
    for n_files in (1, 4, 7):  # mid-training after 1, 4 and 7 complete rounds
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while len(_round_files(run_dir)) < n_files and process.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        open_run(run_dir)  # whatever is on disk is readable
    # A writer killed mid-write leaves only a hidden temporary, never a round file.
    (run_dir / "nlgp" / "replicate_00" / ".round_004.nc.99999.tmp").write_bytes(b"partial")
    open_run(run_dir)
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    resumed = open_run(run_dir)
    assert not list(run_dir.glob("**/.*.tmp"))
    for name in ("weight", "mask", "init_weight", "pruned_next", "train_loss", "cavity_exact", "snapshot_weight"):
        np.testing.assert_array_equal(resumed[name].values, reference[name].values, err_msg=name)


def test_interrupted_write_leaves_nothing(tmp_path, monkeypatch):
    config = tiny_config(variants=["nlgp"], imp={"rounds": 2}, analysis={"cavity": False})

    def crash(self, path, *args, **kwargs):
        path.write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(xr.Dataset, "to_netcdf", crash)
    with pytest.raises(KeyboardInterrupt):
        run(config, tmp_path, progress=False)
    run_dir = tmp_path / f"tiny-{config.identity[:12]}"
    assert _round_files(run_dir) == [] and not list(run_dir.glob("**/*.tmp"))
    assert (run_dir / "config.toml").read_text() == config.to_toml()


def test_global_pruning_with_the_readout_and_resume(tmp_path):
    config = tiny_config(
        network={"prune_readout": True},
        imp={"scope": "global", "rounds": 3},
        variants=["nlgp"],
        analysis={"cavity": False, "n_heldout": 100},
    )
    full = open_run(run(config, tmp_path / "full", progress=False)).sel(variant="nlgp", replicate=0)
    n_weights = 4 * 12 + 4
    kept = full["mask"].sum(("neuron", "input")).values + full.readout_mask.sum("neuron").values
    assert all(abs(k - n_weights * 0.7**r) <= 1 for r, k in enumerate(kept))
    assert np.all(full.readout.values[~full.readout_mask.values] == 0)
    # Resume from round 1 only: delete the last file and run again.
    run_dir = run(config, tmp_path / "resumed", progress=False)
    round_path(run_dir, "nlgp", 0, 2).unlink()
    resumed = open_run(run(config, tmp_path / "resumed", progress=False)).sel(variant="nlgp", replicate=0)
    np.testing.assert_array_equal(resumed.weight.values, full.weight.values)
    np.testing.assert_array_equal(resumed.readout_mask.values, full.readout_mask.values)


def test_a_bad_group_size_is_refused_before_anything_is_written(tmp_path):
    with pytest.raises(ValueError, match=r"group_size must be at least 1, got 0"):
        run(tiny_config(), tmp_path, progress=False, group_size=0)
    assert list(tmp_path.iterdir()) == []


def test_statistics_with_reused_buffers_equal_fresh_ones():
    """One Scratch through networks of shrinking width (a unit dies): bit for bit the fresh results."""
    config = tiny_config()
    _, heldout = make_task(config, Member("nlgp", 0), "cpu")
    scratch = Scratch()
    network = initial_network(config, 0)
    for dead_units in (0, 1, 2):
        network.mask.weight[:dead_units] = False
        network.weight = np.where(network.mask.weight, network.weight, 0.0)
        reused = round_statistics(config, network, heldout, [-1.0, 0.0], scratch=scratch)
        fresh = round_statistics(config, network, heldout, [-1.0, 0.0])
        assert reused.keys() == fresh.keys()
        for name in fresh:
            assert np.array_equal(reused[name], fresh[name], equal_nan=True), name
        assert np.isnan(reused["preact_excess_kurtosis"][:, :dead_units]).all()
