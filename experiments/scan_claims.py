"""Scan data and network settings for a fair test of the three claims (``docs/report.md``).

Runs the quick preset with some settings replaced, into ``--out`` (not committed), and prints,
per variant and round, the mean IPR, the fraction of localized units and the mean RF width, then
the pooled cavity fractions (pruned / kept / random). Example:

    python experiments/scan_claims.py --xi 4 20 --gain 10 --rounds 7 --replicates 1
"""

from __future__ import annotations

import argparse
import dataclasses
import time

from cavitykit import analysis
from cavitykit.imp import load_preset, run
from cavitykit.io import open_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--xi", type=float, nargs=2, default=(4.0, 20.0))
    parser.add_argument("--gain", type=float, default=10.0)
    parser.add_argument("--width", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--replicates", type=int, default=1)
    parser.add_argument("--out", default="results/scan")
    args = parser.parse_args()
    base = load_preset("quick")
    config = dataclasses.replace(
        base,
        name="scan",
        replicates=args.replicates,
        data=dataclasses.replace(base.data, xi=tuple(args.xi), gain=args.gain),
        network=dataclasses.replace(base.network, width=args.width),
        imp=dataclasses.replace(base.imp, rounds=args.rounds),
        analysis=dataclasses.replace(base.analysis, n_heldout=10_000),
    )
    start = time.perf_counter()
    ds = open_run(run(config, args.out, progress=False))
    summary = analysis.round_summary(ds)
    groups = analysis.cavity_groups(ds).sel(variant="nlgp")
    print(f"xi = {args.xi}, gain = {args.gain}, width = {args.width}, {time.perf_counter() - start:.0f} s")
    for variant in summary.variant.values:
        one = summary.sel(variant=variant)
        print(f"{variant:15s} IPR       {one.ipr.values.round(3)}")
        print(f"{'':15s} localized {one.localized_fraction.values.round(2)}")
        print(f"{'':15s} RF width  {one.rf_width.values.round(1)}")
    pooled = {}
    for name in ("pruned", "kept", "random"):
        count = groups[f"count_{name}"]
        pooled[name] = float((groups[f"fraction_raising_{name}"] * count).sum() / count.sum())
    print("fraction raising |kurtosis| (NLGP): " + ", ".join(f"{k} {v:.3f}" for k, v in pooled.items()))


if __name__ == "__main__":
    main()
