"""What every claim shares: the fixed criteria's constants, replicate intervals, the evidence a report
computes once, and the frozen result each claim returns."""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import ClassVar

import numpy as np
import xarray as xr

from cavitykit.analysis.units import at_matched_survivors, replicate_interval, unit_measures

# The pruned networks count as still classifying while their mean test accuracy is within this of
# the dense networks' (absolute); claims are read on those rounds only.
ACCURACY_DROP = 0.03
# Claims 1, 3c and 4: a difference in the share of learned units that are bumps must reach this ...
BUMP_MARGIN = 0.25
# ... and its replicate interval (this level, Student t) must exclude 0.
LEVEL = 0.95
# What claims 1, 3c and 4 report of a unit's field, each against its null.
SHAPE_MEASURES = (
    "bump",
    "ipr_over_top",
    "ipr_over_random",
    "ipr_over_truncated",
    "connectivity_excess",
    "compactness",
    "truncated_compactness",
)
# Claim 4 compares shapes per unit: a field of fewer weights than this has no shape to compare.
MIN_SHAPE_SURVIVORS = 4
# Measures that are shares of units, weights or power, whose intervals are clipped to [0, 1].
SHARES = frozenset({"bump", "emptied", "compactness", "truncated_compactness", "imp", "one_shot", "dense_cut"})
SHARE, DIFFERENCE = (0.0, 1.0), (-1.0, 1.0)  # a share's range, and that of a difference of shares or a correlation


@dataclasses.dataclass(frozen=True)
class Interval:
    """A replicate mean and its Student t interval at ``LEVEL`` (NaN ends with one replicate; a mean of
    NaN where no unit reaches the comparison point)."""

    mean: float
    low: float
    high: float

    @classmethod
    def over_replicates(cls, values: xr.DataArray, bounds: tuple[float, float] | None = None) -> Interval:
        """The interval of ``values`` over ``replicate``, its ends clipped to ``bounds`` (the range the
        measure can take), so that a share never reads below 0.

        Examples
        --------
        >>> Interval.over_replicates(xr.DataArray([0.1, 0.2, 0.9], dims="replicate"), SHARE).low
        0.0
        """
        interval = replicate_interval(values, level=LEVEL)
        mean, low, high = (float(interval[key]) for key in ("mean", "low", "high"))
        if bounds is not None:
            low, high = (float(np.clip(end, *bounds)) for end in (low, high))
        return cls(mean, low, high)

    @property
    def above_zero(self) -> bool:
        """The whole interval is above 0 (False without an interval)."""
        return bool(self.low > 0)


def intervals(values: dict[str, xr.DataArray]) -> dict[str, Interval]:
    """``Interval.over_replicates`` of each named measure, shares (``SHARES``) clipped to [0, 1]."""
    return {key: Interval.over_replicates(value, SHARE if key in SHARES else None) for key, value in values.items()}


def measures_at(measures: xr.Dataset, variant: str, names, n: float) -> dict[str, xr.DataArray]:
    """Each named unit measure of one variant at survivor count n, per replicate (``at_matched_survivors``)."""
    one = measures.sel(variant=[variant])
    return {name: at_matched_survivors(one, name, [n]).isel(variant=0, n=0, drop=True) for name in names}


def learned_mean(measures: xr.Dataset, name: str) -> xr.DataArray:
    """A unit measure's mean over the learned units, per (variant, replicate, round)."""
    return measures[name].where(measures.learned).mean("neuron")


def accurate_rounds(ds: xr.Dataset) -> xr.DataArray:
    """Per variant, the last round up to which the mean test accuracy stays within ``ACCURACY_DROP`` of
    the dense round's (every round before it too).

    Examples
    --------
    >>> acc = xr.DataArray([[0.9, 0.9, 0.85, 0.89]], dims=("variant", "round"), coords={"round": range(4)})
    >>> accurate_rounds(xr.Dataset({"test_accuracy": acc.expand_dims(replicate=1)})).values.tolist()
    [1]
    """
    accuracy = ds.test_accuracy.mean("replicate")
    within = accuracy >= accuracy.isel(round=0) - ACCURACY_DROP
    return (within.cumprod("round").sum("round") - 1).astype(int)


@dataclasses.dataclass(frozen=True, eq=False)
class Evidence:
    """A run, its controls and the compared pair, with what every claim reads of them computed once.

    Build it with ``Evidence(run, pair, controls)``; the unit measures of the run and of each branch are
    computed on first use and kept.

    Parameters
    ----------
    run : xarray.Dataset
        The magnitude-pruning run (``open_run`` or ``open_weights``).
    pair : (model, clone)
    controls : dict of str to xarray.Dataset
        Its control branches by name (``cavitykit.branches``).
    """

    run: xr.Dataset
    pair: tuple[str, str]
    controls: dict[str, xr.Dataset] = dataclasses.field(default_factory=dict)

    @cached_property
    def measures(self) -> xr.Dataset:
        """``unit_measures(run)``."""
        return unit_measures(self.run)

    @cached_property
    def _branch_measures(self) -> dict[str, xr.Dataset]:
        return {}

    def branch_measures(self, name: str) -> xr.Dataset:
        """``unit_measures`` of the control branch ``name``, computed once."""
        if name not in self._branch_measures:
            self._branch_measures[name] = unit_measures(self.controls[name])
        return self._branch_measures[name]

    @cached_property
    def accurate(self) -> xr.DataArray:
        """``accurate_rounds(run)``: per variant, the last round the networks still classify."""
        return accurate_rounds(self.run)

    @property
    def model(self) -> str:
        return self.pair[0]

    @property
    def clone(self) -> str:
        return self.pair[1]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Claim:
    """A claim's judged result: the verdict, and why it was not tested.

    Each claim subclasses it with its numbers as fields (None where not tested) and names itself, its
    statement (formatted with the model's label) and its criterion (with ``BUMP_MARGIN``) as class
    attributes, so that the text and the numbers are tied by the claim, never by position.

    Attributes
    ----------
    tested : bool
        The claim's test could be made (its control exists, a comparison point exists).
    supported : bool
        The criterion holds (False when not tested).
    reason : str
        Why it was not tested ('' when tested).
    withheld : str
        Why its verdict is withheld though its numbers were computed, e.g. on networks that learned no
        features ('' otherwise).
    """

    name: ClassVar[str]
    statement: ClassVar[str]
    criterion: ClassVar[str]

    tested: bool
    supported: bool
    reason: str = ""
    withheld: str = ""

    @property
    def verdict(self) -> bool | None:
        """True (supported), False (not supported) or None (not tested, or withheld)."""
        return self.supported if self.tested and not self.withheld else None

    @property
    def note(self) -> str:
        """Why there is no verdict ('' when there is one)."""
        return self.withheld or ("" if self.tested else self.reason)

    @classmethod
    def untested(cls, reason: str):
        """The claim not tested, for the given reason (every number None)."""
        return cls(tested=False, supported=False, reason=reason)

    @classmethod
    def criterion_text(cls) -> str:
        """The criterion with its constants filled in."""
        return cls.criterion.format(margin=BUMP_MARGIN)
