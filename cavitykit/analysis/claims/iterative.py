"""Claim 4: iterative pruning localizes a unit more than one-shot pruning to the same survivor count,
with the dense field cut to that count as the no-retraining control."""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr

from cavitykit import metrics
from cavitykit.analysis.claims._common import (
    BUMP_MARGIN,
    DIFFERENCE,
    MIN_SHAPE_SURVIVORS,
    Claim,
    Evidence,
    Interval,
    intervals,
)
from cavitykit.analysis.units import unit_measures
from cavitykit.branches import IMP, ONE_SHOT, RANDOM
from cavitykit.io.schema import grid_shape, periodic_grid


@dataclasses.dataclass(frozen=True)
class Matched:
    """Claim 4's units at their one-shot survivor counts.

    Attributes
    ----------
    imp, one_shot, dense_cut : Interval
        Bump shares over the compared units under IMP, one-shot pruning, and the dense field cut to n.
    gap : Interval
        IMP - one-shot.
    n : float
        Mean survivors of the compared units.
    learned, compared, emptied, too_few, outside : int
        Unit counts over all replicates: learned units; compared; left with no weight; with fewer than
        ``MIN_SHAPE_SURVIVORS``; at a count outside IMP's rounds.
    replicates_compared : int
        Replicates with at least one compared unit (the claim needs two).
    """

    imp: Interval
    one_shot: Interval
    dense_cut: Interval
    gap: Interval
    n: float
    learned: int
    compared: int
    emptied: int
    too_few: int
    outside: int
    replicates_compared: int


@dataclasses.dataclass(frozen=True)
class FinalShapes:
    """A branch's learned units after its last round at equal layer sparsity (``final_round_shapes``),
    with the branch's test accuracy there."""

    bump: Interval
    emptied: Interval
    n_kept: Interval
    ipr_over_top: Interval
    accuracy: float


@dataclasses.dataclass(frozen=True, kw_only=True)
class Iterative(Claim):
    """Claim 4's result.

    Attributes
    ----------
    matched : Matched or None
        None without a one-shot branch.
    sparsity : float
        The final layer sparsity.
    equal_sparsity : dict of str to FinalShapes
        Per branch (IMP, one-shot, random), after the last round.
    """

    name = "iterative"
    statement = "4. Iterative pruning localizes a unit more than one-shot pruning to the same number of weights."
    criterion = (
        "per learned unit at the same number of weights, the bump share under IMP exceeds one-shot pruning's by at "
        "least {margin}, its 95% interval above 0"
    )

    matched: Matched | None = None
    sparsity: float | None = None
    equal_sparsity: dict[str, FinalShapes] | None = None


# Why claim 4 is not tested without a one-shot branch.
WITHOUT_ONE_SHOT = "the run has no one-shot branch (imp.controls)"


def final_round_shapes(ds: xr.Dataset, model: str, measures: xr.Dataset | None = None) -> xr.Dataset:
    """The model's learned units after the last round of a run or branch, per replicate: the share that
    are bumps (a unit left with no weight is not a bump), the share left with no weight, their mean
    survivor count and the IPR over the top-n null of those with weights.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a branch.
    model : str
    measures : xarray.Dataset, optional
        ``unit_measures(ds)``, when the caller has it.

    Returns
    -------
    xarray.Dataset over replicate: ``bump``, ``emptied``, ``n_kept``, ``ipr_over_top``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> sorted(final_round_shapes(open_run(example_run()), "nlgp").data_vars)
    ['bump', 'emptied', 'ipr_over_top', 'n_kept']
    """
    measures = (unit_measures(ds) if measures is None else measures).sel(variant=model).isel(round=-1)
    learned = measures.learned
    emptied = (measures.n_kept == 0) & learned
    return xr.Dataset(
        {
            "bump": (measures.bump.fillna(0) * learned).sum("neuron") / learned.sum("neuron"),
            "emptied": emptied.sum("neuron") / learned.sum("neuron"),
            "n_kept": measures.n_kept.where(learned).mean("neuron"),
            "ipr_over_top": measures.ipr_over_top.where(learned & ~emptied).mean("neuron"),
        }
    )


def matched_one_shot(
    run: xr.Dataset,
    one_shot: xr.Dataset,
    model: str,
    measures: xr.Dataset | None = None,
    one_shot_measures: xr.Dataset | None = None,
) -> xr.Dataset:
    """Each learned unit after one-shot pruning beside the same unit under IMP at the same survivor count.

    Both branches start from the same dense networks, so a unit is its own control: one-shot pruning
    leaves it n weights; IMP's rounds take it through survivor counts around n (its bump indicator is
    interpolated in log n between the rounds that bracket n, as ``at_matched_survivors`` does); and the
    unit's dense field cut to its n largest weights is pruning without retraining.

    Parameters
    ----------
    run, one_shot : xarray.Dataset
        The magnitude-pruning run and its one-shot branch.
    model : str
    measures, one_shot_measures : xarray.Dataset, optional
        Their ``unit_measures``, when the caller has them.

    Returns
    -------
    xarray.Dataset over (replicate, neuron)
        ``n`` (one-shot's survivors), ``one_shot``, ``imp`` and ``dense_cut`` (bump indicators; IMP's may be
        fractional), ``emptied`` (learned, no weight left), ``compared`` (learned, at least
        ``MIN_SHAPE_SURVIVORS`` weights and n within IMP's rounds), ``learned``.
    """
    imp = (unit_measures(run) if measures is None else measures).sel(variant=model)
    final = (unit_measures(one_shot) if one_shot_measures is None else one_shot_measures).sel(variant=model)
    final = final.isel(round=-1)
    n = final.n_kept

    def interpolate(counts, values, target):
        ok = np.isfinite(counts) & np.isfinite(values) & (counts > 0)
        if not ok.any() or not np.isfinite(target) or target <= 0:
            return np.nan
        order = np.argsort(counts[ok])
        x, y = np.log(counts[ok][order]), values[ok][order]
        inside = x[0] - 1e-12 <= np.log(target) <= x[-1] + 1e-12
        return float(np.interp(np.log(target), x, y)) if inside else np.nan

    imp_at = xr.apply_ufunc(
        interpolate, imp.n_kept, imp.bump.astype(float), n, input_core_dims=[["round"], ["round"], []], vectorize=True
    )
    shape, periodic = grid_shape(run), periodic_grid(run)
    dense = run.weight.sel(variant=model).isel(round=0).transpose("replicate", "neuron", "input").values
    cut = metrics.cut_to_largest(dense, n.fillna(0).astype(int).values)
    dense_cut = xr.DataArray(metrics.shape_class(cut, shape, periodic=periodic) == "bump", dims=n.dims, coords=n.coords)
    learned = final.learned
    return xr.Dataset(
        {
            "n": n,
            "one_shot": final.bump,
            "imp": imp_at,
            "dense_cut": dense_cut.astype(float),
            "learned": learned,
            "emptied": learned & (n == 0),
            "compared": learned & (n >= MIN_SHAPE_SURVIVORS) & imp_at.notnull(),
        }
    )


def claim_iterative(evidence: Evidence) -> Iterative:
    """Claim 4: iterative pruning localizes a unit more than one-shot pruning to the same survivor count.

    Per learned unit of the model (``matched_one_shot``): the one-shot branch's final field against the same
    unit under IMP at the same number of weights, with the dense field cut to that number beside them.
    Units left with no weight, or too few for a shape (``MIN_SHAPE_SURVIVORS``), or with a count outside
    IMP's rounds, are counted apart, never scored.  Per replicate, the share of compared units that are
    bumps; supported when the gap IMP - one-shot is at least ``BUMP_MARGIN`` with its interval above 0.
    Not tested without a one-shot branch, or when fewer than two replicates have a compared unit.

    Beside it, the former reading at equal layer sparsity (``final_round_shapes`` after the last round,
    random pruning too): with one threshold per layer, one-shot pruning removes the small learned fields
    first, since the noise-like units are the largest; a finding of its own, not the verdict.

    Parameters
    ----------
    evidence : Evidence

    Returns
    -------
    Iterative
    """
    run, model, controls = evidence.run, evidence.model, evidence.controls
    if ONE_SHOT.name not in controls:
        return Iterative.untested(WITHOUT_ONE_SHOT)
    names = [name for name in (ONE_SHOT.name, RANDOM.name) if name in controls]
    branches = {IMP.name: (run, evidence.measures)} | {
        name: (controls[name], evidence.branch_measures(name)) for name in names
    }
    equal = {}
    for name, (branch, measures) in branches.items():
        final = intervals(dict(final_round_shapes(branch, model, measures).data_vars))
        accuracy = float(branch.test_accuracy.sel(variant=model).isel(round=-1).mean())
        equal[name] = FinalShapes(accuracy=accuracy, **final)
    units = matched_one_shot(
        run, controls[ONE_SHOT.name], model, evidence.measures, evidence.branch_measures(ONE_SHOT.name)
    )
    compared = units.compared
    share = {key: units[key].where(compared).mean("neuron") for key in ("imp", "one_shot", "dense_cut")}
    counts = {
        "compared": int(compared.sum()),
        "emptied": int(units.emptied.sum()),
        "too_few": int((units.learned & (units.n > 0) & (units.n < MIN_SHAPE_SURVIVORS)).sum()),
        "learned": int(units.learned.sum()),
    }
    counts["outside"] = counts["learned"] - counts["compared"] - counts["emptied"] - counts["too_few"]
    gap = Interval.over_replicates(share["imp"] - share["one_shot"], DIFFERENCE)
    counts["replicates_compared"] = int(compared.any("neuron").sum())
    matched = Matched(gap=gap, n=float(units.n.where(compared).mean()), **intervals(share), **counts)
    tested = counts["replicates_compared"] >= 2
    reason = (
        f"one-shot pruning leaves a learned unit a shape at a count IMP's rounds pass in "
        f"{counts['replicates_compared']} of {compared.sizes['replicate']} replicates, two needed"
    )
    return Iterative(
        tested=tested,
        supported=bool(tested and gap.mean >= BUMP_MARGIN and gap.above_zero),
        reason="" if tested else reason,
        matched=matched,
        sparsity=float(run.sparsity.sel(variant=model).isel(round=-1).mean()),
        equal_sparsity=equal,
    )
