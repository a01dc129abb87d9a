"""Slow, independent reference implementations and assertion helpers for tests.

Nothing here is fast; everything here is simple enough to trust by reading.
"""

from cavitykit.testing.cavity import brute_force_cavity
from cavitykit.testing.references import kstat_by_definition, kstat_two_pass

__all__ = ["brute_force_cavity", "kstat_by_definition", "kstat_two_pass"]
