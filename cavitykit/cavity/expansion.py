"""Analytic cavity approximation: the statistic's Taylor series in the removed weight, truncated."""

from __future__ import annotations

import xarray as xr

from cavitykit._validation import check_int
from cavitykit.cavity._driver import first_layer_polynomials
from cavitykit.cavity._statistics import exact_change, series_change


def expansion(
    weights, inputs, *, order=1, statistic="excess_kurtosis", mask=None, batch_size=None, device=None
) -> xr.DataArray:
    """Cavity effects from the Taylor expansion of the statistic in the removed weight, truncated at ``order``.

    With s = -w_ki / sqrt(D), Delta_ki ~ sum_{j=1..order} c_j s^j, where the c_j are
    built from the joint k-statistics k_{n-b,b}(lambda_k, x_i) of the same samples
    (truncation in cumulant space; ``theory/cavity.md``).  A k-statistic of order n is
    a polynomial of degree n in s, so its expansion is exact from ``order`` = n on; a
    ratio such as the excess kurtosis is not, and the error of order m falls like
    s^(m+1) ~ D^(-(m+1)/2) relative to the effect's scale.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        First-layer weights; pre-activations are lambda_k = w_k . x / sqrt(D).
    inputs : array_like of shape (P, D)
    order : int, default 1
        Truncation order m (1..8); ``theory/cavity.md`` gives the accuracy of m = 1, 2, 3.
    statistic : str, default 'excess_kurtosis'
        As in ``cavitykit.cavity.exact``.
    mask : array_like of bool, shape (K, D), optional
    batch_size : int, optional
    device : str or torch.device, optional
        As in ``cavitykit.cavity.exact``.

    Returns
    -------
    xarray.DataArray of shape (K, D), dims ('neuron', 'input')
        NaN for pruned weights; coordinate ``statistic_value`` holds S(lambda_k).

    Examples
    --------
    >>> import numpy as np
    >>> from cavitykit.cavity import exact
    >>> rng = np.random.default_rng(0)
    >>> w, x = rng.standard_normal((3, 100)), rng.uniform(-1, 1, (20_000, 100))
    >>> truth = exact(w, x)
    >>> [round(float(np.median(np.abs(expansion(w, x, order=m) - truth) / np.abs(truth))), 3) for m in (1, 2, 3)]
    [0.072, 0.035, 0.01]
    """
    order = check_int("order", order, minimum=1, maximum=8)
    layer = first_layer_polynomials(weights, inputs, statistic, mask, batch_size, device)
    delta = series_change(layer.stat, layer.polys, layer.step, order)
    return layer.labelled(delta, method="expansion", approx_order=order)


def exact_and_expansion(
    weights, inputs, *, orders=(1, 2, 3), statistic="excess_kurtosis", mask=None, batch_size=None, device=None
) -> tuple[xr.DataArray, xr.DataArray]:
    """The exact cavity effects and their expansions at several orders, from one pass over the samples.

    Equal to ``exact(...)`` and ``expansion(..., order=m)`` for each m in ``orders``, which would
    each repeat the pass.

    Parameters
    ----------
    weights : array_like of shape (K, D)
    inputs : array_like of shape (P, D)
    orders : sequence of int, default (1, 2, 3)
        Truncation orders (1..8).
    statistic : str, default 'excess_kurtosis'
    mask : array_like of bool, shape (K, D), optional
    batch_size : int, optional
    device : str or torch.device, optional
        As in ``cavitykit.cavity.exact``.

    Returns
    -------
    exact : xarray.DataArray of shape (K, D), dims ('neuron', 'input')
    expansion : xarray.DataArray of shape (len(orders), K, D), dims ('approx_order', 'neuron', 'input')

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> truth, approx = exact_and_expansion(rng.standard_normal((2, 8)), rng.standard_normal((500, 8)), orders=(1, 2))
    >>> truth.dims, approx.dims, approx.approx_order.values.tolist()
    (('neuron', 'input'), ('approx_order', 'neuron', 'input'), [1, 2])
    """
    orders = [check_int("orders", order, minimum=1, maximum=8) for order in orders]
    layer = first_layer_polynomials(weights, inputs, statistic, mask, batch_size, device)
    exact = layer.labelled(exact_change(layer.stat, layer.polys, layer.step), method="exact")
    expansions = [
        layer.labelled(series_change(layer.stat, layer.polys, layer.step, order), method="expansion")
        for order in orders
    ]
    return exact, xr.concat(expansions, dim="approx_order").assign_coords(approx_order=orders)
