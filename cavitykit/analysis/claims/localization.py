"""Claim 1: IMP localizes the model's learned units more than its Gaussian clone's, at matched survivors,
beside the nulls of magnitude pruning and the pruning controls."""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from cavitykit import metrics
from cavitykit.analysis.claims._common import (
    BUMP_MARGIN,
    DIFFERENCE,
    SHAPE_MEASURES,
    Claim,
    Evidence,
    Interval,
    intervals,
    measures_at,
)
from cavitykit.analysis.units import at_matched_survivors
from cavitykit.branches import ONE_SHOT
from cavitykit.io.schema import seen_pixels


@dataclasses.dataclass(frozen=True)
class AtSurvivors:
    """A branch's learned units beside IMP's at survivor count ``n``: each of ``SHAPE_MEASURES`` as a
    replicate interval (IMP's NaN where its rounds never reach n)."""

    n: float
    branch: dict[str, Interval]
    imp: dict[str, Interval]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Localization(Claim):
    """Claim 1's result.

    Attributes
    ----------
    n_star : float
        The comparison point: the sparsest survivor count every learned unit of both variants reaches
        within its accurate rounds.
    accurate_round : dict of str to int
        Per variant, the last accurate round (``accurate_rounds``).
    shapes : dict of str to dict of str to int
        Per variant, the learned units of each shape class at that round, over replicates.
    model, clone : dict of str to Interval
        Each of ``SHAPE_MEASURES`` at n*.
    bump_gap, ipr_gap : Interval
        Paired model - clone differences of the bump share and of the IPR over the top-n null.
    curve : xarray.Dataset over (variant, replicate, n)
        ``bump`` and ``ipr_over_top`` along the survivor grid.
    controls : dict of str to AtSurvivors
        Per control branch, the model's units at n*, or at the branch's mean final count when it never
        reaches n* (one-shot pruning always).
    """

    name = "localization"
    statement = "1. Non-Gaussian inputs are necessary: IMP localizes on {label}, not on its Gaussian clone."
    criterion = (
        "at matched survivors, the bump share of learned units exceeds the clone's by at least {margin} and their IPR "
        "over the top-n null exceeds the clone's, both 95% intervals above 0"
    )

    n_star: float | None = None
    accurate_round: dict[str, int] | None = None
    shapes: dict[str, dict[str, int]] | None = None
    model: dict[str, Interval] | None = None
    clone: dict[str, Interval] | None = None
    bump_gap: Interval | None = None
    ipr_gap: Interval | None = None
    curve: xr.Dataset | None = None
    controls: dict[str, AtSurvivors] | None = None


def control_at_survivors(evidence: Evidence, name: str, n_star: float) -> AtSurvivors:
    """The model's learned units of control branch ``name`` beside IMP's: at n* when every learned unit of
    the branch reaches it (not one-shot pruning, whose single step leaves few weights), else at the
    branch's mean final survivor count."""
    model = evidence.model
    branch = evidence.branch_measures(name).sel(variant=[model])
    final = branch.n_kept.where(branch.learned).isel(round=-1)
    n = n_star if float(final.max()) <= n_star and name != ONE_SHOT.name else float(final.mean())
    return AtSurvivors(
        n=n,
        branch=intervals(measures_at(branch, model, SHAPE_MEASURES, n)),
        imp=intervals(measures_at(evidence.measures, model, SHAPE_MEASURES, n)),
    )


def claim_localization(evidence: Evidence) -> Localization:
    """Claim 1: IMP localizes the model's learned units more than the clone's, at matched survivors.

    The comparison point n* is the sparsest survivor count that every learned unit of both variants
    reaches within its accurate rounds (``accurate_rounds``): the largest count among them at the last
    accurate round, so that no unit drops out of the comparison.  At n*, per replicate: the share of
    learned units whose shape is a bump, and the IPR over the null of its survivor count (top n of D
    magnitudes).  The verdict asks a bump-share gap model - clone of at least ``BUMP_MARGIN`` with its
    interval above 0, and an IPR-over-null gap whose interval is above 0.  Every control branch gets a
    line for the model (``control_at_survivors``).

    Parameters
    ----------
    evidence : Evidence

    Returns
    -------
    Localization
    """
    run, pair, measures, last = evidence.run, evidence.pair, evidence.measures, evidence.accurate
    model, clone = pair
    limits, shapes = [], {}
    for variant in pair:
        one = measures.sel(variant=variant).isel(round=int(last.sel(variant=variant)))
        limits.append(float(one.n_kept.where(one.learned).max()))
        found = one["shape"].values[one.learned.values]
        shapes[variant] = {name: int((found == name).sum()) for name in metrics.SHAPE_CLASSES}
    n_star = max(limits)  # every learned unit of both variants has reached it within its accurate rounds
    if not np.isfinite(n_star):
        raise ValueError(f"claim 1 needs learned units in both {model!r} and {clone!r}: some network has none")
    at = {variant: measures_at(measures, variant, SHAPE_MEASURES, n_star) for variant in pair}
    D = int(seen_pixels(run).sum())
    p = 1 - float(run.sparsity.isel(round=1).mean()) if run.sizes["round"] > 1 else 1.0
    grid = np.array(sorted({round(D * p**r) for r in range(run.sizes["round"])} | {round(n_star)}, reverse=True))
    curve = xr.Dataset(
        {name: at_matched_survivors(measures.sel(variant=list(pair)), name, grid) for name in ("bump", "ipr_over_top")}
    )
    bump_gap = Interval.over_replicates(at[model]["bump"] - at[clone]["bump"], DIFFERENCE)
    ipr_gap = Interval.over_replicates(at[model]["ipr_over_top"] - at[clone]["ipr_over_top"])
    return Localization(
        tested=True,
        supported=bool(bump_gap.mean >= BUMP_MARGIN and bump_gap.above_zero and ipr_gap.above_zero),
        n_star=n_star,
        accurate_round={str(v): int(last.sel(variant=v)) for v in pair},
        shapes=shapes,
        model=intervals(at[model]),
        clone=intervals(at[clone]),
        bump_gap=bump_gap,
        ipr_gap=ipr_gap,
        curve=curve,
        controls={name: control_at_survivors(evidence, name, n_star) for name in evidence.controls},
    )
