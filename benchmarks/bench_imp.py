"""Paper-size IMP training, ensemble trainer vs the Ingrosso-Goldt peer loop: ``python benchmarks/bench_imp.py``.

Same as ``cavitykit bench imp``; the code lives in ``cavitykit.bench.imp``.
"""

from cavitykit.bench.imp import main

if __name__ == "__main__":
    main()
