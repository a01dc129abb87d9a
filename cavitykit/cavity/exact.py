"""Exact cavity effects: every single-weight removal at once, paired standard errors, group removal,
and first-layer removals seen by the next layer."""

from __future__ import annotations

import warnings

import numpy as np
import torch
import xarray as xr

from cavitykit._validation import check_int
from cavitykit.cavity._driver import (
    check_inputs,
    check_statistic,
    check_weights,
    first_layer_polynomials,
    removal_step,
)
from cavitykit.cavity._engine import CentredPowers, MixedSums, chunk_rows, needed_powers
from cavitykit.cavity._statistics import exact_change, polynomials, value
from cavitykit.device import resolve_device
from cavitykit.network import parameterization as network_parameterization
from cavitykit.network.ensemble import activation_function
from cavitykit.network.formulas import as_scaled, preactivation, preactivation_formula, readout_sum
from cavitykit.stats import preactivation_statistics, standardize_kstats

# Units per block of ``layer_effects`` (the progress bar's step).
LAYER_BLOCK = 64


def exact(
    weights, inputs, *, statistic="excess_kurtosis", mask=None, batch_size=None, device=None, route=None
) -> xr.DataArray:
    """Exact change of a pre-activation statistic when each weight alone is removed, on the same samples.

    Uses the exact identity k_n(lambda + s x) = sum_b C(n, b) s^b k_{n-b,b}(lambda, x):
    a few float64 GEMMs over the samples give every weight's effect, with no
    per-weight recomputation.  On a CPU, when at most 35% of the weights are kept and
    the statistic's order is at most 4, a Numba kernel sums over the kept weights
    only instead.  Results equal ``cavitykit.testing.brute_force_cavity`` up to rounding.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        First-layer weights w_ki; pre-activations are lambda_k = w_k . x / sqrt(D).
    inputs : array_like of shape (P, D)
        Samples x (float32 or float64; sums are always float64).
    statistic : str, default 'excess_kurtosis'
        One of 'k2'..'k8', 'variance', 'skewness', 'excess_kurtosis'
        (k_4 / k_2^2, as ``scipy.stats.kurtosis(bias=False)``).
    mask : array_like of bool, shape (K, D), optional
        False marks pruned weights (treated as zero). Without a mask, exact zeros are pruned.
    batch_size : int, optional
        Samples per chunk of the GEMMs; by default chunks of about 8 MiB on a CPU, 512 MiB on a GPU
        (``_engine.CHUNK_BYTES``).
    device : str or torch.device, optional
        Default: the CPU (CUDA only when asked for).
    route : {'gemm', 'kept'}, optional
        Force the route of the sums: 'gemm' (every pair, any device) or 'kept' (the kept weights
        only, CPU, statistics of order at most 4).  By default 'kept' where it applies and at most
        35% of the weights are kept.  Both give the same effects up to rounding.

    Returns
    -------
    xarray.DataArray of shape (K, D), dims ('neuron', 'input')
        Delta_ki = S(lambda_k - w_ki x_i / sqrt(D)) - S(lambda_k); NaN for pruned weights
        (and where removal leaves a constant pre-activation). Coordinate ``statistic_value``
        holds S(lambda_k); attribute ``route`` the route taken.

    Examples
    --------
    >>> import numpy as np
    >>> from cavitykit.testing import brute_force_cavity
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((2, 10)), rng.uniform(-1, 1, (5000, 10))
    >>> delta = exact(w, x)  # (neuron, input): change of each unit's excess kurtosis
    >>> delta.dims, bool(np.allclose(delta, brute_force_cavity(w, x)))
    (('neuron', 'input'), True)
    """
    layer = first_layer_polynomials(weights, inputs, statistic, mask, batch_size, device, route)
    return layer.labelled(exact_change(layer.stat, layer.polys, layer.step), method="exact")


def layer_effects(
    weights, inputs, *, statistic="excess_kurtosis", convention="scaled", bias=None, block=LAYER_BLOCK, progress=False
) -> xr.DataArray:
    """``exact`` for a whole layer of one's own, ``block`` units at a time (units are independent, so each
    block is exact on its own and memory stays that of one block), in either pre-activation convention.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        The layer's weights; exact zeros are pruned weights (a unit with none left gets NaN effects, with a
        warning that names it).
    inputs : array_like of shape (P, D)
    statistic : str
        As ``exact``.
    convention : {'scaled', 'linear'}
        How the weights make the pre-activation (``network.formulas.PREACTIVATION_CONVENTIONS``): the
        runs' w . x / sqrt(D) + b, or ``torch.nn.Linear``'s x W^T + b.
    bias : array_like of shape (K,), optional
        Shifts the pre-activation and changes no cumulant of order 2 or more; recorded in the
        ``preactivation`` attribute.
    block : int
        Units per block (the progress bar's step).
    progress : bool
        A progress bar over the blocks (tqdm, on stderr).

    Returns
    -------
    xarray.DataArray of shape (K, D), as ``exact``, with the attribute ``preactivation``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> W, x = rng.standard_normal((5, 8)), rng.standard_normal((4000, 8))
    >>> together = exact(W * np.sqrt(8), x)  # nn.Linear's W, in the runs' convention
    >>> bool(np.allclose(layer_effects(W, x, convention="linear", block=2), together))
    True
    """
    from tqdm import tqdm

    weights = np.asarray(weights, dtype=np.float64)
    block = check_int("block", block, minimum=1)
    kept = weights != 0
    empty = np.flatnonzero(~kept.any(axis=1))
    if empty.size:
        warnings.warn(
            f"neuron(s) {', '.join(map(str, empty))} have no weight left: their effects are NaN", stacklevel=2
        )
    scaled = as_scaled(weights, convention)
    parts = []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*have no weight left")  # said once above, for the layer
        for units in tqdm(
            np.array_split(np.arange(len(weights)), -(-len(weights) // block)),
            desc="cavity effects",
            unit="block",
            leave=False,
            disable=not progress,
        ):
            part = exact(scaled[units], inputs, statistic=statistic, mask=kept[units])
            parts.append(part.assign_coords(neuron=units))
    effects = xr.concat(parts, "neuron", combine_attrs="override")
    effects.attrs["preactivation"] = preactivation_formula(convention, with_bias=bias is not None)
    return effects


def standard_error(
    weights, inputs, *, statistic="excess_kurtosis", mask=None, n_batches=20, device=None
) -> xr.DataArray:
    """Paired sampling error of the exact cavity effects, by batch means.

    The samples are split into ``n_batches`` consecutive batches; ``exact`` runs on
    each and the standard error of Delta on all P samples is estimated as
    std(Delta_batch) / sqrt(n_batches).  Paired: the same samples enter S with and
    without the weight, so this error is far below the error of S itself.

    Parameters
    ----------
    weights : array_like of shape (K, D)
    inputs : array_like of shape (P, D)
        P must be at least ``n_batches`` times the statistic's order.
    statistic : str, default 'excess_kurtosis'
        As in ``exact``.
    mask : array_like of bool, shape (K, D), optional
        As in ``exact``.
    n_batches : int, default 20
        Consecutive batches (at least 2).
    device : str or torch.device, optional

    Returns
    -------
    xarray.DataArray of shape (K, D), dims ('neuron', 'input')
        NaN for pruned weights.

    Examples
    --------
    On Gaussian inputs every true effect on the excess kurtosis is 0, so the exact effects
    measured are sampling noise of about this size:

    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((2, 5)), rng.standard_normal((4000, 5))
    >>> se = standard_error(w, x, n_batches=10)
    >>> se.shape, bool((np.abs(exact(w, x)) < 4 * se).all())
    ((2, 5), True)
    """
    n_batches = check_int("n_batches", n_batches, minimum=2)
    stat = check_statistic(statistic)
    weights, mask = check_weights(weights, mask)
    inputs = check_inputs(inputs, weights.shape[1], n_batches * stat.order)
    deltas = [
        exact(weights, batch, statistic=statistic, mask=mask, device=device).values
        for batch in np.array_split(inputs, n_batches)
    ]
    se = np.std(deltas, axis=0, ddof=1) / np.sqrt(n_batches)
    return xr.DataArray(
        se,
        dims=("neuron", "input"),
        coords={"neuron": np.arange(weights.shape[0]), "input": np.arange(weights.shape[1])},
        name="cavity_exact_se",
        attrs={
            "long_name": f"batch-means standard error of the exact cavity change of {stat.name}",
            "statistic": stat.name,
            "n_batches": n_batches,
        },
    )


def _unit_statistic(stat, inputs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """S of each unit's pre-activation: (K,) from (P, D) ``inputs`` and (K, D) ``weights``."""
    k = preactivation_statistics(inputs, weights, None, stat.order).kstats()
    return (standardize_kstats(k) if stat.standardized else k)[stat.order - 1]


def group_effect(weights, inputs, removed, *, statistic="excess_kurtosis", mask=None) -> xr.Dataset:
    """Change of each unit's statistic when a whole set of weights is removed at once.

    Parameters
    ----------
    weights : array_like of shape (K, D)
    inputs : array_like of shape (P, D)
    removed : array_like of bool, shape (K, D)
        The weights removed together (e.g. what IMP prunes in one round); must be unpruned.
    statistic, mask : as in ``exact``.

    Returns
    -------
    xarray.Dataset with dims ('neuron',):
        ``group`` (exact change, by recomputation), ``sum_of_singles`` (sum of the
        single-weight exact changes over the set), ``n_removed``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((2, 10)), rng.uniform(-1, 1, (5000, 10))
    >>> effect = group_effect(w, x, removed=np.abs(w) < 0.5)
    >>> sorted(effect.data_vars)
    [...]
    """
    stat = check_statistic(statistic)
    weights, mask = check_weights(weights, mask)
    removed = np.asarray(removed)
    if removed.dtype != bool or removed.shape != weights.shape:
        raise ValueError(
            f"removed must be a boolean array of shape {weights.shape}, got {removed.dtype} of shape {removed.shape}"
        )
    if np.any(removed & ~mask):
        raise ValueError("removed includes weights that are already pruned")
    inputs = check_inputs(inputs, weights.shape[1], stat.order)
    x = inputs.astype(np.float64, copy=False)
    before = _unit_statistic(stat, x, weights)
    after = _unit_statistic(stat, x, np.where(removed, 0.0, weights))
    singles = exact(weights, inputs, statistic=statistic, mask=mask).values
    return xr.Dataset(
        {
            "group": ("neuron", after - before),
            "sum_of_singles": ("neuron", np.where(removed, singles, 0.0).sum(axis=1)),
            "n_removed": ("neuron", removed.sum(axis=1)),
        },
        coords={"neuron": np.arange(weights.shape[0])},
        attrs={"statistic": stat.name, "n_samples": len(inputs)},
    )


def next_layer_exact(
    weights,
    readout,
    inputs,
    *,
    statistic="excess_kurtosis",
    activation="erf",
    bias=None,
    mask=None,
    batch_size=None,
    device=None,
    parameterization="standard",
) -> xr.DataArray:
    """Exact change of the *next* layer's pre-activation statistics when one first-layer weight is removed.

    With h_k = sigma(lambda_k + b_k) and mu_j = c_K sum_k v_jk h_k, removing w_ki changes only h_k,
    by delta_ki = sigma(lambda_k + b_k - w_ki x_i / sqrt(D)) - h_k, so mu_j -> mu_j + c_K v_jk delta_ki:
    the same polynomial identity with (mu_j, delta_ki) in place of (lambda_k, x_i), one batch of GEMMs
    per hidden unit.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        First layer.
    readout : array_like of shape (J, K)
        Next layer's weights v_jk (J = 1 for a scalar readout).
    inputs : array_like of shape (P, D)
    statistic : str, default 'excess_kurtosis'
    activation : {'erf', 'relu'}
        sigma; 'erf' is erf(z / sqrt 2).
    bias : array_like of shape (K,), optional
    mask, batch_size, device : as in ``exact``.
    parameterization : str
        The network's (``cavitykit.network.parameterization``), whose output scale c_K (1/sqrt(K) for
        'standard', 1/K for 'mean_field') multiplies the readout.

    Returns
    -------
    xarray.DataArray of shape (J, K, D), dims ('output', 'neuron', 'input')
        Change of S(mu_j) when w_ki is removed; NaN for pruned weights.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((3, 10)), rng.uniform(-1, 1, (5000, 10))
    >>> next_layer_exact(w, np.ones((1, 3)), x).dims  # output unit, hidden unit, input
    ('output', 'neuron', 'input')
    """
    stat = check_statistic(statistic)
    sigma = activation_function(activation)
    weights, mask = check_weights(weights, mask)
    n_hidden, n_inputs = weights.shape
    readout = np.asarray(readout, dtype=np.float64)
    if readout.ndim != 2 or readout.shape[1] != n_hidden:
        raise ValueError(f"readout must have shape (J, {n_hidden}), got {readout.shape}")
    bias = np.zeros(n_hidden) if bias is None else np.asarray(bias, dtype=np.float64)
    if bias.shape != (n_hidden,):
        raise ValueError(f"bias must have shape ({n_hidden},), got {bias.shape}")
    inputs = check_inputs(inputs, n_inputs, stat.order)
    device = resolve_device(device)
    n_samples = len(inputs)
    batch_size = None if batch_size is None else check_int("batch_size", batch_size, minimum=1)
    rows = chunk_rows(batch_size, n_samples, 4 * n_inputs * max(needed_powers(stat.orders)), device)
    tensor = {"dtype": torch.float64, "device": device}
    w = torch.as_tensor(weights, **tensor)
    scale = network_parameterization(parameterization).output_scale(n_hidden)
    r = torch.as_tensor(readout, **tensor)
    b = torch.as_tensor(bias, **tensor)
    step = torch.as_tensor(removal_step(weights), **tensor)  # (K, D)

    def chunks():
        for start in range(0, n_samples, rows):
            x = torch.as_tensor(inputs[start : start + rows], **tensor)
            field = preactivation(x, w, b)
            hidden = sigma(field)
            yield x, field, hidden, readout_sum(hidden, r, scale)  # mu: (J, P)

    def unit_change(x, field, hidden, k):
        return sigma(field[:, k : k + 1] + x * step[k]) - hidden[:, k : k + 1]

    # Pass 1: means of mu and of every delta_ki, so pass 2 accumulates centred sums.
    mean_mu = torch.zeros(readout.shape[0], **tensor)
    mean_delta = torch.zeros(n_hidden, n_inputs, **tensor)
    for x, field, hidden, mu in chunks():
        mean_mu += mu.sum(dim=1) / n_samples
        for k in range(n_hidden):
            mean_delta[k] += unit_change(x, field, hidden, k).sum(dim=0) / n_samples
    powers = needed_powers(stat.orders)
    sums = [MixedSums(powers, readout.shape[0], n_inputs, device) for _ in range(n_hidden)]
    centred_powers = CentredPowers(sums[0].highest_z_power)  # one set of buffers, unit after unit
    for x, field, hidden, mu in chunks():
        for k in range(n_hidden):
            sums[k].add(mu - mean_mu[:, None], centred_powers(unit_change(x, field, hidden, k), mean_delta[k]))
    count = np.full((readout.shape[0], n_inputs), float(n_samples))
    delta = np.empty((readout.shape[0], n_hidden, n_inputs))
    values = None
    for k in range(n_hidden):
        polys = polynomials(stat, count, sums[k].to_numpy())
        values = value(stat, polys)[:, 0]
        s = np.broadcast_to((readout[:, k] * scale)[:, None], count.shape)
        delta[:, k] = exact_change(stat, polys, s)
    return xr.DataArray(
        np.where(mask[None], delta, np.nan),
        dims=("output", "neuron", "input"),
        coords={
            "output": np.arange(readout.shape[0]),
            "neuron": np.arange(n_hidden),
            "input": np.arange(n_inputs),
            "statistic_value": ("output", values),
        },
        name="cavity_next_layer",
        attrs={
            "long_name": f"change of the next layer's pre-activation {stat.name} on removing one first-layer weight",
            "statistic": stat.name,
            "activation": activation,
            "method": "exact",
            "n_samples": n_samples,
            "device": str(device),
        },
    )
