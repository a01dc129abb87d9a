"""The claims' criteria and verdicts: each claim's statistic from the measurements, its error bar, the
fixed criterion and the verdict (``docs/report.md``), and the feature-learning check that decides
whether claims 1 and 3 can be tested at all.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit.analysis.measurements import weight_movement
from cavitykit.io.schema import run_config

# Claim 1, IPR criterion: the model's mean IPR is at least this multiple of its clone's ...
IPR_RATIO = 2.0
# ... and the clone's IPR at most this multiple of a random vector's with as many weights.
CLONE_IPR_EXCESS = 1.5
# Claim 1, contiguity criterion: the model's localized fraction exceeds its clone's by this much ...
LOCALIZED_MARGIN = 0.25
# ... and its mean receptive-field width is at most this fraction of the clone's.
WIDTH_RATIO = 0.75
# Claim 2: growth beyond this many standard errors over replicates ...
GROWTH_SE = 3.0
# ... with at least this correlation with the round number, while the clone stays below
# this multiple of the Gaussian noise floor.
TREND = 0.5
CLONE_NOISE_MULTIPLE = 2.0
# Claim 3: the pruned group's fraction, less this many binomial standard errors, beats the others.
CAVITY_SE = 2.0
GROUPS = ("pruned", "kept", "random")
# Feature learning: the dense networks learned features when the mean cosine between each unit's
# trained and initial weights is at most this (at most 81% of the trained weights' squared norm lies
# along the initialization) ...
FEATURE_COSINE = 0.9
# ... and they classify above chance by this many binomial standard errors of the test accuracy.
CHANCE_SE = 3.0


def feature_learning(ds: xr.Dataset, pair: tuple[str, str]) -> xr.Dataset:
    """Did the dense networks (round 0) learn features, or do they still compute their initialization?

    A network that classifies well may still not have learned features: random features separate
    two correlation lengths.  The check asks that the first layer has turned away from its
    initialization (mean cosine over units and replicates at most ``FEATURE_COSINE``) and that the
    networks classify above chance (mean test accuracy at least 0.5 + ``CHANCE_SE`` binomial
    standard errors), for the model and for its clone.  Claims 1 and 3 are only tested when it passes.

    Parameters
    ----------
    ds : xarray.Dataset
        A run.
    pair : (model, clone)

    Returns
    -------
    xarray.Dataset over ``variant`` (the pair)
        ``relative_change`` and ``cosine`` (``weight_movement``, means over units and replicates),
        ``ipr`` (mean), ``random_ipr`` (3 / (D + 2), a random vector's), ``test_accuracy`` (mean),
        ``chance`` (0.5 + the margin), ``above_chance`` and ``learned`` per variant; scalars ``passed``
        (both learned features) and ``learned_task`` (both classify above chance: without it no claim
        is judged).
    """
    dense = ds.sel(variant=list(pair)).isel(round=0)
    movement = weight_movement(dense)
    n_test = int(run_config(ds)["data"]["n_test"])
    out = xr.Dataset(
        {
            "relative_change": movement.relative_change.mean(("replicate", "neuron")),
            "cosine": movement.cosine.mean(("replicate", "neuron")),
            "ipr": dense.ipr.mean(("replicate", "neuron")),
            "random_ipr": 3.0 / (ds.sizes["input"] + 2.0),
            "test_accuracy": dense.test_accuracy.mean("replicate"),
            "chance": 0.5 + CHANCE_SE * np.sqrt(0.25 / n_test),
        }
    )
    out["above_chance"] = out.test_accuracy >= out.chance
    out["learned"] = (out.cosine <= FEATURE_COSINE) & out.above_chance
    out["passed"] = out.learned.all()
    out["learned_task"] = out.above_chance.all()
    return out.drop_vars("round", errors="ignore")


def _split_pair(summary: xr.Dataset, pair: tuple[str, str]) -> tuple[xr.Dataset, xr.Dataset]:
    """The summary of the model and of its clone, without the ``variant`` coordinate."""
    return summary.sel(variant=pair[0], drop=True), summary.sel(variant=pair[1], drop=True)


def claim_localization(summary: xr.Dataset, pair: tuple[str, str]) -> xr.Dataset:
    """Claim 1 (IMP localizes on the model, not on its Gaussian clone), after the last round.

    Parameters
    ----------
    summary : xarray.Dataset
        ``round_summary`` of the run.
    pair : (model, clone)
        Variants compared (``cavitykit.variants.compared_pair``).

    Returns
    -------
    xarray.Dataset
        Scalars ``ipr_ratio`` (model / clone), ``clone_ipr_excess`` (clone / random vector),
        ``localized_gap`` (localized fraction, model - clone), ``width_ratio`` (mean RF width,
        model / clone); ``ipr_ratio_per_round`` over ``round``; the verdicts ``supported`` (IPR
        criterion: ratio >= ``IPR_RATIO`` and clone excess <= ``CLONE_IPR_EXCESS``) and
        ``contiguous`` (gap >= ``LOCALIZED_MARGIN`` and width ratio <= ``WIDTH_RATIO``).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> from cavitykit.analysis import round_summary
    >>> claim = claim_localization(round_summary(ds), ("nlgp", "gaussian_clone"))
    >>> sorted(claim.data_vars)  # the statistics, and the verdicts of the two criteria
    ['clone_ipr_excess', 'contiguous', 'ipr_ratio', 'ipr_ratio_per_round', 'localized_gap', 'supported', 'width_ratio']
    """
    model, clone = _split_pair(summary, pair)
    last_model, last_clone = model.isel(round=-1, drop=True), clone.isel(round=-1, drop=True)
    out = xr.Dataset(
        {
            "ipr_ratio": last_model.ipr / last_clone.ipr,
            "clone_ipr_excess": last_clone.ipr / last_clone.random_ipr,
            "localized_gap": last_model.localized_fraction - last_clone.localized_fraction,
            "width_ratio": last_model.rf_width / last_clone.rf_width,
            "ipr_ratio_per_round": model.ipr / clone.ipr,
        }
    )
    out["supported"] = (out.ipr_ratio >= IPR_RATIO) & (out.clone_ipr_excess <= CLONE_IPR_EXCESS)
    out["contiguous"] = (out.localized_gap >= LOCALIZED_MARGIN) & (out.width_ratio <= WIDTH_RATIO)
    return out


def claim_kurtosis(summary: xr.Dataset, pair: tuple[str, str]) -> xr.Dataset:
    """Claim 2 (IMP raises the pre-activations' non-Gaussianity across rounds).

    Parameters
    ----------
    summary : xarray.Dataset
        ``round_summary`` of the run.
    pair : (model, clone)

    Returns
    -------
    xarray.Dataset
        Scalars ``first`` and ``last`` (the model's mean |excess kurtosis| in round 0 and the
        last round), ``increase``, ``se`` (standard error of the increase from the spread over
        replicates), ``trend`` (correlation of the mean with the round number), ``clone_max``
        (the clone's largest mean over rounds) and ``noise`` (the Gaussian noise floor); the
        verdict ``supported`` (increase > ``GROWTH_SE`` se, trend > ``TREND`` and clone_max <
        ``CLONE_NOISE_MULTIPLE`` noise) and ``tested`` (false with one replicate: no spread to
        judge the growth against).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> from cavitykit.analysis import round_summary
    >>> claim = claim_kurtosis(round_summary(ds), ("nlgp", "gaussian_clone"))
    >>> f"{float(claim.increase):+.2f} against 3 SE = {3 * float(claim.se):.2f}"  # doctest: +SKIP
    '+0.20 against 3 SE = 0.05'
    >>> bool(claim.tested)  # two replicates: a spread to judge the growth against
    True
    """
    model, clone = _split_pair(summary, pair)
    first, last = model.isel(round=0, drop=True), model.isel(round=-1, drop=True)
    n_replicates = summary.attrs["n_replicates"]
    se = np.sqrt(first.abs_kurtosis_sd**2 + last.abs_kurtosis_sd**2) / np.sqrt(n_replicates)
    trend = float(np.corrcoef(model["round"].values, model.abs_kurtosis.values)[0, 1])
    out = xr.Dataset(
        {
            "first": first.abs_kurtosis,
            "last": last.abs_kurtosis,
            "increase": last.abs_kurtosis - first.abs_kurtosis,
            "se": se,
            "trend": trend,
            "clone_max": clone.abs_kurtosis.max(),
            "noise": clone.abs_kurtosis_noise.isel(round=0, drop=True),
        }
    )
    grows = (out.increase > GROWTH_SE * out.se) & (out.trend > TREND)
    out["supported"] = grows & (out.clone_max < CLONE_NOISE_MULTIPLE * out.noise)
    out["tested"] = xr.DataArray(n_replicates >= 2)
    return out


def claim_cavity(groups: xr.Dataset, source: str) -> xr.Dataset:
    """Claim 3 (the weights IMP prunes are those whose removal raises non-Gaussianity).

    Parameters
    ----------
    groups : xarray.Dataset
        ``cavity_groups`` of the run.
    source : str
        The non-Gaussian variant.

    Returns
    -------
    xarray.Dataset over ``group`` (pruned, kept, random)
        ``fraction_raising`` and ``count`` pooled over rounds, ``mean_delta`` (mean over rounds
        of the mean exact Delta excess kurtosis), ``fraction_raising_per_round`` over
        (group, round); scalars ``margin`` (``CAVITY_SE`` binomial standard errors of the pruned
        fraction) and the verdict ``supported`` (pruned fraction - margin above both others).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> from cavitykit.analysis import cavity_groups
    >>> claim = claim_cavity(cavity_groups(ds), "nlgp")
    >>> claim.fraction_raising.group.values.tolist()  # the share of each group's removals that raise |kurtosis|
    ['pruned', 'kept', 'random']
    """
    model = groups.sel(variant=source, drop=True)
    group = xr.DataArray(list(GROUPS), dims="group", name="group")

    def stacked(prefix):
        return xr.concat([model[f"{prefix}_{name}"] for name in GROUPS], dim=group)

    count = stacked("count")
    out = xr.Dataset(
        {
            "fraction_raising": (stacked("fraction_raising") * count).sum("round") / count.sum("round"),
            "count": count.sum("round"),
            "mean_delta": stacked("mean_delta").mean("round"),
            "fraction_raising_per_round": stacked("fraction_raising"),
        }
    )
    pruned = out.fraction_raising.sel(group="pruned", drop=True)
    n_pruned = out["count"].sel(group="pruned", drop=True)
    out["margin"] = CAVITY_SE * np.sqrt(pruned * (1 - pruned) / np.maximum(n_pruned, 1))
    out["supported"] = (pruned - out.margin > out.fraction_raising.sel(group=["kept", "random"])).all()
    return out
