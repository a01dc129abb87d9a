"""The documentation: notebooks whose checks can fail, pages that cover the code, no reference outside the repo.

Every notebook is executed by ``mkdocs build --strict`` (``make docs``, part of ``make test``); here the
theory checks are shown to fail when a formula is wrong.
"""

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cavitykit.config import _SECTIONS, DATA_SOURCES, RunConfig
from cavitykit.io.schema import CUMULANT_VARIABLES, VARIABLES

ROOT = Path(__file__).resolve().parents[1]
THEORY = ROOT / "theory"


def run_mutated(tmp_path, notebook: str, correct: str, wrong: str) -> subprocess.CompletedProcess:
    source = (THEORY / notebook).read_text()
    assert source.count(correct) == 1, f"{notebook} no longer holds {correct!r} exactly once"
    mutated = tmp_path / notebook
    mutated.write_text(source.replace(correct, wrong))
    env = os.environ | {"MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, str(mutated)], capture_output=True, text=True, env=env, timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("notebook", "correct", "wrong", "message"),
    [
        # derivation 4: gamma_2 = kappa_x IPR, with the IPR's exponent wrong, against samples
        ("independent_check.py", "(w**2).sum(-1) ** 2", "(w**2).sum(-1) ** 1.9", "gamma_2(lambda) != kappa_x IPR(w)"),
        # derivation 5: one coefficient of the cavity formula wrong, against cavity.exact
        ("nlgp_cumulants_check.py", "+ 6 * w**2 * np.diagonal(Tww)", "+ 5 * w**2 * np.diagonal(Tww)", "cavity theory"),
        # derivation 6: the top-n IPR with the tail's fourth moment wrong, against the Monte Carlo null
        ("nulls_check.py", "3 * q * phi + 3 * tail", "3 * q * phi + 2 * tail", "top-n IPR disagrees"),
        # derivation 1: the arcsine law with a wrong denominator, against the samples' covariance
        (
            "nlgp_check.py",
            "np.arcsin(GAIN**2 * C / (1 + GAIN**2))",
            "np.arcsin(GAIN**2 * C / (2 + GAIN**2))",
            "arcsine",
        ),
    ],
)
def test_theory_check_fails_on_a_wrong_formula(tmp_path, notebook, correct, wrong, message):
    result = run_mutated(tmp_path, notebook, correct, wrong)
    assert result.returncode != 0
    assert "AssertionError" in result.stderr and message in result.stderr, result.stderr[-2000:]


def test_every_derivation_has_a_check_notebook_in_the_site():
    pages = {p.stem for p in THEORY.glob("*.md")} - {"index"}
    checks = {p.stem.removesuffix("_check") for p in THEORY.glob("*_check.py")}
    assert pages == checks and len(pages) >= 5
    nav = (ROOT / "mkdocs.yml").read_text()
    for name in pages:
        assert f"theory/{name}.md" in nav and f"theory/{name}_check.py" in nav
    for notebook in (ROOT / "notebooks").glob("*.py"):
        assert f"notebooks/{notebook.name}" in nav


def test_generated_reference_documents_every_variable_and_config_key():
    sys.path.insert(0, str(ROOT))
    try:
        import mkdocs_hooks
    finally:
        sys.path.pop(0)
    schema_page, config_page = mkdocs_hooks.schema_reference(), mkdocs_hooks.config_reference()
    for name in [*VARIABLES, *CUMULANT_VARIABLES]:
        assert f"| `{name}` |" in schema_page, f"the schema page misses the round variable {name}"
    tables = (
        {"top level": RunConfig}
        | {f"[{name}]": cls for name, cls in _SECTIONS.items() if name != "data"}
        | {f'[data], source = "{source}"': cls for source, cls in DATA_SOURCES.items()}
    )
    for title, cls in tables.items():
        table = config_page.split(f"## {title}\n")[1].split("\n## ")[0]  # each source's keys in its own table
        for item in dataclasses.fields(cls):
            if item.name not in _SECTIONS:
                row = next(line for line in table.splitlines() if line.startswith(f"| `{item.name}` |"))
                assert not row.endswith("|  |"), f"config key {item.name} of {title} has no description"


def test_nothing_points_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    outside = re.compile(r"\.\./shared|REFERENCE\.md|DESIGN\.md")
    offenders = [
        name
        for name in tracked
        if name.endswith((".py", ".md", ".toml", ".yml", ".txt", "Makefile"))
        and name != "tests/test_docs.py"
        and outside.search((ROOT / name).read_text(errors="replace"))
    ]
    assert offenders == []


def test_the_site_sources_hold_no_python_file_mkdocs_would_publish():
    stray = [str(path.relative_to(ROOT)) for path in (ROOT / "docs").rglob("*.py")]
    assert not stray, f"mkdocs copies every file of docs/ into the site: {stray}"


@pytest.mark.slow
def test_the_readme_python_blocks_run_in_order():
    """The README's examples, run as a reader would paste them: one namespace, top to bottom."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) >= 3
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["delta"].shape == (8, 400) and namespace["X"].shape == (100_000, 400)
    assert namespace["correlated"].shape == (8, 400) and namespace["X2"].shape == (10_000, 400)


def test_the_version_is_the_same_in_the_package_the_citation_and_the_changelog():
    import tomllib

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"\nversion: {version}\n" in (ROOT / "CITATION.cff").read_text()
    releases = re.findall(r"^## (\d+\.\d+\.\d+)", (ROOT / "CHANGELOG.md").read_text(), flags=re.MULTILINE)
    assert releases[0] == version
    assert "10.48550/arXiv.2412.06545" in (ROOT / "CITATION.cff").read_text()
    assert (ROOT / "cavitykit" / "py.typed").is_file()


def test_the_site_check_finds_what_a_browser_would_fetch_from_outside():
    sys.path.insert(0, str(ROOT))
    try:
        import mkdocs_hooks
    finally:
        sys.path.remove(str(ROOT))
    page = (
        '<link rel="stylesheet" href="../assets/main.css"><script src="javascripts/mathjax.js"></script>'
        '<a href="https://example.org/paper">a link is not fetched</a>'
    )
    assert mkdocs_hooks.external_requests(page) == []
    fonts = '<link rel="preconnect" href="https://fonts.gstatic.com" crossorigin>'
    module = '<script type="module">const m = await import("https://cdn.example/m.mjs");</script>'
    style = "<style>@import url('//fonts.example/roboto.css');</style>"
    assert mkdocs_hooks.external_requests(fonts + module + style) == [
        "https://fonts.gstatic.com",
        "https://cdn.example/m.mjs",
        "//fonts.example/roboto.css",
    ]
    assert mkdocs_hooks.external_requests('<pre class="mermaid">graph LR</pre>')  # drawn by a CDN script
    # The notebook pages' mermaid loader (no notebook draws a diagram) is taken out, nothing else.
    loader = (
        '<script type="module">\n  document.addEventListener("DOMContentLoaded", async () => {\n'
        '    const diagrams = document.querySelectorAll(".jp-Mermaid > pre.mermaid");\n'
        '    const mermaid = (await import("https://cdnjs.cloudflare.com/m.mjs")).default;\n  });\n</script>'
    )

    class Page:
        class file:
            src_path = "notebooks/quickstart.py"

    assert mkdocs_hooks.on_post_page(page + loader, Page, None) == page
    with pytest.raises(Exception, match=r"notebooks/quickstart.py would fetch from outside the site"):
        mkdocs_hooks.on_post_page(page + fonts, Page, None)
