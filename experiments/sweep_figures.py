"""A sweep's claims as a figure and a table: ``analysis.sweep_verdicts`` -> PNG + Markdown.

Judges every finished grid point as ``cavitykit report`` judges a run (learned units, matched
survivors, the nulls and the control branches the points carry), so it also runs on a sweep that is
still going (unfinished points are left out).  Example:

    cavitykit sweep experiments/gain_sweep.toml --out results/sweeps/quick
    python experiments/sweep_figures.py results/sweeps/quick --name gain --out docs/results/sweeps/quick
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from cavitykit import analysis, plot
from cavitykit.variants import label

VERDICT = {1.0: "**yes**", 0.0: "no"}


def _cell(one, name: str, digits: int = 2, sign: bool = False) -> str:
    """A replicate mean with its 95% interval, or a dash where the point has none."""
    value = float(one[name]) if name in one else np.nan
    if not np.isfinite(value):
        return "–"
    form = f"{'+' if sign else ''}.{digits}f"
    return f"{value:{form}} [{float(one[f'{name}_low']):{form}}, {float(one[f'{name}_high']):{form}}]"


def _verdict(one, claim: str) -> str:
    value = float(one[f"{claim}_supported"])
    return VERDICT.get(value, "not tested")


def table(verdicts) -> str:
    """The figure's numbers as Markdown tables, one per claim (replicate means and 95% intervals)."""
    (axis,) = verdicts.dims
    model = label(verdicts.attrs["pair"][0])
    sections = {
        "Claim 1: localization at matched survivors n* (learned units)": (
            f"| {axis} | learned units {model} / clone | n* | bumps {model} | bumps clone | bump gap "
            f"| IPR / top-n null {model} | IPR / top-n null clone | IPR gap | supported |",
            lambda one: (
                f"{float(one.learned_model):.1f} / {float(one.learned_clone):.1f} | {float(one.n_star):.0f} | "
                f"{_cell(one, 'bump_model')} | {_cell(one, 'bump_clone')} | {_cell(one, 'bump_gap', sign=True)} | "
                f"{_cell(one, 'ipr_over_top_model')} | {_cell(one, 'ipr_over_top_clone')} | "
                f"{_cell(one, 'ipr_gap', sign=True)} | {_verdict(one, 'localization')} |"
            ),
        ),
        "Claim 2: rise of the learned units' mean |excess kurtosis|": (
            f"| {axis} | IMP ({model}) | random pruning | IMP - random | clone | supported |",
            lambda one: (
                f"{_cell(one, 'rise_imp', 3, True)} | {_cell(one, 'rise_random', 3, True)} | "
                f"{_cell(one, 'rise_gap', 3, True)} | {_cell(one, 'rise_clone', 3, True)} | "
                f"{_verdict(one, 'kurtosis')} |"
            ),
        ),
        "Claim 3: share of the weights IMP prunes whose removal raises |excess kurtosis|": (
            f"| {axis} | pruned ({model}) | kept | clone's pruned | pruned - clone | pruned - kept "
            f"| rank corr. abs(w), effect | prediction | supported |",
            lambda one: (
                f"{_cell(one, 'raising_pruned')} | {_cell(one, 'raising_kept')} | "
                f"{_cell(one, 'raising_clone')} | {_cell(one, 'raising_gap', sign=True)} | "
                f"{_cell(one, 'raising_specific', sign=True)} | {_cell(one, 'rho', sign=True)} | "
                f"{_cell(one, 'rho_theory', sign=True)} | {_verdict(one, 'cavity')} |"
            ),
        ),
        "Claim 4: bumps among learned units at one-shot pruning's per-unit survivor count": (
            f"| {axis} | IMP ({model}) | one-shot | dense field cut to n | IMP - one-shot | supported |",
            lambda one: (
                f"{_cell(one, 'bump_imp_matched')} | {_cell(one, 'bump_one_shot_matched')} | "
                f"{_cell(one, 'bump_dense_cut_matched')} | {_cell(one, 'iterative_gap', sign=True)} | "
                f"{_verdict(one, 'iterative')} |"
            ),
        ),
    }
    lines = []
    for value in verdicts[axis].values:
        reason = str(verdicts.reason.sel({axis: value}).values) if "reason" in verdicts else ""
        if reason and reason != "nan":
            lines += [f"At {axis} = {value} no claim is judged: {reason.removesuffix('; see the unit classes')}.", ""]
    for title, (head, row) in sections.items():
        lines += [f"### {title}", "", head, "|" + "---|" * (head.count("|") - 1)]
        lines += [f"| {value} | {row(verdicts.sel({axis: value}))}" for value in verdicts[axis].values]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path, help="the --out of cavitykit sweep")
    parser.add_argument("--name", help="the sweep, when the root holds several")
    parser.add_argument("--out", type=Path, required=True, help="folder for <name>.png and <name>.md")
    args = parser.parse_args()
    verdicts = analysis.sweep_verdicts(args.root, name=args.name)
    args.out.mkdir(parents=True, exist_ok=True)
    name = verdicts.attrs["sweep"]
    plot.sweep_verdicts(verdicts).savefig(args.out / f"{name}.png", dpi=110)
    (args.out / f"{name}.md").write_text(table(verdicts))
    print(table(verdicts))


if __name__ == "__main__":
    main()
