"""Slow, independent reference implementations and assertion helpers for tests.

Nothing here is fast; everything here is simple enough to trust by reading.  The test suite uses
these helpers, and users can check their own estimates with them.
"""

from cavitykit.testing.assertions import assert_close_to_reference, assert_within_sampling_error
from cavitykit.testing.cavity import brute_force_cavity
from cavitykit.testing.references import kstat_by_definition, kstat_two_pass
from cavitykit.testing.runs import example_run

__all__ = [
    "assert_close_to_reference",
    "assert_within_sampling_error",
    "brute_force_cavity",
    "example_run",
    "kstat_by_definition",
    "kstat_two_pass",
]
