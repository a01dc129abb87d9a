"""The core install without its extras: cumulants, cavity effects and the run reader work, and each
feature that needs a missing extra says which one, in one line (the extras hidden from a fresh process)."""

import subprocess
import sys
import textwrap

import pytest

# A module set to None in sys.modules is one Python cannot import and find_spec reports missing, as in
# an environment where it is not installed.
BLOCK = """
import sys

for name in ("dask", "distributed", "skimage", "matplotlib"):
    sys.modules[name] = None
"""


def run_without_extras(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True, timeout=600
    )


@pytest.mark.slow
def test_the_core_computes_kstats_cavity_effects_and_reads_runs_without_extras():
    done = run_without_extras(
        """
        import numpy as np
        import cavitykit
        from cavitykit import cavity
        from cavitykit.testing import example_run
        x = np.random.default_rng(0).standard_normal((2000, 6))
        assert cavitykit.kstats(x, 4).shape == (4, 6)
        assert cavity.exact(np.ones((2, 6)), x).shape == (2, 6)
        assert cavitykit.open_run(example_run()).sizes["round"] == 3
        print("core ok")
        """
    )
    assert done.returncode == 0 and "core ok" in done.stdout, done.stderr


@pytest.mark.parametrize(
    ("code", "extra"),
    [
        ("import cavitykit.plot", "plot"),
        ("from cavitykit.data import ImagePatches; ImagePatches(8)", "images"),
        (
            "import cavitykit; cavitykit.open_run(__import__('cavitykit.testing').testing.example_run(), lazy=True)",
            "cluster",
        ),
    ],
)
def test_a_missing_extra_is_named(code, extra):
    done = run_without_extras(code)
    assert done.returncode != 0
    assert f"comes with the '{extra}' extra: pip install 'cavitykit[{extra}]'" in done.stderr.splitlines()[-1]


def test_the_command_line_names_a_missing_extra_in_one_line(tmp_path):
    sweep = tmp_path / "scan.toml"
    sweep.write_text('base = "quick"\n[grid]\n"data.gain" = [1.0]\n')
    done = run_without_extras(
        f"""
        import sys
        from cavitykit.cli import main
        sys.exit(main(["sweep", {str(sweep)!r}, "--out", {str(tmp_path / "out")!r}, "--quiet"]))
        """
    )
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "cavitykit sweep: error: a dask cluster (sweeps, streamed spectra) needs dask, which comes with the "
        "'cluster' extra: pip install 'cavitykit[cluster]'"
    )
