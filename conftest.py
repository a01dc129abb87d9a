"""Checks for the whole session, doctests of the package included."""

import hashlib

import pytest

from cavitykit.testing.runs import EXAMPLE_RUN


def _contents(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="session", autouse=True)
def example_run_stays_read_only():
    """The stored example run is shared by every doctest: nothing may write into it."""
    before = _contents(EXAMPLE_RUN)
    yield
    assert _contents(EXAMPLE_RUN) == before, f"something wrote into {EXAMPLE_RUN}"
