"""Each function takes run data (xarray) and returns a matplotlib Figure; saving is the caller's."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # files only: no display on compute nodes

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr

from cavitykit.imp.config import LABELS

COLOURS = {"nlgp": "tab:red", "gaussian_clone": "tab:blue", "ising": "tab:orange", "ising_clone": "tab:cyan"}


def _label(variant) -> str:
    return LABELS.get(str(variant), str(variant))


def receptive_fields(ds: xr.Dataset, variant: str, *, replicate: int = 0, max_rounds: int = 6) -> plt.Figure:
    """Weights of every unit (columns) for up to ``max_rounds`` rounds (rows): traces in 1D, images in 2D."""
    sel = ds.sel(variant=variant, replicate=replicate)
    rounds = np.unique(np.linspace(0, sel.sizes["round"] - 1, min(max_rounds, sel.sizes["round"])).round().astype(int))
    n_units = sel.sizes["neuron"]
    two_d = "y" in ds.coords
    fig, axes = plt.subplots(
        len(rounds), n_units, figsize=(1.6 * n_units, 1.3 * len(rounds)), squeeze=False, sharex=True, sharey=not two_d
    )
    for row, r in enumerate(rounds):
        weights = sel.weight.isel(round=r).values
        sparsity = float(sel.sparsity.isel(round=r))
        for k in range(n_units):
            ax = axes[row, k]
            if two_d:
                side = round(np.sqrt(weights.shape[1]))
                limit = np.abs(weights[k]).max() or 1.0
                ax.imshow(weights[k].reshape(side, side), cmap="RdBu_r", vmin=-limit, vmax=limit)
                ax.set_xticks([])
                ax.set_yticks([])
            else:
                ax.plot(weights[k], color=COLOURS.get(variant, "k"), lw=0.9)
                ax.axhline(0, color="0.7", lw=0.5)
            if row == 0:
                ax.set_title(f"unit {k}", fontsize=8)
            if k == 0:
                ax.set_ylabel(f"round {r}\n({sparsity:.0%} pruned)", fontsize=7)
            ax.tick_params(labelsize=6)
    if not two_d:
        for ax in axes[-1]:
            ax.set_xlabel("input pixel", fontsize=7)
    fig.suptitle(f"Receptive fields, {_label(variant)}, replicate {replicate}", fontsize=10)
    fig.tight_layout()
    return fig


def _band(ax, x, mean, sd, colour, label):
    ax.plot(x, mean, "o-", color=colour, label=label, ms=3)
    ax.fill_between(x, mean - sd, mean + sd, color=colour, alpha=0.2)


def localization_and_kurtosis(summary: xr.Dataset) -> plt.Figure:
    """IPR, localized fraction and mean |excess kurtosis| per round, NLGP vs clone, bands = sd over replicates."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    rounds = summary["round"].values
    for variant in summary.variant.values:
        one = summary.sel(variant=variant)
        colour = COLOURS.get(str(variant), "k")
        _band(axes[0], rounds, one.ipr.values, one.ipr_sd.values, colour, _label(variant))
        axes[0].plot(
            rounds,
            one.random_ipr.values,
            "--",
            color=colour,
            lw=1,
            label=f"3/(n+2), n = kept weights ({_label(variant)})",
        )
        _band(axes[1], rounds, one.localized_fraction.values, one.localized_fraction_sd.values, colour, _label(variant))
        _band(axes[2], rounds, one.abs_kurtosis.values, one.abs_kurtosis_sd.values, colour, _label(variant))
    axes[0].set_ylabel("mean IPR of units")
    axes[1].set_ylabel("fraction of localized units")
    axes[2].set_ylabel("mean |excess kurtosis| of pre-activations")
    for ax in axes:
        ax.set_xlabel("IMP round")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def delta_histograms(ds: xr.Dataset) -> plt.Figure:
    """Histograms of exact cavity effects on the excess kurtosis: weights IMP prunes next vs weights it keeps."""
    variants = ds.variant.values
    fig, axes = plt.subplots(1, len(variants), figsize=(5 * len(variants), 3.6), squeeze=False)
    for ax, variant in zip(axes[0], variants, strict=True):
        sel = ds.sel(variant=variant)
        delta = sel.cavity_exact
        pruned = (sel.pruned_next & sel["mask"]).broadcast_like(delta)
        kept = (sel["mask"] & ~sel.pruned_next).broadcast_like(delta)
        values = {name: delta.where(group).values.ravel() for name, group in (("pruned next", pruned), ("kept", kept))}
        values = {name: v[np.isfinite(v)] for name, v in values.items()}
        pooled = np.concatenate(list(values.values()))
        low, high = np.quantile(pooled, [0.01, 0.99]) if pooled.size else (-1, 1)
        bins = np.linspace(low, high, 50)
        for (name, v), colour in zip(values.items(), ("tab:orange", "tab:green"), strict=True):
            ax.hist(v, bins=bins, density=True, alpha=0.55, color=colour, label=f"{name} ({v.size})")
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel("Δ excess kurtosis when the weight is removed (exact)")
        ax.set_ylabel("density")
        ax.set_title(f"{_label(variant)}, all rounds and replicates", fontsize=9)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def exact_vs_expansion(ds: xr.Dataset, variant: str = "nlgp") -> plt.Figure:
    """Truncated expansions against exact cavity effects, one panel per order, with the identity line."""
    sel = ds.sel(variant=variant)
    orders = sel.approx_order.values
    fig, axes = plt.subplots(1, len(orders), figsize=(4 * len(orders), 3.8), squeeze=False)
    exact = sel.cavity_exact
    for ax, order in zip(axes[0], orders, strict=True):
        approx = sel.cavity_expansion.sel(approx_order=order)
        x, y = xr.broadcast(exact, approx)
        x, y = x.values.ravel(), y.values.ravel()
        finite = np.isfinite(x) & np.isfinite(y)
        ax.scatter(x[finite], y[finite], s=3, alpha=0.4, color=COLOURS.get(variant, "k"))
        limits = np.quantile(np.abs(x[finite]), 0.995) if finite.any() else 1.0
        ax.plot([-limits, limits], [-limits, limits], "k--", lw=0.8, label="identity")
        ax.set_xlim(-limits, limits)
        ax.set_ylim(-limits, limits)
        error = np.median(np.abs(y[finite] - x[finite]) / np.abs(x[finite])) if finite.any() else np.nan
        ax.set_title(f"order {order}: median relative error {error:.1%}", fontsize=9)
        ax.set_xlabel("exact Δ excess kurtosis")
        ax.set_ylabel(f"expansion to order {order}")
        ax.legend(fontsize=7)
    fig.suptitle(f"Cavity expansion vs exact ablation ({_label(variant)})", fontsize=10)
    fig.tight_layout()
    return fig


def cumulant_spectra(ds: xr.Dataset) -> plt.Figure:
    """Standardized cumulants k_n / k_2^(n/2) of the pre-activations vs order n, first and last round."""
    fig, ax = plt.subplots(figsize=(6, 4))
    cumulant = ds.preact_cumulant.sel(order=slice(3, None))
    last = int(ds["round"].max())
    for variant in ds.variant.values:
        for r, style in ((0, "o--"), (last, "o-")):
            values = np.abs(cumulant.sel(variant=variant, round=r)).mean(("replicate", "sample_set", "neuron"))
            ax.semilogy(
                values.order,
                values,
                style,
                color=COLOURS.get(str(variant), "k"),
                ms=4,
                label=f"{_label(variant)}, round {r}",
            )
    ax.set_xlabel("order n")
    ax.set_ylabel("mean |k_n / k_2^(n/2)| over units")
    ax.set_title("Cumulant spectra of the pre-activations", fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    return fig
