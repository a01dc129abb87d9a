"""A sweep's claims as a figure and a table: ``cavitykit.open_sweep`` -> ``analysis.sweep_claims`` -> PNG + Markdown.

Reads the sweep lazily and loads only what the claims need, so it also runs on a sweep that is still
going (unfinished points are NaN).  Example:

    cavitykit sweep experiments/gain_sweep.toml --out results/sweeps/quick
    python experiments/sweep_figures.py results/sweeps/quick --name gain --out docs/results/sweeps/quick
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cavitykit import analysis, open_sweep, plot
from cavitykit.variants import LABELS, compared_pair

NEEDED = [
    "weight",
    "mask",
    "ipr",
    "pruned_next",
    "sparsity",
    "test_accuracy",
    "preact_excess_kurtosis",
    "cavity_exact",
    "cavity_theory",
    "theory_excess_kurtosis",
]


def table(claims, pair) -> str:
    """The figure's numbers as a Markdown table (mean ± standard error over replicates)."""
    (axis,) = claims.width_ratio.dims
    model, clone = pair
    head = (
        f"| {axis} | sparsity | RF width {LABELS[model]} / clone | localized {LABELS[model]} / clone "
        f"| |κ| rise {LABELS[model]} / clone | claim-3 AUC [95%] | prediction AUC |"
    )
    lines = [head, "|" + "---|" * 7]

    for value in claims[axis].values:
        one = claims.sel({axis: value})

        def pm(name, variant=None, one=one):
            values = one.sel(variant=variant) if variant else one
            return f"{float(values[name]):.2f} ± {float(values[f'{name}_se']):.2f}"

        auc = (
            f"{float(one.auc):.3f} [{float(one.auc_low):.3f}, {float(one.auc_high):.3f}]"
            if "auc" in one and np.isfinite(one.auc)
            else "–"
        )
        theory = f"{float(one.auc_theory):.3f}" if "auc_theory" in one and np.isfinite(one.auc_theory) else "–"
        lines.append(
            f"| {value} | {float(one.sparsity):.2f} | {pm('rf_width', model)} / {pm('rf_width', clone)} "
            f"| {pm('localized_fraction', model)} / {pm('localized_fraction', clone)} "
            f"| {pm('kurtosis_rise', model)} / {pm('kurtosis_rise', clone)} | {auc} | {theory} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the --out of cavitykit sweep")
    parser.add_argument("--name", help="the sweep, when the root holds several")
    parser.add_argument("--out", type=Path, required=True, help="folder for <name>.png and <name>.md")
    args = parser.parse_args()
    sweep = open_sweep(args.root, name=args.name)
    loaded = sweep[[name for name in NEEDED if name in sweep]].compute()
    pair = compared_pair(loaded.variant.values)
    claims = analysis.sweep_claims(loaded, pair)
    args.out.mkdir(parents=True, exist_ok=True)
    name = sweep.attrs["sweep"]
    plot.sweep_claims(claims, pair).savefig(args.out / f"{name}.png", dpi=110)
    (args.out / f"{name}.md").write_text(table(claims, pair))
    print(table(claims, pair))


if __name__ == "__main__":
    main()
