"""Sweep scaling, 1 vs 2 workers: ``python benchmarks/bench_sweep.py``.

Same as ``cavitykit bench sweep``; the code lives in ``cavitykit.bench.sweep``.
"""

from cavitykit.bench.sweep import main

if __name__ == "__main__":
    main()
