"""Analyses of an IMP run (``cavitykit.open_run``): every number the report prints, as labelled xarray.

``localization``, ``round_summary``, ``cavity_groups``, ``expansion_error`` and
``kurtosis_ipr_correlation`` measure; ``claim_localization``, ``claim_kurtosis`` and
``claim_cavity`` turn the measurements into the statistic of each claim, its error bar, the
fixed criterion and the verdict (``docs/report.md``).  The report only formats these results and
the plots only draw them.  Nothing here imports torch or the IMP engine.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit import metrics
from cavitykit._validation import check_int
from cavitykit.io.schema import grid_shape, run_config

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

__all__ = [
    "cavity_by_magnitude",
    "cavity_groups",
    "claim_cavity",
    "claim_kurtosis",
    "claim_localization",
    "claims_per_replicate",
    "expansion_error",
    "feature_learning",
    "gaussian_kurtosis_sd",
    "grid_shape",
    "kurtosis_ipr_correlation",
    "localization",
    "n_heldout",
    "pruning_groups",
    "round_summary",
    "snapshot_summary",
    "sweep_claims",
    "weight_movement",
]


def n_heldout(ds: xr.Dataset) -> int:
    """Held-out samples per class behind the run's per-round statistics (from its stored config).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> n_heldout(ds)
    2000
    """
    return int(run_config(ds)["analysis"]["n_heldout"])


def gaussian_kurtosis_sd(n_samples) -> float:
    """Sampling standard deviation sqrt(24 / n) of the excess kurtosis of n Gaussian samples.

    Examples
    --------
    >>> gaussian_kurtosis_sd(24_000)
    0.0316...
    """
    return float(np.sqrt(24.0 / n_samples))


def localization(ds: xr.Dataset) -> xr.Dataset:
    """Localization of every unit's receptive field.

    Parameters
    ----------
    ds : xarray.Dataset
        A run (``weight``, ``mask``, ``ipr``; ``x``/``y`` coordinates give the grid).

    Returns
    -------
    xarray.Dataset
        Over the dims of ``ds.weight`` less ``input``: ``ipr``, ``participation_ratio`` (1 / IPR),
        ``rf_centre`` (circular centre in pixels along each grid ``axis``: ``x`` on a ring, ``y`` and
        ``x`` on a torus), ``rf_width`` (circular width in pixels, mean over grid axes), ``localized``
        (``metrics.is_localized``: narrow along every axis) and ``random_ipr`` (3 / (n + 2), the
        IPR of a random Gaussian vector with the unit's n surviving weights).

    Examples
    --------
    >>> bump = np.exp(-0.5 * (np.arange(40) - 20.0) ** 2)  # width 1 pixel
    >>> ds = xr.Dataset({"weight": (("neuron", "input"), [bump, np.ones(40)])}, coords={"input": range(40)})
    >>> ds["mask"], ds["ipr"] = ds.weight != 0, ("neuron", metrics.ipr(ds.weight.values))
    >>> localization(ds).localized.values
    array([ True, False])
    """
    shape = grid_shape(ds)
    centres, widths = xr.apply_ufunc(
        lambda w: tuple(metrics.receptive_field(w, shape).values()),
        ds.weight,
        input_core_dims=[["input"]],
        output_core_dims=[["axis"], ["axis"]],
        keep_attrs=False,
    )
    n_kept = ds["mask"].sum("input")
    return xr.Dataset(
        {
            "ipr": ds.ipr,
            "participation_ratio": 1.0 / ds.ipr,
            "rf_centre": centres.assign_coords(axis=["y", "x"] if len(shape) == 2 else ["x"]),  # grid rows are y
            "rf_width": widths.mean("axis"),
            "localized": xr.apply_ufunc(
                metrics.is_localized, widths, input_core_dims=[["axis"]], kwargs={"shape": shape}
            ),
            "random_ipr": 3.0 / (n_kept + 2.0),
        }
    )


def round_summary(ds: xr.Dataset) -> xr.Dataset:
    """Per variant and round: means over replicates of unit-level statistics, and their spreads.

    Parameters
    ----------
    ds : xarray.Dataset
        A run.

    Returns
    -------
    xarray.Dataset over (variant, round)
        ``ipr``, ``random_ipr``, ``localized_fraction``, ``rf_width``, ``abs_kurtosis`` (mean
        |excess kurtosis| over units and classes), ``kurtosis`` (signed mean), ``test_accuracy``
        and ``sparsity``: means over replicates of the per-replicate means.  ``*_sd`` for
        ``ipr``, ``abs_kurtosis``, ``kurtosis`` and ``localized_fraction``: sample standard
        deviations over replicates (ddof 1; NaN with one replicate).  ``abs_kurtosis_noise``:
        the mean |excess kurtosis| of Gaussian pre-activations, sqrt(2 / pi) sqrt(24 / n) for n
        held-out samples, the noise floor a clone sits on.  Attributes ``n_replicates`` and
        ``n_heldout``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> summary = round_summary(ds)
    >>> dict(summary.ipr.sizes)
    {'variant': 2, 'round': 3}
    """
    local = localization(ds)
    kurt = ds.preact_excess_kurtosis
    per_replicate = {
        "ipr": local.ipr.mean("neuron"),
        "random_ipr": local.random_ipr.mean("neuron"),
        "localized_fraction": local.localized.mean("neuron"),
        "rf_width": local.rf_width.where(np.isfinite(local.rf_width)).mean("neuron"),
        "abs_kurtosis": np.abs(kurt).mean(("label", "neuron")),
        "kurtosis": kurt.mean(("label", "neuron")),
        "test_accuracy": ds.test_accuracy,
        "sparsity": ds.sparsity,
    }
    out = xr.Dataset({name: value.mean("replicate") for name, value in per_replicate.items()})
    for name in ("ipr", "abs_kurtosis", "kurtosis", "localized_fraction"):
        out[f"{name}_sd"] = per_replicate[name].std("replicate", ddof=1)  # NaN with one replicate
    samples = n_heldout(ds)
    # |k| of a N(0, s^2) estimate has mean sqrt(2 / pi) s.
    out["abs_kurtosis_noise"] = xr.full_like(out.abs_kurtosis, np.sqrt(2 / np.pi) * gaussian_kurtosis_sd(samples))
    out.attrs = {"n_replicates": ds.sizes["replicate"], "n_heldout": samples}
    return out


def weight_movement(ds: xr.Dataset) -> xr.Dataset:
    """How far training moved each unit's first-layer weights from where the round started.

    Parameters
    ----------
    ds : xarray.Dataset
        A run (``weight`` and ``init_weight``, the rewind point: the initialization, or the
        weights after ``imp.rewind_step`` steps of round 0).

    Returns
    -------
    xarray.Dataset over the dims of ``ds.weight`` less ``input``
        ``relative_change`` ||w - w0|| / ||w0|| and ``cosine`` w . w0 / (||w|| ||w0||): near 0 and 1
        for a unit still at its start, whatever its scale did.
    """
    w, w0 = ds.weight, ds.init_weight
    norm, norm0 = np.sqrt((w**2).sum("input")), np.sqrt((w0**2).sum("input"))
    return xr.Dataset(
        {
            "relative_change": np.sqrt(((w - w0) ** 2).sum("input")) / norm0,
            "cosine": (w * w0).sum("input") / (norm * norm0),
        }
    )


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
        ``chance`` (0.5 + the margin), ``learned`` per variant; scalar ``passed`` (both learned).
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
    out["learned"] = (out.cosine <= FEATURE_COSINE) & (out.test_accuracy >= out.chance)
    out["passed"] = out.learned.all()
    return out.drop_vars("round", errors="ignore")


def snapshot_summary(ds: xr.Dataset) -> xr.Dataset:
    """Localization over training time, from the weights a run keeps at its snapshot times.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with snapshots (``training.snapshots > 0``: variable ``snapshot_weight``, dim ``time``).

    Returns
    -------
    xarray.Dataset over (variant, replicate, round, time, neuron) and means
        ``ipr`` and ``localized`` per unit (``localization`` of the snapshot weights; NaN and False
        before a round's rewind point), ``mean_ipr`` and ``localized_fraction`` (means over units
        and replicates) over (variant, round, time); scalar ``random_ipr``, 3 / (D + 2).
    """
    if "snapshot_weight" not in ds:
        raise ValueError("the run keeps no snapshots (training.snapshots = 0): no training-time analysis")
    weights = ds.snapshot_weight
    snapshots = xr.Dataset(
        {
            "weight": weights,
            "mask": weights.notnull(),
            "ipr": (weights**4).sum("input") / ((weights**2).sum("input")) ** 2,
        },
        coords={name: ds[name] for name in ("x", "y") if name in ds.coords},
    )
    snapshots["ipr"] = snapshots.ipr.where(weights.notnull().all("input"))
    local = localization(snapshots)
    return xr.Dataset(
        {
            "ipr": local.ipr,
            "localized": local.localized,
            "mean_ipr": local.ipr.mean(("replicate", "neuron")),
            "localized_fraction": local.localized.where(weights.notnull().all("input")).mean(("replicate", "neuron")),
            "random_ipr": 3.0 / (ds.sizes["input"] + 2.0),
        }
    )


def claims_per_replicate(ds: xr.Dataset, pair: tuple[str, str]) -> xr.Dataset:
    """The statistics of claims 1 and 2 per replicate, after the last round each replicate reached.

    Works on a run and on a sweep (``cavitykit.open_sweep``, loaded): swept dims are kept, and
    "last round" is taken per grid point, so strategies with fewer rounds ('one_shot') are
    compared at their final sparsity.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a sweep (``weight``, ``mask``, ``ipr``, ``preact_excess_kurtosis``,
        ``test_accuracy``, ``sparsity``).
    pair : (model, clone)

    Returns
    -------
    xarray.Dataset over the dims of ``ds.test_accuracy`` less ``variant`` and ``round``
        ``width_ratio`` (mean RF width, model / clone), ``localized_gap`` (localized fraction,
        model - clone), ``rf_width``, ``localized_fraction`` and ``kurtosis_rise`` (mean
        |excess kurtosis| after the last round minus round 0) over ``variant`` (model and
        clone), and ``sparsity``; NaN where a replicate has no round yet.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> claims = claims_per_replicate(ds, ("nlgp", "gaussian_clone"))
    >>> dict(claims.width_ratio.sizes), dict(claims.kurtosis_rise.sizes)
    ({'replicate': 2}, {'variant': 2, 'replicate': 2})
    """
    local = localization(ds)
    present = ds.test_accuracy.notnull()
    last = ds["round"].where(present).max("round")

    def at_last(values):
        return values.sel(round=last.fillna(0).astype(int)).where(last.notnull()).drop_vars("round")

    rf_width = at_last(local.rf_width.where(np.isfinite(local.rf_width)).mean("neuron"))
    localized = at_last(local.localized.mean("neuron"))  # as round_summary counts them
    abs_kurtosis = np.abs(ds.preact_excess_kurtosis).mean(("label", "neuron"))
    model, clone = pair
    out = xr.Dataset(
        {
            "width_ratio": rf_width.sel(variant=model, drop=True) / rf_width.sel(variant=clone, drop=True),
            "localized_gap": localized.sel(variant=model, drop=True) - localized.sel(variant=clone, drop=True),
            "rf_width": rf_width.sel(variant=list(pair)),
            "localized_fraction": localized.sel(variant=list(pair)),
            "kurtosis_rise": (at_last(abs_kurtosis) - abs_kurtosis.isel(round=0, drop=True)).sel(variant=list(pair)),
            "sparsity": at_last(ds.sparsity).sel(variant=model, drop=True),
        }
    )
    return out


def sweep_claims(sweep: xr.Dataset, pair: tuple[str, str], *, n_bins: int = 10, n_boot: int = 2000) -> xr.Dataset:
    """Every claim's statistic at every grid point of a sweep: means and standard errors over replicates.

    Parameters
    ----------
    sweep : xarray.Dataset
        ``cavitykit.open_sweep`` (loaded, or at least the variables ``claims_per_replicate`` and
        ``cavity_by_magnitude`` read), or a single run.
    pair : (model, clone)
    n_bins, n_boot : int
        Passed to ``cavity_by_magnitude``.

    Returns
    -------
    xarray.Dataset over the swept dims
        The variables of ``claims_per_replicate`` (mean over replicates) with ``<name>_se``
        (standard deviation over replicates / sqrt(replicates), ddof 1); and, with cavity effects,
        the scalars of ``cavity_by_magnitude`` for the model at each point (``auc``, ``auc_low``,
        ``auc_high``, ``auc_theory``, ..., NaN where a point has none).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # a run is a sweep of one point
    >>> claims = sweep_claims(ds, ("nlgp", "gaussian_clone"), n_bins=4)
    >>> float(claims.auc) == float(cavity_by_magnitude(ds, "nlgp", n_bins=4).auc)
    True
    """
    claims = claims_per_replicate(sweep, pair)
    n_replicates = claims.width_ratio.notnull().sum("replicate")
    out = claims.mean("replicate")
    for name in claims.data_vars:
        out[f"{name}_se"] = claims[name].std("replicate", ddof=1) / np.sqrt(n_replicates)
    if "cavity_exact" not in sweep:
        return out
    swept = [dim for dim in sweep.test_accuracy.dims if dim not in ("variant", "replicate", "round")]
    scalars = ["auc", "auc_low", "auc_high", "auc_theory", "auc_theory_low", "auc_theory_high", "excess", "n_pairs"]
    values = {name: np.full([sweep.sizes[dim] for dim in swept], np.nan) for name in scalars}
    for index in np.ndindex(*[sweep.sizes[dim] for dim in swept]):
        point = sweep.isel(dict(zip(swept, index, strict=True)))
        if point.test_accuracy.sel(variant=pair[0]).notnull().any():
            fair = cavity_by_magnitude(point, pair[0], n_bins=n_bins, n_boot=n_boot)
            for name in scalars:
                values[name][index] = float(fair[name])
    for name, value in values.items():
        out[name] = (swept, value)
    return out


def pruning_groups(ds: xr.Dataset) -> xr.Dataset:
    """Boolean masks of the weights the strategy prunes after each round (``pruned``) and keeps (``kept``).

    Both are among the round's unpruned weights; dims those of ``ds.mask``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> groups = pruning_groups(ds)
    >>> bool((groups.pruned & groups.kept).any())  # disjoint
    False
    """
    return xr.Dataset({"pruned": ds.pruned_next & ds["mask"], "kept": ds["mask"] & ~ds.pruned_next})


def cavity_groups(ds: xr.Dataset, *, seed: int = 0) -> xr.Dataset:
    """Cavity effects of the weights IMP prunes next, the weights it keeps, and a random control.

    A removal "raises non-Gaussianity" when |k + Delta| > |k|, k the unit's excess kurtosis on
    the same class.  The random control draws, per variant, replicate and round, as many of the
    unpruned weights as IMP prunes, uniformly.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with cavity effects (``cavity_exact``).
    seed : int
        Fixes the random control's draw.

    Returns
    -------
    xarray.Dataset over (variant, round)
        ``fraction_raising_<group>``, ``mean_delta_<group>`` and ``count_<group>`` for the groups
        ``pruned``, ``kept`` and ``random``, pooled over replicates, classes and units.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> groups = cavity_groups(ds)  # (variant, round)
    >>> [name for name in groups.data_vars if name.startswith("fraction_raising")]
    ['fraction_raising_pruned', 'fraction_raising_kept', 'fraction_raising_random']
    """
    if "cavity_exact" not in ds:
        raise ValueError("the run has no cavity_exact (analysis.cavity = false)")
    delta = ds.cavity_exact
    kurt = ds.preact_excess_kurtosis
    raises = metrics.abs_kurtosis_change(kurt, delta) > 0
    groups = pruning_groups(ds)
    random_group = xr.apply_ufunc(
        _random_subset,
        ds["mask"],
        groups.pruned.sum(("neuron", "input")),
        kwargs={"rng": np.random.default_rng(seed)},
        input_core_dims=[["neuron", "input"], []],
        output_core_dims=[["neuron", "input"]],
        vectorize=True,
    )
    out = xr.Dataset()
    pooled = ("replicate", "label", "neuron", "input")
    for name, group in {"pruned": groups.pruned, "kept": groups.kept, "random": random_group}.items():
        members = group.broadcast_like(raises)
        count = members.sum([d for d in pooled if d in members.dims])
        out[f"fraction_raising_{name}"] = raises.where(members).sum(pooled) / count
        out[f"mean_delta_{name}"] = delta.where(members).mean(pooled)
        out[f"count_{name}"] = count
    return out


def _random_subset(candidates: np.ndarray, count, rng: np.random.Generator) -> np.ndarray:
    """Boolean array marking ``count`` of the True entries of ``candidates``, chosen uniformly."""
    chosen = np.zeros(candidates.shape, dtype=bool)
    if not np.isfinite(count):  # a round missing in this variant or replicate
        return chosen
    index = np.flatnonzero(candidates)
    chosen.ravel()[rng.choice(index, size=min(int(count), index.size), replace=False)] = True
    return chosen


def cavity_by_magnitude(ds: xr.Dataset, source: str, *, n_bins: int = 10, n_boot: int = 2000, seed: int = 0):
    """Claim 3 with magnitude controlled: Delta|kurtosis| of pruned against kept weights of similar |w|.

    Each round's unpruned weights of ``source`` (pooled over replicates) are cut into ``n_bins``
    quantile bins of |w|.  Within a bin, every (pruned, kept) pair of weights, of the same class,
    votes for the one whose exact removal raises |excess kurtosis| more,
    Delta|k| = |k + Delta k| - |k|; ``auc`` is the share of votes the pruned weight wins (ties
    half), 0.5 when fate and effect are unrelated at equal magnitude.  The same statistic of the
    independent-input prediction (``cavity_theory``, ``theory_excess_kurtosis``: what magnitude
    and the unit's weight profile alone explain) is the baseline ``auc_theory``.  Intervals are
    percentiles of a bootstrap over replicates (pairs are re-formed among the drawn replicates).
    Under magnitude pruning only the bin that straddles the threshold holds both groups, so the
    comparison is between weights just below and just above it.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``cavity_exact``; ``cavity_theory`` for the baseline (NaN without it).
    source : str
        The variant analysed.
    n_bins : int
        Quantile bins of |w| per round.
    n_boot : int
        Bootstrap draws of replicates.
    seed : int
        Fixes the bootstrap.

    Returns
    -------
    xarray.Dataset
        Scalars ``auc``, ``auc_low``, ``auc_high`` (95% interval), ``auc_theory`` (and its
        interval), ``excess`` (auc - auc_theory, with ``excess_low``, ``excess_high``),
        ``n_pairs``, the verdicts ``supported`` (auc_low > 0.5) and ``beyond_theory``
        (excess_low > 0); over ``magnitude_bin``: ``mean_raise_pruned``, ``mean_raise_kept``
        (mean Delta|k| of each group), ``theory_raise_pruned``, ``theory_raise_kept`` and
        ``count_pruned``, ``count_kept`` (weights x classes).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> fair = cavity_by_magnitude(ds, "nlgp", n_bins=4)
    >>> bool(fair.auc_low <= fair.auc <= fair.auc_high), bool(fair.supported) == bool(fair.auc_low > 0.5)
    (True, True)
    """
    if "cavity_exact" not in ds:
        raise ValueError("the run has no cavity_exact (analysis.cavity = false)")
    n_bins = check_int("n_bins", n_bins, minimum=1)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    one = ds.sel(variant=source).transpose("replicate", "round", "label", "neuron", "input", ...)
    raise_exact = metrics.abs_kurtosis_change(one.preact_excess_kurtosis.values[..., None], one.cavity_exact.values)
    if "cavity_theory" in one:
        raise_theory = metrics.abs_kurtosis_change(
            one.theory_excess_kurtosis.values[..., None], one.cavity_theory.values
        )
    else:  # a run written before the prediction was stored
        raise_theory = np.full_like(raise_exact, np.nan)
    magnitude = np.abs(one.weight.values)  # (replicate, round, neuron, input)
    mask = one["mask"].values.astype(bool)
    pruned = mask & one.pruned_next.values.astype(bool)
    kept = mask & ~pruned
    n_replicates, n_rounds, n_labels = raise_exact.shape[:3]
    wins = {"exact": np.zeros((n_replicates, n_replicates)), "theory": np.zeros((n_replicates, n_replicates))}
    pairs = np.zeros((n_replicates, n_replicates))
    sums = {key: np.zeros(n_bins) for key in ("exact_pruned", "exact_kept", "theory_pruned", "theory_kept")}
    counts = {"pruned": np.zeros(n_bins), "kept": np.zeros(n_bins)}
    for t in range(n_rounds):
        if not mask[:, t].any():
            continue  # a round missing in this variant
        edges = np.quantile(magnitude[:, t][mask[:, t]], np.linspace(0, 1, n_bins + 1)[1:-1])
        bins = np.searchsorted(edges, magnitude[:, t], side="right")  # (replicate, neuron, input)
        for b in range(n_bins):
            in_bin = bins == b
            groups = {  # the same weights for every class
                name: [group[r, t] & in_bin[r] for r in range(n_replicates)]
                for name, group in (("pruned", pruned), ("kept", kept))
            }
            for c in range(n_labels):
                for name in ("pruned", "kept"):
                    counts[name][b] += sum(int(g.sum()) for g in groups[name])
                    for source_name, values in (("exact", raise_exact), ("theory", raise_theory)):
                        sums[f"{source_name}_{name}"][b] += sum(
                            values[r, t, c][g].sum() for r, g in enumerate(groups[name])
                        )
                for r1 in range(n_replicates):
                    for r2 in range(n_replicates):
                        a, k = groups["pruned"][r1], groups["kept"][r2]
                        pairs[r1, r2] += a.sum() * k.sum()
                        for source_name, values in (("exact", raise_exact), ("theory", raise_theory)):
                            wins[source_name][r1, r2] += _wins(values[r1, t, c][a], values[r2, t, c][k])
    draws = np.random.default_rng(seed).multinomial(n_replicates, np.full(n_replicates, 1 / n_replicates), n_boot)
    boot_pairs = np.einsum("bi,ij,bj->b", draws, pairs, draws)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = {key: value.sum() / pairs.sum() for key, value in wins.items()}
        boot = {key: np.einsum("bi,ij,bj->b", draws, value, draws) / boot_pairs for key, value in wins.items()}
    boot_excess = boot["exact"] - boot["theory"]

    def interval(values):
        finite = values[np.isfinite(values)]
        return tuple(np.percentile(finite, [2.5, 97.5])) if finite.size else (np.nan, np.nan)

    (auc_low, auc_high), (theory_low, theory_high) = interval(boot["exact"]), interval(boot["theory"])
    excess_low, excess_high = interval(boot_excess)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_bin = {
            "mean_raise_pruned": sums["exact_pruned"] / counts["pruned"],
            "mean_raise_kept": sums["exact_kept"] / counts["kept"],
            "theory_raise_pruned": sums["theory_pruned"] / counts["pruned"],
            "theory_raise_kept": sums["theory_kept"] / counts["kept"],
        }
    out = xr.Dataset(
        {name: ("magnitude_bin", value) for name, value in per_bin.items()}
        | {"count_pruned": ("magnitude_bin", counts["pruned"]), "count_kept": ("magnitude_bin", counts["kept"])},
        coords={"magnitude_bin": np.arange(n_bins)},
    )
    scalars = {
        "auc": auc["exact"],
        "auc_low": auc_low,
        "auc_high": auc_high,
        "auc_theory": auc["theory"],
        "auc_theory_low": theory_low,
        "auc_theory_high": theory_high,
        "excess": auc["exact"] - auc["theory"],
        "excess_low": excess_low,
        "excess_high": excess_high,
        "n_pairs": pairs.sum(),
    }
    for name, value in scalars.items():
        out[name] = float(value)
    out["supported"] = bool(auc_low > 0.5)
    out["beyond_theory"] = bool(excess_low > 0)
    out.attrs = {"n_bins": n_bins, "n_boot": n_boot, "n_replicates": n_replicates}
    return out


def _wins(pruned: np.ndarray, kept: np.ndarray) -> float:
    """Pairs (a, b) of ``pruned`` x ``kept`` with a > b, ties counted half (the Mann-Whitney U of ``pruned``)."""
    if pruned.size == 0 or kept.size == 0:
        return 0.0
    kept = np.sort(kept)
    below = np.searchsorted(kept, pruned, side="left")
    up_to = np.searchsorted(kept, pruned, side="right")
    return float((below + 0.5 * (up_to - below)).sum())


def expansion_error(ds: xr.Dataset) -> xr.DataArray:
    """Median relative error |expansion - exact| / |exact| of the cavity expansion.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``cavity_exact`` and ``cavity_expansion``.

    Returns
    -------
    xarray.DataArray of shape (variant, approx_order)
        Over every replicate, round, class and unpruned weight.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> error = expansion_error(ds)  # (variant, approx_order)
    >>> bool((error.sel(approx_order=3) < error.sel(approx_order=1)).all())
    True
    """
    exact = ds.cavity_exact
    error = np.abs(ds.cavity_expansion - exact) / np.abs(exact)
    return error.median(("replicate", "round", "label", "neuron", "input"), skipna=True)


def kurtosis_ipr_correlation(ds: xr.Dataset) -> xr.DataArray:
    """Pearson correlation across units of |excess kurtosis| (mean over classes) and IPR.

    Parameters
    ----------
    ds : xarray.Dataset
        A run.

    Returns
    -------
    xarray.DataArray of shape (variant,)
        Over every replicate, round and unit with both values finite.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> kurtosis_ipr_correlation(ds).dims
    ('variant',)
    """
    abs_kurt = np.abs(ds.preact_excess_kurtosis).mean("label")
    return xr.corr(abs_kurt, ds.ipr, dim=("replicate", "round", "neuron"))


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
    >>> claim = claim_localization(round_summary(ds), ("nlgp", "gaussian_clone"))
    >>> bool(claim.supported) == bool(claim.ipr_ratio >= IPR_RATIO and claim.clone_ipr_excess <= CLONE_IPR_EXCESS)
    True
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
    >>> claim = claim_kurtosis(round_summary(ds), ("nlgp", "gaussian_clone"))
    >>> grows = claim.increase > GROWTH_SE * claim.se and claim.trend > TREND
    >>> bool(claim.supported) == bool(grows and claim.clone_max < CLONE_NOISE_MULTIPLE * claim.noise)
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
    >>> claim = claim_cavity(cavity_groups(ds), "nlgp")
    >>> pruned, kept, random = claim.fraction_raising.values
    >>> bool(claim.supported) == bool(pruned - claim.margin > max(kept, random))
    True
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
