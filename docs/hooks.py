"""mkdocs hook: the command-line reference page, generated from the argparse parser so it never drifts."""

from __future__ import annotations

import argparse
import os

from mkdocs.structure.files import File

from cavitykit.cli import build_parser


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


def on_files(files, config):
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    return files
