import contextlib
import subprocess
import sys

import numpy as np
import pytest

import cavitykit
from cavitykit.cli import main


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert cavitykit.__version__ in capsys.readouterr().out


def test_unknown_benchmark_exits_nonzero(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["bench", "nonsense"])
    assert exit_info.value.code == 2
    assert "nonsense" in capsys.readouterr().err


def test_bench_cumulants_smoke(capsys):
    """Runs the real benchmark code on a tiny slice (timings are not asserted)."""
    assert main(["bench", "cumulants", "--scale", "0.0002", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "faster than scipy.stats.kstat" in out and "float32" in out


def test_bench_names_are_the_benchmark_scripts():
    from cavitykit.cli import BENCHMARK_DIR, BENCHMARKS

    assert sorted(BENCHMARKS) == sorted(p.stem.removeprefix("bench_") for p in BENCHMARK_DIR.glob("bench_*.py"))


def test_bench_outside_a_source_checkout_names_the_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("cavitykit.cli.BENCHMARK_DIR", tmp_path / "benchmarks")
    assert main(["bench", "data"]) == 2
    assert str(tmp_path / "benchmarks") in capsys.readouterr().err


def test_benchmark_script_runs_from_its_folder():
    """``python benchmarks/bench_NAME.py`` takes --scale and --repeats (timings are not asserted)."""
    from cavitykit.cli import BENCHMARK_DIR

    result = subprocess.run(
        [sys.executable, str(BENCHMARK_DIR / "bench_data.py"), "--scale", "0.0002", "--repeats", "1"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "multivariate-normal route" in result.stdout


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "cavitykit.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "bench" in result.stdout


def test_bench_data_smoke(capsys):
    assert main(["bench", "data", "--scale", "0.001", "--repeats", "1"]) == 0
    assert "multivariate-normal route" in capsys.readouterr().out


def test_run_refuses_an_out_that_is_a_file_before_writing(tmp_path, capsys):
    (tmp_path / "afile.txt").write_text("notes\n")
    for out in ("afile.txt", "afile.txt/deeper"):
        assert main(["run", "--preset", "quick", "--out", str(tmp_path / out), "--quiet"]) == 2
        assert f"--out: {str(tmp_path / out)!r} needs a folder, but {str(tmp_path / 'afile.txt')!r} is a file" in (
            capsys.readouterr().err
        )
    assert (tmp_path / "afile.txt").read_text() == "notes\n" and sorted(tmp_path.iterdir()) == [tmp_path / "afile.txt"]


def test_run_writes_a_run_directory(tmp_path, capsys):
    from tests.imp.tiny import tiny_config

    config = tiny_config(variants=["nlgp"], imp={"rounds": 2}, analysis={"cavity": False, "n_heldout": 100})
    (tmp_path / "tiny.toml").write_text(config.to_toml())
    assert main(["run", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "round 1: sparsity 0.292" in out and f"tiny-{config.identity[:12]}" in out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "--preset", "huge", "--out", "OUT"], "preset must be one of"),
        (["run", "--out", "OUT"], "exactly one of CONFIG.toml or --preset"),
        (["run", "missing.toml", "--out", "OUT"], "does not exist"),
        (["run", "BAD", "--out", "OUT"], "imp.prune_fraction must be in (0, 1)"),
        (["run", "--preset", "quick", "--out", "OUT", "--device", "cuda:7"], "CUDA"),
    ],
)
def test_run_bad_input_is_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    (tmp_path / "bad.toml").write_text("[imp]\nprune_fraction = 1.5\n")
    arguments = [
        str(tmp_path / "bad.toml") if a == "BAD" else str(tmp_path / "out") if a == "OUT" else a for a in arguments
    ]
    if "--device" in arguments and __import__("torch").cuda.is_available():
        pytest.skip("CUDA present")
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.nc"))


@pytest.mark.slow
@pytest.mark.parametrize(("name", "expected"), [("cavity", "whole-layer naive loop"), ("imp", "sampling / its floor")])
def test_bench_smoke(capsys, name, expected):
    """The benchmark code runs on a tiny slice (timings are not asserted)."""
    assert main(["bench", name, "--scale", "0.002", "--repeats", "1"]) == 0
    assert expected in capsys.readouterr().out


def test_config_prints_a_preset_that_loads_back_as_the_same_run(tmp_path, capsys):
    from cavitykit.config import load_config, load_preset

    assert main(["config", "--preset", "paper"]) == 0
    text = capsys.readouterr().out
    (tmp_path / "mine.toml").write_text(text)
    assert load_config(tmp_path / "mine.toml") == load_preset("paper")
    assert text.startswith(
        f"# run directory: <out>/paper-{load_preset('paper').identity[:12]} (or the one there that trains alike)\n"
    )
    assert main(["config", str(tmp_path / "mine.toml")]) == 0
    assert load_preset("paper").to_toml() in capsys.readouterr().out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["config"], "exactly one of CONFIG.toml or --preset"),
        (["config", "--preset", "huge"], "preset must be one of"),
        (["config", "TYPO"], "unknown config key(s) training.stesp (did you mean training.steps?)"),
    ],
)
def test_config_bad_input_is_one_line_and_exit_2(tmp_path, capsys, arguments, message):
    (tmp_path / "typo.toml").write_text("[training]\nstesp = 10\n")
    arguments = [str(tmp_path / "typo.toml") if a == "TYPO" else a for a in arguments]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_cavity_command_matches_scipy_by_brute_force_in_either_convention(tmp_path, capsys):
    """`cavitykit cavity`: every weight of a layer removed one at a time, against scipy's kurtosis; the layer
    spans two blocks, holds a bias and a unit pruned away (NaN, named in a warning)."""
    import scipy.stats
    import xarray as xr

    from cavitykit.cavity.exact import LAYER_BLOCK as CAVITY_BLOCK

    rng = np.random.default_rng(5)
    n_units, n_inputs = CAVITY_BLOCK + 6, 6
    # magnitudes of one order: a removal that leaves a tiny weight alone cancels most of the variance
    weights = rng.choice([-1.0, 1.0], (n_units, n_inputs)) * rng.uniform(0.5, 1.5, (n_units, n_inputs))
    bias = rng.standard_normal(n_units)
    weights[rng.random(weights.shape) < 0.3] = 0.0
    weights[CAVITY_BLOCK + 2] = 0.0
    samples = rng.exponential(size=(3000, n_inputs))
    np.savez(tmp_path / "layer.npz", weight=weights, bias=bias)
    np.save(tmp_path / "x.npy", samples)

    def brute_force(preactivation_of):
        out = np.full(weights.shape, np.nan)
        for k, i in zip(*np.nonzero(weights), strict=True):
            reduced = weights[k].copy()
            reduced[i] = 0.0
            if reduced.any():  # removing a unit's last weight leaves a constant: NaN
                kurtosis = [
                    scipy.stats.kurtosis(preactivation_of(w) + bias[k], bias=False) for w in (reduced, weights[k])
                ]
                out[k, i] = kurtosis[0] - kurtosis[1]
        return out

    layer = ["cavity", "--weights", str(tmp_path / "layer.npz"), "--samples", str(tmp_path / "x.npy"), "--quiet"]
    for convention, preactivation_of in (
        ("linear", lambda w: samples @ w),  # torch.nn.Linear: x W^T + b
        ("scaled", lambda w: samples @ w / np.sqrt(n_inputs)),
    ):
        out = tmp_path / f"{convention}.nc"
        with pytest.warns(UserWarning, match=rf"neuron\(s\) {CAVITY_BLOCK + 2} have no weight left"):
            assert main([*layer, "--convention", convention, "--out", str(out)]) == 0
        with xr.open_dataset(out) as written:
            np.testing.assert_allclose(written.cavity_exact, brute_force(preactivation_of), rtol=1e-7, atol=1e-10)
            assert written.attrs["convention"] == convention
            assert written.cavity_exact.attrs["preactivation"].endswith("+ b" if convention == "scaled" else "Linear)")
    assert main([*layer, "--convention", "linear", "--out", str(tmp_path / "linear.nc")]) == 2  # exists
    assert "pass --overwrite" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--statistic", "kurt"], "--statistic must be one of k2, k3"),
        (["--n-samples", "10"], "--n-samples applies to samples drawn from --model"),
        (["--convention", "torch"], "invalid choice: 'torch'"),
    ],
)
def test_cavity_command_refusals(tmp_path, capsys, extra, message):
    np.save(tmp_path / "w.npy", np.ones((2, 4)))
    np.save(tmp_path / "x.npy", np.random.default_rng(0).standard_normal((100, 4)))
    args = ["cavity", "--weights", str(tmp_path / "w.npy"), "--samples", str(tmp_path / "x.npy")]
    with pytest.raises(SystemExit) if "choice" in message else contextlib.nullcontext():
        assert main([*args, *extra, "--out", str(tmp_path / "e.nc")]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "e.nc").exists()


def test_the_command_line_loads_neither_torch_nor_numba():
    """`cavitykit --version` and `--help` answer at once: the parser imports no heavy module."""
    code = "import sys, cavitykit.cli; print(sorted({'torch', 'numba', 'matplotlib'} & set(sys.modules)))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "[]\n"


def pruned_torch_model(tmp_path):
    """A torch model whose first layer is pruned by torch.nn.utils.prune and saved as its state_dict, as a
    user would: 0.weight_orig and 0.weight_mask, no 0.weight."""
    import torch
    from torch.nn.utils import prune

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    torch.save(model.state_dict(), tmp_path / "model.pt")
    masked = (model[0].weight_orig * model[0].weight_mask).detach().numpy().astype(np.float64)
    return masked, model[0].weight_mask.detach().numpy().astype(bool), model[0].bias.detach().numpy()


def test_a_layer_pruned_with_torch_is_read_by_its_usual_key_and_its_pruned_weights_are_removed(tmp_path, capsys):
    import scipy.stats
    import xarray as xr

    masked, kept, bias = pruned_torch_model(tmp_path)
    samples = np.random.default_rng(1).exponential(size=(3000, 6))
    np.save(tmp_path / "x.npy", samples)
    layer = ["cavity", "--weights", str(tmp_path / "model.pt"), "--samples", str(tmp_path / "x.npy"), "--quiet"]
    out = tmp_path / "e.nc"
    assert main([*layer, "--key", "0.weight", "--convention", "linear", "--out", str(out)]) == 0
    expected = np.full(masked.shape, np.nan)
    for k, i in zip(*np.nonzero(kept), strict=True):
        reduced = masked[k].copy()
        reduced[i] = 0.0
        if reduced.any():
            expected[k, i] = scipy.stats.kurtosis(samples @ reduced + bias[k], bias=False) - scipy.stats.kurtosis(
                samples @ masked[k] + bias[k], bias=False
            )
    with xr.open_dataset(out) as written:
        np.testing.assert_allclose(written.cavity_exact, expected, rtol=1e-7, atol=1e-10)
        assert np.isnan(written.cavity_exact.values[~kept]).all() and (~kept).sum() == 12
        assert written.attrs["weights_key"] == "0.weight" and written.attrs["weights"].endswith("model.pt")
    # the unpruned copy is refused, naming the key to use
    assert main([*layer, "--key", "0.weight_orig", "--out", str(tmp_path / "orig.nc")]) == 2
    assert "name the layer '0.weight'" in capsys.readouterr().err and not (tmp_path / "orig.nc").exists()


def test_an_orig_without_its_mask_is_refused_and_a_mask_file_is_applied(tmp_path, capsys):
    import torch
    import xarray as xr

    masked, kept, _ = pruned_torch_model(tmp_path)
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    del state["0.weight_mask"]
    torch.save(state, tmp_path / "no_mask.pt")
    samples = np.random.default_rng(2).standard_normal((500, 6))
    np.save(tmp_path / "x.npy", samples)
    args = ["cavity", "--samples", str(tmp_path / "x.npy"), "--key", "0.weight", "--quiet"]
    assert main([*args, "--weights", str(tmp_path / "no_mask.pt"), "--out", str(tmp_path / "a.nc")]) == 2
    assert "but no '0.weight_mask'" in capsys.readouterr().err
    # another tool's mask beside plain weights: the masked-out weights are removed, and the output says so
    np.save(tmp_path / "w.npy", np.where(kept, masked, 1.0))
    np.savez(tmp_path / "masks.npz", first=kept)
    spec = f"{tmp_path / 'masks.npz'}:first"
    plain = ["cavity", "--weights", str(tmp_path / "w.npy"), "--samples", str(tmp_path / "x.npy"), "--quiet"]
    assert main([*plain, "--mask", spec, "--out", str(tmp_path / "b.nc")]) == 0
    with xr.open_dataset(tmp_path / "b.nc") as written:
        effects = written.cavity_exact.values
        assert np.isnan(effects[~kept]).all() and np.isfinite(effects[kept]).any()
        assert written.attrs["mask"] == spec
    assert main([*plain, "--mask", str(tmp_path / "x.npy"), "--out", str(tmp_path / "c.nc")]) == 2
    assert "must be a numeric or boolean array of the weights' shape (4, 6)" in capsys.readouterr().err


def test_an_output_folder_that_takes_no_file_is_refused_before_any_computation(capsys):
    # the samples file does not exist either: the output is checked first, so its error is the one reported
    args = ["cavity", "--weights", "/nonexistent/w.npy", "--samples", "/nonexistent/x.npy", "--out", "/proc/e.nc"]
    assert main(args) == 2
    assert "cannot write '/proc/e.nc': '/proc' takes no new file" in capsys.readouterr().err
