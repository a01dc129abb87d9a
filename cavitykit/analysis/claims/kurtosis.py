"""Claim 2: IMP raises the pre-activations' |excess kurtosis| more than random pruning at equal sparsity,
and how (the IPR, or the coherence factor)."""

from __future__ import annotations

import dataclasses

import xarray as xr

from cavitykit.analysis.claims._common import Claim, Evidence, Interval, intervals, learned_mean, measures_at
from cavitykit.analysis.mechanism import coherence_factor
from cavitykit.analysis.units import unit_measures
from cavitykit.branches import RANDOM


@dataclasses.dataclass(frozen=True)
class Coherence:
    """IMP against random pruning at a common per-unit survivor count ``n``.

    Attributes
    ----------
    n : float
    imp, random : dict of str to Interval
        ``coherence``, ``ipr`` and ``abs_kurtosis`` at n.
    gap : Interval
        The coherence factor, IMP - random.
    kurtosis_gap : Interval
        |excess kurtosis|, IMP - random.
    """

    n: float
    imp: dict[str, Interval]
    random: dict[str, Interval]
    gap: Interval
    kurtosis_gap: Interval

    @property
    def higher(self) -> bool:
        """IMP's coherence factor is above random pruning's (the gap's interval above 0)."""
        return self.gap.above_zero


@dataclasses.dataclass(frozen=True, kw_only=True)
class Kurtosis(Claim):
    """Claim 2's result.

    Attributes
    ----------
    round : int
        The model's last accurate round, where the rises are read.
    imp, random, clone : Interval
        The rise of the learned units' mean |excess kurtosis| from round 0 (``random`` None without a
        random branch that reaches the round).
    gap : Interval
        IMP - random.
    per_round : xarray.Dataset over round
        The mean rise under ``imp`` (and ``random``).
    coherence : Coherence or None
        ``coherence_at_matched_survivors``; None where the data have no single pixel excess kurtosis.
    """

    name = "kurtosis"
    statement = (
        "2. IMP raises the non-Gaussianity of hidden-unit pre-activations across rounds, beyond what random pruning "
        "does."
    )
    criterion = (
        "the learned units' mean |excess kurtosis| rises from round 0 to the last accurate round under IMP, and by "
        "more than under random pruning to the same sparsity, both 95% intervals above 0"
    )

    round: int | None = None
    imp: Interval | None = None
    clone: Interval | None = None
    random: Interval | None = None
    gap: Interval | None = None
    per_round: xr.Dataset | None = None
    coherence: Coherence | None = None


def coherence_at_matched_survivors(
    run: xr.Dataset,
    random_branch: xr.Dataset,
    model: str,
    r: int,
    measures: xr.Dataset | None = None,
    random_measures: xr.Dataset | None = None,
) -> Coherence | None:
    """How IMP and random pruning raise |excess kurtosis|: through the IPR (any sparsification) or through
    the coherence factor gamma_2 / (kappa_x IPR) (``mechanism.coherence_factor``), on the model's learned
    units at a common per-unit survivor count.

    The count n is the largest survivor count among the learned units of both strategies at round r, so
    that every unit has reached it; each unit's measures are interpolated to n in log n
    (``at_matched_survivors``).  IMP "raises coherence more" when the paired difference IMP - random of
    the coherence factor has its interval above 0.

    Parameters
    ----------
    run, random_branch : xarray.Dataset
    model : str
    r : int
        The round whose survivor counts set n.
    measures, random_measures : xarray.Dataset, optional
        ``unit_measures`` of the run and of the branch, when the caller has them.

    Returns
    -------
    Coherence or None (no single pixel kurtosis for this data)
    """
    factors = {"imp": coherence_factor(run, model), "random": coherence_factor(random_branch, model)}
    if factors["imp"] is None:
        return None
    measures = {
        "imp": (unit_measures(run) if measures is None else measures).sel(variant=[model]),
        "random": (unit_measures(random_branch) if random_measures is None else random_measures).sel(variant=[model]),
    }
    n = max(float(m.n_kept.where(m.learned).isel(round=r).max()) for m in measures.values())
    at = {}
    for name, one in measures.items():
        one = one.assign(coherence=factors[name].expand_dims(variant=[model]).transpose(*one.ipr.dims))
        at[name] = measures_at(one, model, ("coherence", "ipr", "abs_kurtosis"), n)
    return Coherence(
        n=n,
        imp=intervals(at["imp"]),
        random=intervals(at["random"]),
        gap=Interval.over_replicates(at["imp"]["coherence"] - at["random"]["coherence"]),
        kurtosis_gap=Interval.over_replicates(at["imp"]["abs_kurtosis"] - at["random"]["abs_kurtosis"]),
    )


def claim_kurtosis(evidence: Evidence) -> Kurtosis:
    """Claim 2: IMP raises the pre-activations' |excess kurtosis| more than random pruning at equal sparsity.

    Pruning alone moves |excess kurtosis| (a sum of fewer independent inputs is less Gaussian; on
    correlated inputs random pruning can lower it), so the rise under IMP is judged against the rise
    under random pruning of the same dense networks to the same sparsity (the same round), on the model's
    learned units, at the last accurate round.  Supported when IMP's rise and the paired difference
    IMP - random both have their intervals above 0.  Not tested without a random branch that reaches
    that round.

    Parameters
    ----------
    evidence : Evidence

    Returns
    -------
    Kurtosis
    """
    model, clone = evidence.pair
    r = int(evidence.accurate.sel(variant=model))
    rise = learned_mean(evidence.measures, "abs_kurtosis")
    rise = rise - rise.isel(round=0)
    imp = rise.sel(variant=model)
    numbers = {
        "round": r,
        "imp": Interval.over_replicates(imp.isel(round=r)),
        "clone": Interval.over_replicates(rise.sel(variant=clone).isel(round=r)),
    }
    random_branch = evidence.controls.get(RANDOM.name)
    if random_branch is None or random_branch.sizes["round"] <= r:
        per_round = xr.Dataset({"imp": imp.mean("replicate")})
        reason = "the run has no random-pruning branch (imp.controls)"
        return Kurtosis(tested=False, supported=False, reason=reason, per_round=per_round, **numbers)
    random_measures = evidence.branch_measures(RANDOM.name)
    random_rise = learned_mean(random_measures, "abs_kurtosis").sel(variant=model)
    random_rise = random_rise - random_rise.isel(round=0)
    gap = Interval.over_replicates(imp.isel(round=r) - random_rise.isel(round=r))
    return Kurtosis(
        tested=True,
        supported=bool(numbers["imp"].above_zero and gap.above_zero),
        random=Interval.over_replicates(random_rise.isel(round=r)),
        gap=gap,
        per_round=xr.Dataset({"imp": imp.mean("replicate"), "random": random_rise.mean("replicate")}),
        coherence=coherence_at_matched_survivors(
            evidence.run, random_branch, model, r, evidence.measures, random_measures
        ),
        **numbers,
    )
