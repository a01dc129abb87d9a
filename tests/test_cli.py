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


def test_console_script_help():
    result = subprocess.run([sys.executable, "-m", "cavitykit.cli", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "bench" in result.stdout


def test_bench_data_smoke(capsys):
    assert main(["bench", "data", "--scale", "0.001", "--repeats", "1"]) == 0
    assert "multivariate-normal route" in capsys.readouterr().out
