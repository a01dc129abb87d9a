"""Validation, the first-layer sum pass and labelled output shared by ``exact`` and ``expansion``."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch
import xarray as xr

from cavitykit import __version__
from cavitykit._validation import as_real_array, check_choice, check_int
from cavitykit.cavity import _kernels
from cavitykit.cavity._engine import CentredPowers, MixedSums, chunk_rows, needed_powers
from cavitykit.cavity._statistics import STATISTICS, Statistic, polynomials, value
from cavitykit.device import resolve_device
from cavitykit.network.formulas import as_linear, preactivation_formula
from cavitykit.stats.moments import CentralMoments, central_moments

# Kept fraction up to which the kept-weight kernel replaces the GEMMs on a CPU: just below where
# the two routes take equal time (``cavitykit bench cavity``; figures in docs/performance.md).
KEPT_ROUTE_MAX_DENSITY = 0.35
# Row chunks of the kernel: fixed, so that its sums do not depend on the number of threads.
KEPT_ROUTE_TASKS = 16


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


@dataclass(frozen=True)
class FirstLayer:
    """A layer's polynomial coefficients k_n(s) for every (neuron, input) pair, and what labels its effects.

    Attributes
    ----------
    stat : Statistic
    weights : ndarray of shape (K, D), pruned entries zeroed
    mask : ndarray of bool, shape (K, D)
    polys : dict order -> ndarray of shape (order + 1, K, D)
    n_samples : int
    device : torch.device
    route : {'gemm', 'kept'}
        The route the mixed sums took.
    """

    stat: Statistic
    weights: np.ndarray
    mask: np.ndarray
    polys: dict
    n_samples: int
    device: torch.device
    route: str

    @property
    def step(self) -> np.ndarray:
        """s_ki = -w_ki / sqrt(D): removing weight (k, i) adds s_ki x_i to lambda_k; shape (K, D)."""
        return removal_step(self.weights)

    def labelled(self, delta: np.ndarray, *, method: str, **attrs) -> xr.DataArray:
        """Delta (K, D) as a DataArray, NaN at pruned weights, with the intact statistic as a coordinate."""
        n_neurons, n_inputs = delta.shape
        stat = self.stat
        return xr.DataArray(
            np.where(self.mask, delta, np.nan),
            dims=("neuron", "input"),
            coords={
                "neuron": np.arange(n_neurons),
                "input": np.arange(n_inputs),
                "statistic_value": ("neuron", np.where(self.mask.any(axis=1), value(stat, self.polys)[:, 0], np.nan)),
            },
            name=f"cavity_{method}",
            attrs={
                "long_name": f"change of the pre-activation {stat.name} when one weight is removed ({method})",
                "statistic": stat.name,
                "definition": stat.description,
                "method": method,
                "preactivation": preactivation_formula("scaled", with_bias=False),
                "n_samples": self.n_samples,
                "device": str(self.device),
                "route": self.route,
                "cavitykit_version": __version__,
                **attrs,
            },
        )


def first_layer_polynomials(weights, inputs, statistic, mask, batch_size, device, route=None) -> FirstLayer:
    """Validate, then the polynomial coefficients k_n(s) for every (neuron, input) pair.

    ``route`` ('gemm' or 'kept') forces the route of the mixed sums; by default ``choose_route``'s.
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
    route = choose_route(mask, powers, device, route)
    moments = central_moments(inputs, max(powers))
    mixed_sums = first_layer_sums(
        inputs, moments, weights, mask, powers, batch_size=batch_size, device=device, route=route
    )
    if not np.isfinite(mixed_sums).all():
        check_finite_inputs(inputs)
        raise ValueError("the power sums overflow float64: rescale the inputs or the weights")
    count = np.full((n_neurons, n_inputs), float(n_samples))
    polys = polynomials(stat, count, mixed_sums)
    empty = ~mask.any(axis=1)
    if empty.any():  # pruned away entirely: nothing to remove, no statistic
        warnings.warn(
            f"neuron(s) {', '.join(map(str, np.flatnonzero(empty)))} have no weight left: their effects and "
            f"{stat.name} are NaN",
            stacklevel=3,
        )
    if stat.standardized:
        constant = np.flatnonzero((polys[2][0][:, 0] <= 0) & ~empty)
        if constant.size:
            raise ValueError(
                f"the pre-activation of neuron {constant[0]} is constant on these inputs: {stat.name} is undefined"
            )
    return FirstLayer(stat, weights, mask, polys, n_samples, device, route)


def choose_route(mask: np.ndarray, powers: list[int], device: torch.device, route: str | None = None) -> str:
    """The route of the mixed sums: ``route`` when given ('gemm' or 'kept'), else 'kept' on a CPU when
    the kept fraction is at most ``KEPT_ROUTE_MAX_DENSITY`` and no power exceeds the kernel's, else 'gemm'.

    Examples
    --------
    >>> import numpy as np, torch
    >>> mask = np.eye(4, dtype=bool)  # a quarter kept
    >>> choose_route(mask, [2, 4], torch.device("cpu")), choose_route(mask, [2, 6], torch.device("cpu"))
    ('kept', 'gemm')
    """
    if route is not None:
        return check_choice("route", route, ("gemm", "kept"))
    kept_applies = device.type == "cpu" and max(powers) <= _kernels.MAX_POWER
    return "kept" if kept_applies and mask.mean() <= KEPT_ROUTE_MAX_DENSITY else "gemm"


def first_layer_sums(
    inputs: np.ndarray,
    moments: CentralMoments,
    weights: np.ndarray,
    mask: np.ndarray,
    powers: list[int],
    *,
    batch_size: int | None,
    device: torch.device,
    route: str | None = None,
) -> np.ndarray:
    """Central mixed power sums of every unit's pre-activation and every input, as ``MixedSums.to_numpy``.

    Parameters
    ----------
    inputs : ndarray of shape (P, D), float32 or float64
    moments : CentralMoments
        The inputs' mean and central power sums (``central_moments(inputs, max(powers))``).
    weights : ndarray of shape (K, D)
        Pruned entries zeroed.
    mask : ndarray of bool, shape (K, D)
    powers : list of int
        Total orders r whose sums are needed (``_engine.needed_powers``).
    batch_size : int or None
        Samples per chunk of the GEMM route.
    device : torch.device
    route : {'gemm', 'kept'}, optional
        Force a route; by default ``choose_route``'s.

    Returns
    -------
    ndarray of shape (R + 1, R + 1, K, D)
        ``[0, 0]`` the sample count, ``[r, 0]`` and ``[0, r]`` the pre-activations' and inputs' sums of
        power r, ``[a, b]`` the mixed sums for a + b in ``powers``.  The 'kept' route leaves the
        mixed sums of pruned pairs at zero (no statistic of a pruned weight is reported).
    """
    route = choose_route(mask, powers, device, route)
    if route == "gemm":
        return _gemm_route_sums(inputs, moments, weights, powers, batch_size, device)
    if max(powers) > _kernels.MAX_POWER:
        raise ValueError(f"the kept-weight route sums powers up to {_kernels.MAX_POWER}, not {max(powers)}")
    return _kept_route_sums(inputs, moments, weights, mask, powers)


def _gemm_route_sums(inputs, moments, weights, powers, batch_size, device) -> np.ndarray:
    """``first_layer_sums`` by float64 GEMMs over chunks of samples, every (unit, input) pair."""
    n_neurons, n_inputs = weights.shape
    mean = torch.from_numpy(moments.mean).to(device)
    projection = torch.from_numpy(as_linear(weights)).to(device)
    sums = MixedSums(powers, n_neurons, n_inputs, device, z_sums={r: moments.sums[r] for r in powers})
    rows = chunk_rows(batch_size, len(inputs), n_inputs * max(powers), device)
    centred_powers = CentredPowers(sums.highest_z_power)
    for start in range(0, len(inputs), rows):
        x_powers = centred_powers(torch.from_numpy(inputs[start : start + rows]).to(device), mean)
        sums.add(projection @ x_powers[1].T, x_powers)
    return sums.to_numpy()


def _kept_route_sums(inputs, moments, weights, mask, powers) -> np.ndarray:
    """``first_layer_sums`` by the Numba kernel over the kept weights only (CPU, powers up to 4)."""
    n_neurons, n_inputs = weights.shape
    units, columns = np.nonzero(mask)
    offsets = np.concatenate([[0], np.cumsum(mask.sum(axis=1))]).astype(np.int64)
    n_tasks = max(1, min(KEPT_ROUTE_TASKS, len(inputs) // _kernels.ROW_BLOCK))
    mixed, lambda_sums = _kernels.kept_weight_sums(
        np.ascontiguousarray(inputs),
        moments.mean,
        offsets,
        columns.astype(np.int64),
        as_linear(weights)[units, columns],
        n_tasks,
    )
    mixed, lambda_sums = mixed.sum(axis=0), lambda_sums.sum(axis=0)
    out = np.zeros((max(powers) + 1, max(powers) + 1, n_neurons, n_inputs))
    out[0, 0] = len(inputs)
    for r in powers:
        out[r, 0] = lambda_sums[:, r - 2, None]
        out[0, r] = moments.sums[r]
    for term, (a, b) in enumerate(_kernels.TERMS):
        if a + b in powers:
            out[a, b][units, columns] = mixed[:, term]
    return out


def removal_step(weights: np.ndarray) -> np.ndarray:
    """s_ki = -w_ki / sqrt(D): removing weight (k, i) adds s_ki x_i to lambda_k."""
    return -as_linear(weights)
