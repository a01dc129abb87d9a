import subprocess
import sys

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


def test_run_writes_a_run_directory(tmp_path, capsys):
    from tests.imp.tiny import tiny_config

    config = tiny_config(variants=["nlgp"], imp={"rounds": 2}, analysis={"cavity": False, "n_heldout": 100})
    (tmp_path / "tiny.toml").write_text(config.to_toml())
    assert main(["run", str(tmp_path / "tiny.toml"), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "round 1: sparsity 0.292" in out and f"tiny-{config.hash[:12]}" in out


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
@pytest.mark.parametrize(("name", "expected"), [("cavity", "whole-layer naive loop"), ("imp", "x the peer")])
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
    assert text.startswith(f"# run directory: <out>/paper-{load_preset('paper').hash[:12]}\n")
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
