import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_generated_formulas_are_current():
    """The committed closed forms are exactly what the sympy derivation produces."""
    pytest.importorskip("sympy")
    spec = importlib.util.spec_from_file_location("derive", ROOT / "theory" / "derive_kstatistics.py")
    derive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(derive)
    committed = (ROOT / "cavitykit" / "stats" / "_kstat_formulas.py").read_text()
    assert derive.render_module() == committed, "run: python theory/derive_kstatistics.py"
