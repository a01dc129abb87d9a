"""Exact cavity ablation vs the naive loop and the floor: ``python benchmarks/bench_cavity.py``.

Same as ``cavitykit bench cavity``; the code lives in ``cavitykit.bench.cavity``.
"""

from cavitykit.bench.cavity import main

if __name__ == "__main__":
    main()
