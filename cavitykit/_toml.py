"""TOML literals for the files cavitykit writes (configs, sweep indexes); tomllib reads them back."""

from __future__ import annotations

import json


def toml_value(value) -> str:
    """A Python value as a TOML literal (strings, booleans, numbers, lists).

    Examples
    --------
    >>> toml_value([1.0, 3.0]), toml_value(True), toml_value("erf")
    ('[1.0, 3.0]', 'true', '"erf"')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)
