"""IMP training step vs a plain torch loop, and seconds per round: ``python benchmarks/bench_imp.py``.

Same as ``cavitykit bench imp``; the code lives in ``cavitykit.bench.imp``.
"""

from cavitykit.bench.imp import main

if __name__ == "__main__":
    main()
