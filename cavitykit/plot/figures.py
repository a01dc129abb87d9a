"""Each function takes run data or analysis results (xarray) and returns a matplotlib Figure.

Figures are built as ``matplotlib.figure.Figure`` objects, never through pyplot: importing this
module leaves the user's backend alone, and ``figure.savefig`` works on any machine.  In a
notebook, display a figure by leaving it as a cell's last expression.  Every number drawn comes
from ``cavitykit.analysis``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from cavitykit import analysis, metrics
from cavitykit.branches import BRANCHES
from cavitykit.io import seen_pixels
from cavitykit.variants import colour, label

# Scatter plots draw at most this many points.
MAX_POINTS = 20_000


def receptive_fields(
    ds: xr.Dataset, variant: str, *, replicate: int = 0, max_rounds: int = 6, max_units: int = 32
) -> Figure:
    """Weights of the first units (columns) for up to ``max_rounds`` rounds (rows): traces in 1D, images in 2D.

    Parameters
    ----------
    ds : xarray.Dataset
        A run.
    variant : str
    replicate : int
    max_rounds : int
        Rounds shown, spread evenly from the first to the last.
    max_units : int
        Units shown at most (every unit of a network up to this size; the title says when some are left out).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> figure = receptive_fields(ds, "nlgp")
    >>> type(figure).__name__
    'Figure'
    """
    sel = ds.sel(variant=variant, replicate=replicate).isel(neuron=slice(0, max_units))
    rounds = np.unique(np.linspace(0, sel.sizes["round"] - 1, min(max_rounds, sel.sizes["round"])).round().astype(int))
    n_units = sel.sizes["neuron"]
    two_d = "y" in ds.coords
    fig = Figure(figsize=(1.6 * n_units, 1.3 * len(rounds)))
    axes = fig.subplots(len(rounds), n_units, squeeze=False, sharex=True, sharey=not two_d)
    for row, r in enumerate(rounds):
        weights = _blank_dropped(sel, sel.weight.isel(round=r).values)
        sparsity = float(sel.sparsity.isel(round=r))
        for k in range(n_units):
            ax = axes[row, k]
            if two_d:
                limit = np.nanmax(np.abs(weights[k])) or 1.0
                ax.imshow(weights[k].reshape(analysis.grid_shape(ds)), cmap="RdBu_r", vmin=-limit, vmax=limit)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.plot(weights[k], color=colour(variant), lw=0.9)
                ax.axhline(0, color="0.7", lw=0.5)
            if row == 0:
                ax.set_title(f"unit {k}", fontsize=8)
            if k == 0:
                ax.set_ylabel(f"round {r}\n({sparsity:.0%} pruned)", fontsize=7)
            ax.tick_params(labelsize=6)
    if not two_d:
        for ax in axes[-1]:
            ax.set_xlabel("input pixel", fontsize=7)
    shown = "" if n_units == ds.sizes["neuron"] else f", units 0-{n_units - 1} of {ds.sizes['neuron']}"
    fig.suptitle(
        f"Receptive fields, {label(variant)}, replicate {replicate}{shown}; {_rounds_shown(ds, rounds)}", fontsize=10
    )
    fig.tight_layout()
    return fig


def _rounds_shown(ds: xr.Dataset, rounds) -> str:
    """Which of a run's rounds a figure draws, e.g. 'rounds 0, 2 and 4 of 0-5'."""
    names = [str(int(ds["round"][r])) for r in rounds]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    last = int(ds["round"][-1])
    return f"round{'s' * (len(names) > 1)} {listed}" + ("" if len(names) == last + 1 else f" of 0-{last}")


def _blank_dropped(ds: xr.Dataset, weights: np.ndarray) -> np.ndarray:
    """``weights`` (..., D) with NaN (drawn blank) on the pixels left out of the inputs (constant image
    pixels: all but ``io.seen_pixels``)."""
    return np.where(seen_pixels(ds), weights, np.nan)


def _mosaic(weights: np.ndarray, shape: tuple[int, int], columns: int) -> np.ndarray:
    """Units' weights (K, H W) as one image of ``columns`` tiles of H x W per row, each scaled to
    [-1, 1] by its largest |w|, tiles separated by NaN (drawn blank)."""
    rows = -(-len(weights) // columns)
    height, width = shape
    image = np.full((rows * (height + 1) - 1, columns * (width + 1) - 1), np.nan)
    for k, w in enumerate(weights):
        scale = np.nanmax(np.abs(w)) or 1.0
        row, column = divmod(k, columns)
        top, left = row * (height + 1), column * (width + 1)
        image[top : top + height, left : left + width] = w.reshape(shape) / scale
    return image


def receptive_field_maps(ds: xr.Dataset, pair: tuple[str, str], *, replicate: int = 0) -> Figure:
    """Every unit's 2D receptive field, first and last round (rows), model beside its clone (columns).

    Each unit is a tile of the image's shape (L x L, or H x W) coloured by its weights (red positive,
    blue negative, each tile scaled by its largest |w|); a dot marks the centre of a unit whose shape is a bump
    (``cavitykit.metrics.shape_class``: compact and coherent in sign, so not a checkerboard).

    Parameters
    ----------
    ds : xarray.Dataset
        A run on a torus (``dim = 2``) or on images.
    pair : (model, clone)
    replicate : int

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> receptive_field_maps(open_run(example_run()), ("nlgp", "gaussian_clone"))  # 1D run: 2D maps only
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    shape = analysis.grid_shape(ds)
    if len(shape) != 2:
        raise ValueError(f"receptive_field_maps draws 2D receptive fields; this run's grid is {shape}")
    periodic = analysis.periodic_grid(ds)
    rounds = sorted({int(ds["round"][0]), int(ds["round"][-1])})
    n_units = ds.sizes["neuron"]
    columns = _mosaic_columns(n_units)
    local = analysis.localization(ds.sel(replicate=replicate, round=rounds))  # only the rounds drawn
    fig = Figure(figsize=(11, 5.5 * len(rounds)))
    axes = fig.subplots(len(rounds), 2, squeeze=False)
    for row, r in enumerate(rounds):
        for column, variant in enumerate(pair):
            ax = axes[row, column]
            one = ds.sel(variant=variant, replicate=replicate, round=r)
            tiles_image = _mosaic(_blank_dropped(one, one.weight.values), shape, columns)
            image = ax.imshow(tiles_image, cmap="RdBu_r", vmin=-1, vmax=1)
            unit = local.sel(variant=variant, round=r)
            tiles = np.flatnonzero(metrics.shape_class(one.weight.values, shape, periodic=periodic) == "bump")
            centres = unit.rf_centre.values[tiles]
            tile_row, tile_column = np.divmod(tiles, columns)
            ax.scatter(
                tile_column * (shape[1] + 1) + centres[:, 1],
                tile_row * (shape[0] + 1) + centres[:, 0],
                s=4,
                c="k",
                marker="o",
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(
                f"{label(variant)}, round {r} ({float(one.sparsity):.0%} pruned): "
                f"{tiles.size} of {n_units} units are bumps",
                fontsize=9,
            )
    blank = " (blank: pixels constant in the training images)" if not seen_pixels(ds).all() else ""
    fig.suptitle(f"Receptive fields of all {n_units} units, replicate {replicate} (dot: centre of a bump){blank}")
    fig.tight_layout()
    fig.colorbar(image, ax=axes, shrink=0.6, label="weight / largest |weight| of its unit")
    return fig


def _mosaic_columns(n_units: int) -> int:
    """Tiles per row: the divisor of ``n_units`` nearest above its square root when one is no wider than
    twice that (no blank tile), else the rounded-up square root."""
    root = int(np.ceil(np.sqrt(n_units)))
    return next((c for c in range(root, 2 * root + 1) if n_units % c == 0), root)


def training_time(snapshots: xr.Dataset, pair: tuple[str, str], *, replicate: int = 0) -> Figure:
    """Localization against training time t = steps / D in the dense network (round 0), model and clone.

    Left: each unit's IPR in ``replicate`` (thin lines) and the mean over units and replicates
    (thick), against log t, with the random-vector value 3 / (D + 2).  Right: the fraction of
    localized units (``metrics.is_localized``) over units and replicates.

    Parameters
    ----------
    snapshots : xarray.Dataset
        ``cavitykit.analysis.snapshot_summary`` of a run.
    pair : (model, clone)
    replicate : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    dense = snapshots.isel(round=0)
    times = dense["time"].values
    shown = times > 0  # a log axis: t = 0 (the initialization) is the first kept time's left neighbour
    fig = Figure(figsize=(11, 4.2))
    left, right = fig.subplots(1, 2)
    for variant in pair:
        one = dense.sel(variant=variant)
        units = one.ipr.sel(replicate=replicate).values[shown]  # (time, neuron)
        left.plot(times[shown], units, color=colour(variant), lw=0.6, alpha=0.5)
        left.plot(times[shown], one.mean_ipr.values[shown], color=colour(variant), lw=2.5, label=label(variant))
        right.plot(
            times[shown], one.localized_fraction.values[shown], "o-", ms=3, color=colour(variant), label=label(variant)
        )
    left.axhline(float(snapshots.random_ipr), color="grey", ls=":", label="random vector 3/(D+2)")
    left.set(
        xscale="log", xlabel="training time t = steps / D", ylabel="IPR", title="IPR of every unit (thin) and mean"
    )
    right.set(
        xscale="log",
        xlabel="training time t = steps / D",
        ylabel="fraction localized",
        ylim=(-0.02, 1.02),
        title="localized units (width < 0.1 L on every axis)",
    )
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    fig.tight_layout()
    return fig


def receptive_fields_over_time(ds: xr.Dataset, pair: tuple[str, str], times, *, replicate: int = 0) -> Figure:
    """Every unit's 2D receptive field of the dense network at a few training times, model beside clone.

    Parameters
    ----------
    ds : xarray.Dataset
        A run on a torus with snapshots.
    pair : (model, clone)
    times : sequence of float
        Training times t; each row shows the kept snapshot nearest to one of them.
    replicate : int

    Returns
    -------
    matplotlib.figure.Figure
    """
    shape = analysis.grid_shape(ds)
    n_units = ds.sizes["neuron"]
    columns = _mosaic_columns(n_units)
    dense = ds.isel(round=0).sel(replicate=replicate)
    fig = Figure(figsize=(11, 5.0 * len(times)))
    axes = fig.subplots(len(times), 2, squeeze=False)
    for row, wanted in enumerate(times):
        snapshot = dense.sel(time=wanted, method="nearest")
        for column, variant in enumerate(pair):
            ax = axes[row, column]
            ax.imshow(
                _mosaic(_blank_dropped(snapshot, snapshot.snapshot_weight.sel(variant=variant).values), shape, columns),
                cmap="RdBu_r",
                vmin=-1,
                vmax=1,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{label(variant)}, t = {float(snapshot['time']):.3g}", fontsize=9)
    fig.suptitle(f"Receptive fields of all {n_units} units of the dense network over training, replicate {replicate}")
    fig.tight_layout()
    return fig


def _band(ax, x, mean, sd, line_colour, name, style="o-", alpha=0.2):
    ax.plot(x, mean, style, color=line_colour, label=name, ms=3)
    ax.fill_between(x, mean - sd, mean + sd, color=line_colour, alpha=alpha)


def claims_by_round(trajectories: xr.Dataset, pair: tuple[str, str]) -> Figure:
    """What the claims read, per round, on learned units: bump share (shape classes), compactness, IPR over
    the top-n null, |excess kurtosis| and the coherence factor, for IMP on the model and its clone and for
    each control branch on the model (means over replicates, bands their standard deviation).

    Parameters
    ----------
    trajectories : xarray.Dataset over (line, replicate, round)
        ``cavitykit.analysis.learned_trajectories``.
    pair : (model, clone)

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from cavitykit import analysis, open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())
    >>> lines = analysis.learned_trajectories(ds, {}, ("nlgp", "gaussian_clone"))
    >>> len(claims_by_round(lines, ("nlgp", "gaussian_clone")).axes)
    5
    """
    panels = {
        "bump": ("share of learned units that are bumps", (-0.03, 1.03)),
        "compactness": ("compactness (weight on kept pixels with a kept neighbour)", (-0.03, 1.03)),
        "ipr_over_top": ("IPR / IPR of the top n of D (null = 1)", None),
        "abs_kurtosis": ("mean |excess kurtosis| of pre-activations", None),
        "coherence": ("coherence factor gamma_2 / (kappa_x IPR)", None),
    }
    figure = Figure(figsize=(16, 3.6), layout="constrained")
    axes = figure.subplots(1, len(panels))
    rounds = trajectories["round"].values
    anything = False  # some panel drawn: an empty coherence panel then means no pixel kurtosis (images)
    for ax, (name, (title, limits)) in zip(axes, panels.items(), strict=True):
        drawn = False
        for line in trajectories.line.values:
            strategy, variant = str(line).split(":")
            values = trajectories[name].sel(line=line)
            mean, sd = values.mean("replicate").values, values.std("replicate").values
            if not np.isfinite(mean).any():
                continue
            branch = BRANCHES[strategy]
            _band(ax, rounds, mean, sd, colour(variant), f"{branch.label}, {label(variant)}", branch.style, alpha=0.12)
            drawn = True
        if name == "ipr_over_top":
            ax.axhline(1.0, color="grey", ls="--", lw=1, label="top-n null")
        ax.set(xlabel="round", title=title)
        ax.title.set_fontsize(9)
        if limits is not None:
            ax.set_ylim(*limits)
        ax.grid(alpha=0.3)
        anything |= drawn
        if not drawn:
            empty = "no pixel kurtosis (images)" if name == "coherence" and anything else "no learned unit"
            ax.text(0.5, 0.5, empty, transform=ax.transAxes, ha="center", va="center", color="0.4")
    for ax in (axes[0], axes[2]):
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    figure.suptitle(
        f"Learned units of {label(pair[0])} and of its clone, per round (every strategy at the same layer sparsity; "
        "one-shot's one pruned round at the run's last)",
        fontsize=10,
    )
    return figure


def matched_survivors(curve: xr.Dataset, n_star: float) -> Figure:
    """Claim 1 at matched survivors: the share of learned units that are bumps and their IPR over the
    top-n null, against each unit's survivor count n, for each variant (means over replicates, bands
    their standard deviation); a dotted line marks n*, the sparsest point where both still classify.

    Parameters
    ----------
    curve : xarray.Dataset over (variant, replicate, n)
        ``bump`` and ``ipr_over_top`` (``claim_localization(...).curve``).
    n_star : float

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ones = (("variant", "replicate", "n"), np.ones((1, 2, 3)))
    >>> curve = xr.Dataset({"bump": ones, "ipr_over_top": ones}, coords={"variant": ["nlgp"], "n": [400, 100, 25]})
    >>> [ax.get_xlabel() for ax in matched_survivors(curve, 100).axes]
    ['surviving weights per unit n', 'surviving weights per unit n']
    """
    figure = Figure(figsize=(9, 3.4), layout="constrained")
    axes = figure.subplots(1, 2)
    titles = {"bump": "share of learned units that are bumps", "ipr_over_top": "IPR / IPR of the top n of D"}
    for ax, name in zip(axes, titles, strict=True):
        for variant in curve.variant.values:
            one = curve[name].sel(variant=variant)
            _band(
                ax,
                curve.n.values,
                one.mean("replicate").values,
                one.std("replicate").values,
                colour(variant),
                label(variant),
            )
        ax.axvline(n_star, color="grey", ls=":", lw=1, label=f"n* = {n_star:.0f}, the comparison point")
        ax.set_xscale("log")
        ticks = _log_ticks(curve.n.values)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks], minor=False)
        ax.set_xticks([], minor=True)
        ax.invert_xaxis()
        ax.set_xlabel("surviving weights per unit n")
        ax.set_title(titles[name], fontsize=10)
    axes[1].axhline(1.0, color="grey", ls="--", lw=1, label="top-n null")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    return figure


def _log_ticks(values: np.ndarray, at_most: int = 6) -> list[float]:
    """At most ``at_most`` of the values, spread evenly in log, for labels that do not overlap."""
    values = np.unique(np.asarray(values, dtype=float)[np.asarray(values) > 0])
    if len(values) <= at_most:
        return values.tolist()
    wanted = np.geomspace(values.min(), values.max(), at_most)
    return sorted({float(values[np.argmin(np.abs(np.log(values) - np.log(w)))]) for w in wanted})


def delta_histograms(ds: xr.Dataset) -> Figure:
    """Histograms of exact cavity effects on the excess kurtosis: weights IMP prunes next vs weights it keeps.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with cavity effects; groups from ``cavitykit.analysis.pruning_groups``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per variant, all rounds and replicates pooled.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> figure = delta_histograms(ds)
    >>> type(figure).__name__
    'Figure'
    """
    variants = ds.variant.values
    fig = Figure(figsize=(5 * len(variants), 3.6))
    axes = fig.subplots(1, len(variants), squeeze=False)
    groups = analysis.pruning_groups(ds)
    for ax, variant in zip(axes[0], variants, strict=True):
        delta = ds.cavity_exact.sel(variant=variant)
        values = {
            name: delta.where(groups[group].sel(variant=variant).broadcast_like(delta)).values.ravel()
            for name, group in (("pruned next", "pruned"), ("kept", "kept"))
        }
        values = {name: v[np.isfinite(v)] for name, v in values.items()}
        pooled = np.concatenate(list(values.values()))
        low, high = np.quantile(pooled, [0.01, 0.99]) if pooled.size else (-1, 1)
        bins = np.linspace(low, high, 50)
        for (name, v), bar_colour in zip(values.items(), ("tab:orange", "tab:green"), strict=True):
            ax.hist(v, bins=bins, density=True, alpha=0.55, color=bar_colour, label=f"{name} ({v.size} effects)")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("Δ excess kurtosis when the weight is removed (exact)")
        ax.set_ylabel("density")
        ax.set_title(f"{label(variant)}, all rounds and replicates", fontsize=9)
        # effects of both classes pooled; the legend where it hides the fewest bars
        ax.legend(fontsize=8, loc="best", framealpha=0.6)
    fig.tight_layout()
    return fig


def connection_distances(ratios: dict[str, tuple[str, xr.DataArray]]) -> Figure:
    """Pellegrini and Biroli's measure: surviving connections at each distance over random placement.

    Parameters
    ----------
    ratios : dict
        Line name -> (variant, ``analysis.connection_distance_ratio`` of one run or branch over
        (variant, replicate, distance)); the mean over replicates, in the variant's colour, dashed for
        control branches.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ratio = analysis.connection_distance_ratio(open_run(example_run()))
    >>> type(connection_distances({"IMP": ("nlgp", ratio)})).__name__
    'Figure'
    """
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for index, (name, (variant, ratio)) in enumerate(ratios.items()):
        one = ratio.sel(variant=variant).mean("replicate")
        style = "-" if name.startswith("IMP") else ("--", ":", "-.")[index % 3]
        ax.plot(one.distance, one, style, marker="o", ms=3, color=colour(variant), label=name)
    ax.axhline(1, color="0.5", lw=0.8)
    ax.set_xlabel("distance between two surviving connections of a unit (pixels)")
    ax.set_ylabel("pairs / pairs at random placement")
    ax.set_title("Surviving connections at the last round (all units; mean over replicates)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def lottery_ticket(lottery: xr.Dataset, variant: str) -> Figure:
    """The lottery ticket: test accuracy against the share of weights left (``weights_counted``), IMP beside the same
    masks re-initialized (and random and one-shot pruning where the run has them); bars: 95% intervals
    over replicates.

    Parameters
    ----------
    lottery : xarray.Dataset over (branch, round)
        ``analysis.lottery_ticket``.
    variant : str
        The variant it is of, named in the title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> lottery = xr.Dataset(
    ...     {name: (("branch", "round"), [[1.0, 0.5], [1.0, 0.5]]) for name in ("weights_left", "low", "high")}
    ...     | {"test_accuracy": (("branch", "round"), [[0.9, 0.9], [0.9, 0.8]])},
    ...     coords={"branch": ["imp", "reinit"], "round": [0, 1]},
    ...     attrs={"weights_counted": "first-layer"},
    ... )
    >>> len(lottery_ticket(lottery, "nlgp").axes[0].lines) >= 2
    True
    """
    fig = Figure(figsize=(6.4, 4.0))
    ax = fig.subplots()
    for name in lottery.branch.values:
        one = lottery.sel(branch=name)
        drawn = one.test_accuracy.notnull().values
        x, y = one.weights_left.values[drawn], one.test_accuracy.values[drawn]
        errors = np.abs(np.stack([y - one.low.values[drawn], one.high.values[drawn] - y]))
        branch = BRANCHES[str(name)]
        ax.errorbar(x, y, yerr=np.nan_to_num(errors), fmt=branch.style, ms=4, capsize=2, label=branch.label)
    ax.set_xscale("log")
    ax.invert_xaxis()  # pruning moves right
    ax.set_xlabel(f"share of {lottery.attrs['weights_counted']} weights left")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"The lottery ticket on {label(variant)} (mean over replicates)", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def exact_vs_expansion(ds: xr.Dataset, variant: str = "nlgp", *, errors: xr.DataArray | None = None) -> Figure:
    """Truncated expansions against exact cavity effects, one panel per order, with the identity line.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with cavity effects.
    variant : str
    errors : xarray.DataArray, optional
        ``cavitykit.analysis.expansion_error(ds)``, shown in the titles; computed when not given.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> figure = exact_vs_expansion(ds, "nlgp")
    >>> type(figure).__name__
    'Figure'
    """
    sel = ds.sel(variant=variant)
    orders = sel.approx_order.values
    errors = (analysis.expansion_error(ds) if errors is None else errors).sel(variant=variant)
    fig = Figure(figsize=(4 * len(orders), 3.8))
    axes = fig.subplots(1, len(orders), squeeze=False)
    exact = sel.cavity_exact
    for ax, order in zip(axes[0], orders, strict=True):
        approx = sel.cavity_expansion.sel(approx_order=order)
        x, y = xr.broadcast(exact, approx)
        x, y = x.values.ravel(), y.values.ravel()
        finite = np.isfinite(x) & np.isfinite(y)
        shown = np.flatnonzero(finite)
        if shown.size > MAX_POINTS:  # a fixed random subset keeps the files small; the error uses all
            shown = np.random.default_rng(0).choice(shown, MAX_POINTS, replace=False)
        ax.scatter(x[shown], y[shown], s=3, alpha=0.4, color=colour(variant), label=f"{shown.size} weights")
        limits = np.quantile(np.abs(x[finite]), 0.995) if finite.any() else 1.0
        ax.plot([-limits, limits], [-limits, limits], "k--", lw=0.8, label="identity")
        ax.set_xlim(-limits, limits)
        ax.set_ylim(-limits, limits)
        ax.set_title(f"order {order}: median relative error {float(errors.sel(approx_order=order)):.1%}", fontsize=9)
        ax.set_xlabel("exact Δ excess kurtosis")
        ax.set_ylabel(f"expansion to order {order}")
        ax.legend(fontsize=7, loc="upper left")
    fig.suptitle(f"Cavity expansion vs exact ablation ({label(variant)})", fontsize=10)
    fig.tight_layout()
    return fig


def cumulant_spectra(ds: xr.Dataset) -> Figure:
    """Standardized cumulants k_n / k_2^(n/2) of the pre-activations vs order n, first and last round.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``preact_cumulant`` (``cavitykit cumulants``).

    Returns
    -------
    matplotlib.figure.Figure
        Mean |k_n / k_2^(n/2)| over replicates, sample sets and units, n >= 3, log scale.

    Examples
    --------
    >>> from cavitykit.io import open_run, with_cumulants  # doctest: +SKIP
    >>> from cavitykit.spectra import preactivation_cumulants  # doctest: +SKIP
    >>> from cavitykit.testing import example_run  # doctest: +SKIP
    >>> spectra = preactivation_cumulants(example_run(), max_order=6)  # doctest: +SKIP
    >>> figure = cumulant_spectra(with_cumulants(open_run(example_run()), spectra))  # doctest: +SKIP
    >>> figure.savefig("spectra.png")  # doctest: +SKIP
    """
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    cumulant = ds.preact_cumulant.sel(order=slice(3, None))
    last = int(ds["round"].max())
    for variant in ds.variant.values:
        for r, style in ((0, "o--"), (last, "o-")):
            values = np.abs(cumulant.sel(variant=variant, round=r)).mean(("replicate", "sample_set", "neuron"))
            ax.semilogy(
                values.order,
                values,
                style,
                color=colour(variant),
                ms=4,
                label=f"{label(variant)}, round {r}",
            )
    ax.set_xlabel("order n")
    ax.set_ylabel("mean |k_n / k_2^(n/2)| over units")
    ax.set_title("Cumulant spectra of the pre-activations", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig


# Pruning strategies beside each other in the sweep figure (variants keep their own colours).
STRATEGY_COLOURS = {"IMP": "k", "random": "tab:green", "one-shot": "tab:purple"}


def sweep_verdicts(verdicts: xr.Dataset) -> Figure:
    """Each claim's statistic along a sweep's one swept axis, with its 95% interval over replicates.

    Panels: the share of learned units that are bumps at matched survivors, model and clone (claim 1);
    the rise of the learned units' mean |excess kurtosis| under IMP and under random pruning (claim 2);
    the share of pruned weights whose removal raises |excess kurtosis|, model and clone, against 1/2
    (claim 3); the bump share after the last round under IMP and one-shot pruning (claim 4).  A filled
    marker on the x axis marks the points where the claim is supported.

    Parameters
    ----------
    verdicts : xarray.Dataset
        ``analysis.sweep_verdicts`` of a sweep with one swept dim.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import xarray as xr
    >>> rows = {name: ("gain", [0.1, 0.2]) for name in ("bump_model", "bump_model_low", "bump_model_high")}
    >>> verdicts = xr.Dataset(rows, coords={"gain": [1.0, 3.0]}, attrs={"pair": ["nlgp", "gaussian_clone"]})
    >>> len(sweep_verdicts(verdicts).axes)
    4
    """
    (axis,) = verdicts.dims
    model, clone = verdicts.attrs["pair"]
    values = verdicts[axis].values
    numeric = np.issubdtype(values.dtype, np.number)
    positions = values if numeric else np.arange(len(values))
    fig = Figure(figsize=(10, 6.5))
    axes = fig.subplots(2, 2).ravel()
    panels = [
        ("localization", "claim 1: bumps among learned units at n*", [("bump_model", model), ("bump_clone", clone)]),
        ("kurtosis", "claim 2: rise of mean |excess kurtosis|", [("rise_imp", "IMP"), ("rise_random", "random")]),
        ("cavity", "claim 3: pruned weights raising |kurtosis|", [("raising_pruned", model), ("raising_clone", clone)]),
        (
            "iterative",
            "claim 4: bumps at one-shot's per-unit n",
            [
                ("bump_imp_matched", "IMP"),
                ("bump_one_shot_matched", "one-shot"),
                ("bump_dense_cut_matched", "dense cut"),
            ],
        ),
    ]
    for ax, (claim, title, lines) in zip(axes, panels, strict=True):
        for name, text in lines:
            if name not in verdicts or not np.isfinite(verdicts[name]).any():
                continue
            middle = verdicts[name].values
            spread = np.abs([middle - verdicts[f"{name}_low"].values, verdicts[f"{name}_high"].values - middle])
            ax.errorbar(
                positions,
                middle,
                yerr=spread,
                marker="o",
                capsize=3,
                color=STRATEGY_COLOURS.get(text, colour(text)),
                label=label(text),
            )
        if claim == "cavity":
            ax.axhline(0.5, color="0.6", lw=0.8)
        held = verdicts[f"{claim}_supported"].values == 1 if f"{claim}_supported" in verdicts else []
        if np.any(held):  # stars along the top edge
            ax.plot(positions[held], np.full(held.sum(), 0.97), "k*", ms=9, transform=ax.get_xaxis_transform())
        ax.set_title(title, fontsize=9)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:
            ax.text(0.5, 0.5, "not tested", ha="center", va="center", transform=ax.transAxes, color="0.4")
    for ax in axes:
        ax.set_xlabel(axis, fontsize=8)
        ax.tick_params(labelsize=7)
        if numeric and values.min() > 0 and values.max() / values.min() > 20:
            ax.set_xscale("log")
        if not numeric:
            ax.set_xticks(positions, [str(v) for v in values])
    fig.suptitle(f"Claims along {axis} (replicate means, 95% intervals; * supported)", fontsize=10)
    fig.tight_layout()
    return fig
