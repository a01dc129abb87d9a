"""Streamed spectra on dask vs in memory: ``python benchmarks/bench_stream.py``.

Same as ``cavitykit bench stream``; the code lives in ``cavitykit.bench.stream``.
"""

from cavitykit.bench.stream import main

if __name__ == "__main__":
    main()
