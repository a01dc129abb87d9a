"""Cumulant engine vs scipy.stats and the one-read floor: ``python benchmarks/bench_cumulants.py``.

Same as ``cavitykit bench cumulants``; the code lives in ``cavitykit.bench.cumulants``.
"""

from cavitykit.bench.cumulants import main

if __name__ == "__main__":
    main()
