"""The package's layers: lower modules never import upper ones, and reading a run never loads torch."""

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cavitykit.imp import run
from tests.imp.tiny import tiny_config

PACKAGE = Path(__file__).resolve().parents[1] / "cavitykit"
# Modules below the IMP engine, the report and the command line.
LOWER = ["io", "data", "stats", "metrics", "network", "plot", "variants.py", "config.py", "xr.py"]
UPPER = ("cavitykit.imp", "cavitykit.report", "cavitykit.cli", "cavitykit.sweep_runner")
# Modules that read and analyse runs: no torch, directly or through the engine.
TORCH_FREE = [
    "io",
    "plot",
    "analysis",
    "report",
    "spectra.py",
    "variants.py",
    "config.py",
    "network/__init__.py",
    "network/formulas.py",
    "network/parameterization.py",
]
TORCH = ("torch", "cavitykit.imp", "cavitykit.cavity", "cavitykit.network.ensemble")
# Libraries that a config check, the store and the vocabulary never load.
HEAVY = ("torch", "numba", "scipy", "matplotlib")


def _type_checking_blocks(tree: ast.AST) -> set[int]:
    """The ids of the nodes inside ``if TYPE_CHECKING:`` blocks (imports for annotations only)."""
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            inside.update(id(child) for statement in node.body for child in ast.walk(statement))
    return inside


def imported_modules(path: Path, *, runtime: bool = False) -> set[str]:
    """Every module an ``import`` or ``from ... import`` names anywhere in the file (inside functions too);
    with ``runtime``, not those under ``if TYPE_CHECKING:``, which never run."""
    names = set()
    tree = ast.parse(path.read_text())
    skipped = _type_checking_blocks(tree) if runtime else set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def files_of(entries: list[str]) -> list[Path]:
    paths = []
    for entry in entries:
        path = PACKAGE / entry
        paths += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return paths


def offending(entries, forbidden) -> dict[str, list[str]]:
    found = {}
    for path in files_of(entries):
        bad = sorted(name for name in imported_modules(path) if name.startswith(forbidden))
        if bad:
            found[str(path.relative_to(PACKAGE))] = bad
    return found


def test_lower_layers_never_import_the_engine_report_or_cli():
    assert offending(LOWER, UPPER) == {}


def test_the_network_layer_never_imports_the_config_above_it():
    found = {
        str(path.relative_to(PACKAGE)): sorted(
            name for name in imported_modules(path, runtime=True) if "config" in name
        )
        for path in files_of(["network"])
    }
    assert {name: bad for name, bad in found.items() if bad} == {}


def test_the_runtime_import_check_skips_annotation_only_imports(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cavitykit.config import A\n")
    assert "cavitykit.config" in imported_modules(module)
    assert "cavitykit.config" not in imported_modules(module, runtime=True)


def test_the_import_graph_of_the_packages_parts_has_no_cycle():
    """Each top-level module or subpackage (``config``, ``data``, ``io``, ...) imports, at run time and inside
    functions too, only parts that never import it back: the layers form an order."""
    edges = {}
    for path in PACKAGE.rglob("*.py"):
        part = path.relative_to(PACKAGE).with_suffix("").parts[0]
        if part == "__init__":  # the package's lazy re-exports name every part
            continue
        for name in imported_modules(path, runtime=True):
            if name.startswith("cavitykit.") and name.split(".")[1] != part:
                edges.setdefault(part, set()).add(name.split(".")[1])

    def reaches(start, goal):
        stack, seen = [start], set()
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for after in edges.get(node, ()):
                if after not in seen:
                    seen.add(after)
                    stack.append(after)
        return False

    assert sorted((a, b) for a, targets in edges.items() for b in targets if reaches(b, a)) == []


def test_run_readers_never_import_torch():
    assert offending(TORCH_FREE, TORCH) == {}


def test_the_import_check_sees_imports_inside_functions(tmp_path):
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from cavitykit.imp import runner\n    import torch\n")
    assert imported_modules(module) >= {"cavitykit.imp", "cavitykit.imp.runner", "torch"}


@pytest.fixture(scope="module")
def stored_run(tmp_path_factory):
    config = tiny_config(variants=["nlgp", "gaussian_clone"], imp={"rounds": 2}, analysis={"n_heldout": 100})
    return run(config, tmp_path_factory.mktemp("layers"), progress=False)


def test_reading_and_plotting_a_run_loads_no_torch_and_keeps_the_backend(stored_run):
    script = textwrap.dedent(
        f"""
        import sys
        import matplotlib
        matplotlib.use("svg")
        import cavitykit.io, cavitykit.analysis, cavitykit.plot, cavitykit.report
        ds = cavitykit.io.open_run({str(stored_run)!r})
        lines = cavitykit.analysis.learned_trajectories(ds, {{}}, ("nlgp", "gaussian_clone"))
        cavitykit.plot.claims_by_round(lines, ("nlgp", "gaussian_clone")).savefig({str(stored_run / "check.png")!r})
        cavitykit.plot.receptive_fields(ds, "nlgp")
        print(matplotlib.get_backend(), "torch" in sys.modules, "cavitykit.imp.runner" in sys.modules)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["svg", "False", "False"]
    assert (stored_run / "check.png").stat().st_size > 10_000


@pytest.mark.parametrize(
    "statement",
    [
        "import cavitykit.config; cavitykit.config.load_config('cavitykit/presets/paper.toml')",
        "import cavitykit.io",
        "import cavitykit, cavitykit.network, cavitykit.variants",
    ],
)
def test_reading_a_config_or_importing_the_store_loads_no_heavy_library(statement):
    script = f"import sys; {statement}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    assert result.stdout.strip() == "[]"


def test_the_top_level_names_load_on_first_use():
    import cavitykit

    assert cavitykit.kstats is __import__("cavitykit.stats", fromlist=["kstats"]).kstats
    assert set(cavitykit.__all__) <= set(dir(cavitykit))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        cavitykit.nonsense  # noqa: B018


def test_subpackages_load_on_attribute_access_and_python_m_runs_the_command():
    script = "import sys, cavitykit as ck; print('cavitykit.data' in sys.modules, ck.data.NLGP.__name__)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "NLGP"]  # not loaded by the import, loaded on first access
    version = subprocess.run([sys.executable, "-m", "cavitykit", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("cavitykit ")


def test_no_module_imports_another_packages_private_names():
    """A package's underscore modules and names are its own; the top-level ``cavitykit._*`` helpers
    (validation, TOML, dask, version) are shared by all."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        home = parts[1] if len(parts) > 2 else None  # the subpackage a module belongs to
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("cavitykit.")):
                continue
            target = node.module.split(".")
            if target[1] == home or target[1].startswith("_"):
                continue  # its own package, or the shared top-level helpers
            names = [alias.name for alias in node.names]
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            if private or any(part.startswith("_") for part in target[2:]):
                found.setdefault("/".join(parts), []).append(f"{node.module}: {names}")
    assert not found, found
