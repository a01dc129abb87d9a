"""Side-by-side ratio benchmarks (``cavitykit bench NAME``; scripts in ``benchmarks/``)."""

from cavitykit.bench._timing import best_time, best_times, one_read_floor

__all__ = ["best_time", "best_times", "one_read_floor"]
