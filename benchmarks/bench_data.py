"""NLGP sampling vs the multivariate-normal route: ``python benchmarks/bench_data.py``.

Same as ``cavitykit bench data``; the code lives in ``cavitykit.bench.data``.
"""

from cavitykit.bench.data import main

if __name__ == "__main__":
    main()
