"""Validation, the first-layer sum pass and labelled output shared by ``exact`` and ``expansion``."""

from __future__ import annotations

import numpy as np
import torch
import xarray as xr

from cavitykit import __version__
from cavitykit._validation import as_real_array, check_choice, check_int
from cavitykit.cavity._engine import CentredPowers, MixedSums, chunk_rows, needed_powers, resolve_device
from cavitykit.cavity._statistics import STATISTICS, Statistic, polynomials, value
from cavitykit.stats.moments import central_moments

PREACTIVATION = "lambda_k = sum_i w_ki x_i / sqrt(D)"


def check_statistic(statistic) -> Statistic:
    return STATISTICS[check_choice("statistic", statistic, tuple(STATISTICS))]


def check_weights(weights, mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Weights (K, D) float64 and the boolean mask of unpruned weights (given, or the non-zeros)."""
    weights = as_real_array("weights", weights).astype(np.float64, copy=False)
    if weights.ndim != 2 or 0 in weights.shape:
        raise ValueError(f"weights must be a non-empty 2-D array (neuron, input), got shape {weights.shape}")
    if not np.isfinite(weights).all():
        raise ValueError("weights contain NaN or inf")
    if mask is None:
        return weights, weights != 0
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"mask must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != weights.shape:
        raise ValueError(f"mask must have the shape of weights {weights.shape}, got {mask.shape}")
    return np.where(mask, weights, 0.0), mask


def check_inputs(inputs, n_inputs: int, min_samples: int, *, name: str = "inputs", check_finite=True) -> np.ndarray:
    """Samples (P, D) in float32 or float64 with P >= ``min_samples``, finite unless told not to check."""
    inputs = as_real_array(name, inputs)
    if inputs.ndim != 2 or inputs.shape[1] != n_inputs:
        raise ValueError(f"{name} must have shape (P, {n_inputs}) to match weights, got {inputs.shape}")
    if inputs.shape[0] < min_samples:
        raise ValueError(f"{name} must have at least {min_samples} samples for this statistic, got {inputs.shape[0]}")
    if check_finite:
        check_finite_inputs(inputs, name)
    return inputs


def check_finite_inputs(inputs: np.ndarray, name: str = "inputs") -> None:
    if not np.isfinite(inputs).all():
        raise ValueError(f"{name} contain NaN or inf")


def first_layer_polynomials(weights, inputs, statistic, mask, batch_size, device):
    """Validate, then the polynomial coefficients k_n(s) for every (neuron, input) pair.

    Returns
    -------
    stat : Statistic
    weights : ndarray of shape (K, D), pruned entries zeroed
    mask : ndarray of bool, shape (K, D)
    polys : dict order -> ndarray of shape (order + 1, K, D)
    n_samples : int
    device : torch.device
    """
    stat = check_statistic(statistic)
    weights, mask = check_weights(weights, mask)
    n_neurons, n_inputs = weights.shape
    # NaN or inf in the inputs make the sums non-finite: checked there, saving a pass over the data.
    inputs = check_inputs(inputs, n_inputs, stat.order, check_finite=False)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, minimum=1)
    device = resolve_device(device)
    n_samples = inputs.shape[0]
    # One fused pass of the cumulant engine gives the input means (to centre exactly: the
    # pre-activations of centred inputs are centred too) and the inputs' own central sums.
    powers = needed_powers(stat.orders)
    moments = central_moments(inputs, max(powers))
    mean = torch.from_numpy(moments.mean).to(device)
    projection = torch.from_numpy(weights / np.sqrt(n_inputs)).to(device)
    sums = MixedSums(powers, n_neurons, n_inputs, device, z_sums={r: moments.sums[r] for r in powers})
    rows = chunk_rows(batch_size, n_samples, n_inputs * max(powers), device)
    centred_powers = CentredPowers(sums.highest_z_power)
    for start in range(0, n_samples, rows):
        x_powers = centred_powers(torch.from_numpy(inputs[start : start + rows]).to(device), mean)
        sums.add(projection @ x_powers[1].T, x_powers)
    mixed_sums = sums.to_numpy()
    if not np.isfinite(mixed_sums).all():
        check_finite_inputs(inputs)
        raise ValueError("the power sums overflow float64: rescale the inputs or the weights")
    count = np.full((n_neurons, n_inputs), float(n_samples))
    polys = polynomials(stat, count, mixed_sums)
    if stat.standardized:
        constant = np.flatnonzero(polys[2][0][:, 0] <= 0)
        if constant.size:
            raise ValueError(
                f"the pre-activation of neuron {constant[0]} is constant on these inputs: {stat.name} is undefined"
            )
    return stat, weights, mask, polys, n_samples, device


def removal_step(weights: np.ndarray) -> np.ndarray:
    """s_ki = -w_ki / sqrt(D): removing weight (k, i) adds s_ki x_i to lambda_k."""
    return -weights / np.sqrt(weights.shape[1])


def labelled(delta, stat, polys, mask, *, method: str, n_samples: int, device, **attrs) -> xr.DataArray:
    """Delta (K, D) as a DataArray, NaN at pruned weights, with the intact statistic as a coordinate."""
    n_neurons, n_inputs = delta.shape
    return xr.DataArray(
        np.where(mask, delta, np.nan),
        dims=("neuron", "input"),
        coords={
            "neuron": np.arange(n_neurons),
            "input": np.arange(n_inputs),
            "statistic_value": ("neuron", value(stat, polys)[:, 0]),
        },
        name=f"cavity_{method}",
        attrs={
            "long_name": f"change of the pre-activation {stat.name} when one weight is removed ({method})",
            "statistic": stat.name,
            "definition": stat.description,
            "method": method,
            "preactivation": PREACTIVATION,
            "n_samples": n_samples,
            "device": str(device),
            "cavitykit_version": __version__,
            **attrs,
        },
    )
