"""Analytic cavity approximation: the statistic's Taylor series in the removed weight, truncated."""

from __future__ import annotations

import xarray as xr

from cavitykit._validation import check_int
from cavitykit.cavity._driver import first_layer_polynomials, labelled, removal_step
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
    order : int, default 1
        Truncation order m (1..8); 1, 2, 3 are the approximations of REFERENCE.md section 5.
    weights, inputs, statistic, mask, batch_size, device
        As in ``cavitykit.cavity.exact``.

    Returns
    -------
    xarray.DataArray of shape (K, D), dims ('neuron', 'input'), NaN for pruned weights.
    """
    order = check_int("order", order, minimum=1, maximum=8)
    stat, weights, mask, polys, n_samples, device = first_layer_polynomials(
        weights, inputs, statistic, mask, batch_size, device
    )
    delta = series_change(stat, polys, removal_step(weights), order)
    return labelled(
        delta, stat, polys, mask, method="expansion", n_samples=n_samples, device=device, approx_order=order
    )


def exact_and_expansion(
    weights, inputs, *, orders=(1, 2, 3), statistic="excess_kurtosis", mask=None, batch_size=None, device=None
) -> tuple[xr.DataArray, xr.DataArray]:
    """The exact cavity effects and their expansions at several orders, from one pass over the samples.

    Equal to ``exact(...)`` and ``expansion(..., order=m)`` for each m in ``orders``, which would
    each repeat the pass.

    Returns
    -------
    exact : xarray.DataArray of shape (K, D), dims ('neuron', 'input')
    expansion : xarray.DataArray of shape (len(orders), K, D), dims ('approx_order', 'neuron', 'input')
    """
    orders = [check_int("orders", order, minimum=1, maximum=8) for order in orders]
    stat, weights, mask, polys, n_samples, device = first_layer_polynomials(
        weights, inputs, statistic, mask, batch_size, device
    )
    step = removal_step(weights)
    exact = labelled(
        exact_change(stat, polys, step), stat, polys, mask, method="exact", n_samples=n_samples, device=device
    )
    expansions = [
        labelled(
            series_change(stat, polys, step, order),
            stat,
            polys,
            mask,
            method="expansion",
            n_samples=n_samples,
            device=device,
        )
        for order in orders
    ]
    return exact, xr.concat(expansions, dim="approx_order").assign_coords(approx_order=orders)
