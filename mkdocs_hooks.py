"""mkdocs hook: the reference pages generated from the code so they never drift: the command line (from
the argparse parser), the configuration keys (from the config dataclasses) and the round schema (from
``cavitykit.io.schema``); and a site that works offline: every page is checked for anything the browser
would fetch from outside the site, which fails the build."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import os
import re
from pathlib import Path

import jupyter_server_mathjax
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File

from cavitykit import config as run_config
from cavitykit.cli import build_parser
from cavitykit.io import schema


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices) if actions else {}


def cli_reference() -> str:
    """The Markdown text of ``cli.md``: ``cavitykit --help`` and every subcommand's ``--help``."""
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal; fix it for reproducible pages
    parser = build_parser()
    parts = [
        "# Command line",
        "",
        "Generated from `cavitykit.cli.build_parser()` at every build. Every command exits non-zero with a",
        "message naming the argument and its value on bad input, and writes nothing half-done.",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
    ]
    for name, sub in _subcommands(parser).items():
        parts += ["", f"## `cavitykit {name}`", "", "```text", sub.format_help().rstrip(), "```"]
    return "\n".join(parts) + "\n"


def _parameter_docs(cls) -> dict[str, str]:
    """Each parameter's description from a numpydoc ``Parameters`` section, joined into one line."""
    doc = inspect.getdoc(cls) or ""
    section = re.search(r"Parameters\n-+\n(.*?)(?:\n\n[A-Z][a-z]+\n-+\n|\Z)", doc, re.S)
    described, names = {}, []
    for line in (section.group(1) if section else "").splitlines():
        if line and not line.startswith(" "):
            names = [name.strip() for name in line.split(":")[0].split(",")]
            kind = line.split(":", 1)[1].strip() if ":" in line else ""
            for name in names:
                described[name] = f"{kind}." if kind else ""
        elif line.strip():
            for name in names:
                described[name] = f"{described[name]} {line.strip()}".strip()
    return described


def config_reference() -> str:
    """The Markdown text of ``reference/config.md``: every key of every table, its default and meaning."""
    parts = [
        "# Configuration keys",
        "",
        "Generated from the dataclasses of `cavitykit.config` at every build. A run's TOML file has top-level",
        "keys and one table per section; a missing key takes its default, an unknown one is an error. The",
        "`[data]` table holds the keys of its `source` only; a key of another source is refused.",
    ]
    sections = [("top level", run_config.RunConfig)]
    for name, cls in run_config._SECTIONS.items():
        if name == "data":  # a table per source, each with only its own keys
            sections += [(f'[data], source = "{source}"', one) for source, one in run_config.DATA_SOURCES.items()]
        else:
            sections.append((f"[{name}]", cls))
    for title, cls in sections:
        described = _parameter_docs(cls)
        parts += ["", f"## {title}", "", "| key | default | meaning |", "|---|---|---|"]
        for item in dataclasses.fields(cls):
            if item.name in run_config._SECTIONS:
                continue
            default = item.default if item.default is not dataclasses.MISSING else item.default_factory()
            meaning = described.get(item.name, "").replace("|", "\\|")
            parts.append(f"| `{item.name}` | `{default!r}` | {meaning} |")
    return "\n".join(parts) + "\n"


def schema_reference() -> str:
    """The Markdown text of ``reference/schema.md``: every variable of a round file and of ``cumulants.nc``."""
    parts = [
        "# Round schema",
        "",
        f"Generated from `cavitykit.io.schema` at every build (schema `{schema.SCHEMA}`). Every variable",
        "of a round file also has the dims `variant`, `replicate` and `round` (length 1 in the file, combined",
        'by `open_run`), `long_name` and `units = "1"`; optional variables are absent when the run does',
        "not compute them. Booleans are stored as uint8 flags with `flag_values` and `flag_meanings`.",
        f"For a readout of C > 2 outputs, {', '.join(f'`{name}`' for name in schema.READOUT_VARIABLES)} run",
        "over (`output`, `neuron`) where the table says `neuron`. A network of several hidden layers",
        "(`network.hidden`) keeps its layers 2..L in the `layer_*` variables, stacked along `layer` and padded to",
        "the widest (NaN weights, false flags beyond a layer's own `layer_width` x `layer_fan_in`), and its",
        "readout's variables run over `last_neuron` (the last layer's units) where the table says `neuron`.",
        "With batch normalization (`network.batch_norm`), the `norm_*` variables hold that of the inputs of",
        "layers 1..L and of the readout along `norm_layer` (1..L+1), padded to the widest input (NaN beyond",
        "`norm_fan_in`).",
        "",
        "| variable | dims within a round | long_name |",
        "|---|---|---|",
    ]
    for name, (dims, long_name) in schema.VARIABLES.items():
        parts.append(f"| `{name}` | {', '.join(dims) or '(scalar)'} | {long_name} |")
    parts += [
        "",
        "`cumulants.nc`, written by `cavitykit cumulants RUN` and merged by `open_run` once it exists,",
        f"has dims {', '.join(schema.CUMULANT_DIMS)}:",
        "",
        "| variable | long_name |",
        "|---|---|",
    ]
    parts += [f"| `{name}` | {long_name} |" for name, long_name in schema.CUMULANT_VARIABLES.items()]
    parts += ["", "Coordinates (each with its `long_name`):", "", "| coordinate | long_name |", "|---|---|"]
    parts += [f"| `{name}` | {long_name} |" for name, long_name in schema.COORDINATE_NAMES.items()]
    return "\n".join(parts) + "\n"


def mathjax_files(config) -> list[File]:
    """MathJax 2 as files of the site (javascripts/mathjax/...), from the jupyter-server-mathjax package, so
    that formulas render without internet."""
    source = Path(jupyter_server_mathjax.__file__).parent / "static"
    return [
        File.generated(config, f"javascripts/mathjax/{path.relative_to(source).as_posix()}", abs_src_path=str(path))
        for path in sorted(source.rglob("*"))
        if path.is_file()
    ]


def on_files(files, config):
    for file in mathjax_files(config):
        files.append(file)
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    files.append(File.generated(config, "reference/config.md", content=config_reference()))
    files.append(File.generated(config, "reference/schema.md", content=schema_reference()))
    return files


# URLs a browser fetches while it loads a page: the sources of scripts, stylesheets, images and frames,
# and modules or stylesheets a script or style imports.
_FETCHED = re.compile(
    r"<(?:script|link|img|iframe|source|video|audio|embed)\b[^>]*?\s(?:src|href)\s*=\s*[\"']((?:https?:)?//[^\"']+)",
    re.I,
)
_IMPORTED = re.compile(r"""(?:\bimport\s*\(|@import\s+url\(|@import\s+)\s*["']?((?:https?:)?//[^"')\s]+)""", re.I)
_DIAGRAM = re.compile(r"""class=["'][^"']*\b(?:mermaid|jp-Mermaid)\b""")
# The notebook pages' loader of mermaid from a CDN: it runs only for diagrams, which no notebook draws.
_MERMAID_LOADER = re.compile(
    r'<script type="module">\s*document\.addEventListener\("DOMContentLoaded", async \(\) => \{\s*'
    r"const diagrams = document\.querySelectorAll\(\"\.jp-Mermaid.*?</script>",
    re.S,
)


def external_requests(html: str) -> list[str]:
    """The URLs outside the site that a browser would fetch to show ``html``; a mermaid diagram counts
    as one (its script comes from a CDN)."""
    found = _FETCHED.findall(html) + _IMPORTED.findall(html)
    if _DIAGRAM.search(html):
        found.append("mermaid (a diagram, drawn by a script from a CDN)")
    return found


def on_post_page(output: str, page, config) -> str:
    output = _MERMAID_LOADER.sub("", output)
    found = external_requests(output)
    if found:
        raise PluginError(f"{page.file.src_path} would fetch from outside the site: {sorted(set(found))}")
    return output
