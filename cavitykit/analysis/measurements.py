"""Measurements of a run (``cavitykit.open_run``) or a sweep, as labelled xarray: localization, the
per-replicate reduction and its round summary, how far training moved the weights, localization over
training time, cavity effects by group and by magnitude, the expansion's error.  Nothing here imports
torch or the IMP engine.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit import metrics
from cavitykit.io.schema import grid_shape, periodic_grid, run_config, seen_pixels


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
        ``rf_centre`` (centre in pixels along each grid ``axis``: ``x`` on a ring, ``y`` and ``x`` on a
        torus or image; circular on a ring or torus), ``rf_width`` (width in pixels, mean over grid
        axes), ``localized``
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
    shape, periodic = grid_shape(ds), periodic_grid(ds)
    centres, widths = xr.apply_ufunc(
        lambda w: tuple(metrics.receptive_field(w, shape, periodic=periodic).values()),
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


def per_replicate(ds: xr.Dataset) -> xr.Dataset:
    """Each network's round in a few numbers: the one reduction over units behind the round summary
    and the claims.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or a sweep.

    Returns
    -------
    xarray.Dataset over the dims of ``ds.test_accuracy`` (variant, replicate, round, swept keys)
        Means over units of ``ipr``, ``random_ipr`` (3 / (n + 2)), ``localized_fraction`` and
        ``rf_width`` (over units with a finite width); ``abs_kurtosis`` and ``kurtosis``, means of
        |excess kurtosis| and excess kurtosis over units and classes; ``test_accuracy`` and ``sparsity``.
    """
    local = localization(ds)
    kurt = ds.preact_excess_kurtosis
    return xr.Dataset(
        {
            "ipr": local.ipr.mean("neuron"),
            "random_ipr": local.random_ipr.mean("neuron"),
            "localized_fraction": local.localized.mean("neuron"),
            "rf_width": local.rf_width.where(np.isfinite(local.rf_width)).mean("neuron"),
            "abs_kurtosis": np.abs(kurt).mean(("label", "neuron")),
            "kurtosis": kurt.mean(("label", "neuron")),
            "test_accuracy": ds.test_accuracy,
            "sparsity": ds.sparsity,
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
    replicates = per_replicate(ds)
    out = xr.Dataset({name: value.mean("replicate") for name, value in replicates.data_vars.items()})
    for name in ("ipr", "abs_kurtosis", "kurtosis", "localized_fraction"):
        out[f"{name}_sd"] = replicates[name].std("replicate", ddof=1)  # NaN with one replicate
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
            "ipr": xr.apply_ufunc(metrics.ipr, weights, input_core_dims=[["input"]]),  # NaN where missing
        },
        coords={name: ds[name] for name in ("x", "y") if name in ds.coords},
    )
    local = localization(snapshots)
    return xr.Dataset(
        {
            "ipr": local.ipr,
            "localized": local.localized,
            "mean_ipr": local.ipr.mean(("replicate", "neuron")),
            "localized_fraction": local.localized.where(weights.notnull().all("input")).mean(("replicate", "neuron")),
            "random_ipr": 3.0 / (seen_pixels(ds).sum() + 2.0),
        }
    )


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


def connection_distance_ratio(ds: xr.Dataset) -> xr.DataArray:
    """Pellegrini and Biroli's measure at the last round: how often a unit's surviving input connections lie
    at each distance from one another, over how often they would if placed at random.

    Pair counts (``metrics.connection_distances``) and their exact expectation under random placement of
    each unit's own survivors (``connection_distances_null``) are summed over each network's units before
    the ratio is taken.

    Parameters
    ----------
    ds : xarray.Dataset
        A run or control branch on a 2D grid (``weight``, ``mask``; ``x``, ``y`` coordinates).

    Returns
    -------
    xarray.DataArray over (variant, replicate, distance)
        1 where connections are placed as at random; above 1 at short distances for local fields.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ratio = connection_distance_ratio(open_run(example_run()))  # a ring of 40: distances 1 to 20
    >>> ratio.dims, ratio.sizes["distance"]
    (('variant', 'replicate', 'distance'), 20)
    """
    shape, periodic = grid_shape(ds), periodic_grid(ds)
    last = ds.isel(round=-1)
    kept = np.nan_to_num(last["mask"].transpose("variant", "replicate", "neuron", "input").values).astype(bool)
    counts = metrics.connection_distances(kept, shape, periodic=periodic).sum(axis=2)
    null = metrics.connection_distances_null(kept.sum(axis=-1), shape, periodic=periodic, support=seen_pixels(ds))
    null = null.sum(axis=2)
    edges = metrics.distance_bins(shape, periodic=periodic)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = counts / null
    return xr.DataArray(
        ratio,
        dims=("variant", "replicate", "distance"),
        coords={
            "variant": ds.variant.values,
            "replicate": ds.replicate.values,
            "distance": (edges[:-1] + edges[1:]) / 2,
        },
        name="connection_distance_ratio",
        attrs={"long_name": "pairs of surviving connections at each distance over their number at random placement"},
    )


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


def weights_left(ds: xr.Dataset) -> xr.DataArray:
    """The share of weights each network keeps, over (variant, replicate, round): of the first layer's (on
    the pixels it sees) for a network of one hidden layer, of every layer's, readout included, for a deeper
    one (Frankle and Carbin's "weights remaining"); NaN for rounds a network has not written.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> weights_left(open_run(example_run())).sel(variant="nlgp", replicate=0).values.round(2)  # 30% a round
    array([1.  , 0.7 , 0.49])
    """
    if "layer_mask" not in ds:
        return (1 - ds.sparsity).where(ds.test_accuracy.notnull())
    seen = seen_pixels(ds)
    masks = [ds["mask"].isel(input=seen), ds["layer_mask"], ds["readout_mask"]]
    kept = sum(mask.sum([dim for dim in mask.dims if dim not in ("variant", "replicate", "round")]) for mask in masks)
    layer_total = int((ds["layer_width"] * ds["layer_fan_in"]).sum())
    total = (
        ds.sizes["neuron"] * int(seen.sum())
        + layer_total
        + ds["readout_mask"].isel(variant=0, replicate=0, round=0).size
    )
    return (kept / total).where(ds.test_accuracy.notnull())


def lottery_ticket(run: xr.Dataset, controls: dict[str, xr.Dataset], variant: str, *, drop: float) -> xr.Dataset | None:
    """The lottery ticket, as Frankle and Carbin test it: test accuracy against the share of weights left
    (``weights_left``: of the first layer's, of every layer's for a deeper network), for IMP (rewinding its
    survivors) against the same masks trained from a fresh random initialization (the ``reinit`` control)
    and, where the run has them, random and one-shot pruning.

    Parameters
    ----------
    run : xarray.Dataset
    controls : dict of str to xarray.Dataset
        The run's control branches; without ``reinit`` there is no ticket to test (None).
    variant : str
    drop : float
        A branch's accuracy "leaves the dense value" at its first round whose mean over replicates falls
        more than this below the dense round's (the report passes the claims' ``ACCURACY_DROP``).

    Returns
    -------
    xarray.Dataset over (branch, round), or None
        ``weights_left`` (mean over replicates), ``test_accuracy`` with ``low`` and ``high`` (its 95%
        Student t interval clipped to [0, 1]; NaN where a branch has no such round or one replicate), and
        over ``branch`` ``leaves_at`` (the round where its accuracy leaves the dense value, -1 if it never
        does); the attribute
        ``weights_counted`` says which weights the share counts ('first-layer' or 'all').

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> lottery_ticket(open_run(example_run()), {}, "nlgp", drop=0.03) is None  # no re-initialization control
    True
    """
    from cavitykit.analysis.units import replicate_interval
    from cavitykit.branches import IMP, ONE_SHOT, RANDOM, REINIT

    if REINIT.name not in controls:
        return None
    names = [name for name in (REINIT.name, RANDOM.name, ONE_SHOT.name) if name in controls]
    branches = {IMP.name: run} | {name: controls[name] for name in names}
    last = int(run["round"][-1])
    lines = []
    for name, branch in branches.items():
        if name == ONE_SHOT.name:  # its one pruned round has the run's final sparsity
            branch = branch.isel(round=[0, -1]).assign_coords(round=[0, last])
        one = xr.Dataset({"test_accuracy": branch.test_accuracy, "weights_left": weights_left(branch)})
        one = one.sel(variant=variant).reindex(round=run["round"])
        dense = xr.Dataset({"test_accuracy": run.test_accuracy, "weights_left": weights_left(run)})
        one = one.where(
            one["round"] > 0, dense.sel(variant=variant).isel(round=0, drop=True)
        )  # every branch's round 0 is IMP's
        accuracy = replicate_interval(one.test_accuracy)
        lines.append(
            xr.Dataset(
                {
                    "weights_left": one.weights_left.mean("replicate"),
                    "test_accuracy": accuracy["mean"],
                    "low": accuracy.low.clip(0.0, 1.0),
                    "high": accuracy.high.clip(0.0, 1.0),
                }
            )
        )
    out = xr.concat(lines, dim="branch").assign_coords(branch=list(branches))
    out.attrs["weights_counted"] = "all" if "layer_mask" in run else "first-layer"
    dense = out.test_accuracy.isel(round=0)
    below = (out.test_accuracy < dense - drop).values
    out["leaves_at"] = ("branch", [int(out["round"][row.argmax()]) if row.any() else -1 for row in below])
    return out
