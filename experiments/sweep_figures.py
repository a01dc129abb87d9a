"""A sweep's claims stored for publication: ``analysis.sweep_verdicts`` -> ``NAME.nc`` + ``NAME.png``, then
every generated page of the results folder (``cavitykit index``: the sweep's tables and both indexes).

Judges every finished grid point as ``cavitykit report`` judges a run (learned units, matched
survivors, the nulls and the control branches the points carry), so it also runs on a sweep that is
still going (unfinished points are left out).  The pages are written from the stored ``.nc`` files alone,
so ``cavitykit index docs/results`` rewrites them without the sweep's run directories.  Example:

    cavitykit sweep experiments/gain_sweep.toml --out results/sweeps/quick
    python experiments/sweep_figures.py results/sweeps/quick --name gain --out docs/results/sweeps/quick
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cavitykit import analysis, plot
from cavitykit.io import write_sweep_verdicts
from cavitykit.report.published import write_results_index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the --out of cavitykit sweep")
    parser.add_argument("--name", help="the sweep, when the root holds several")
    parser.add_argument("--out", type=Path, required=True, help="docs/results/sweeps/GROUP: for NAME.nc, .png, .md")
    args = parser.parse_args()
    verdicts = analysis.sweep_verdicts(args.root, name=args.name)
    args.out.mkdir(parents=True, exist_ok=True)
    name = verdicts.attrs["sweep"]
    plot.sweep_verdicts(verdicts).savefig(args.out / f"{name}.png", dpi=110)
    print(f"stored: {write_sweep_verdicts(args.out / f'{name}.nc', verdicts)}")
    for page in write_results_index(args.out.parent.parent):  # the tables and both indexes, from the files
        print(f"page: {page}")


if __name__ == "__main__":
    main()
