"""Independent-input theory: excess kurtosis of lambda = kappa_x * IPR(w), and its leave-one-out change."""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit._validation import check_real
from cavitykit.cavity._driver import check_weights


def independent_theory(weights, kappa_x, *, mask=None) -> xr.DataArray:
    """Population prediction for independent, zero-mean, unit-variance inputs with excess kurtosis kappa_x.

    excess_kurtosis(lambda_k) = kappa_x * IPR(w_k), IPR = S4 / S2^2 with S2 = sum w^2,
    S4 = sum w^4 over unpruned weights.  Removing w_kj gives
    kappa_x * ((S4 - w^4) / (S2 - w^2)^2 - S4 / S2^2); the IPR (so |kurtosis|) rises
    iff w_kj^2 < 2 S2 S4 / (S2^2 + S4) (``theory/cavity.md``, section 3).

    Parameters
    ----------
    weights : array_like of shape (K, D)
    kappa_x : float
        Excess kurtosis of each input (e.g. ``NLGP.marginal_cumulants()``: k_4 / k_2^2).
    mask : array_like of bool, shape (K, D), optional

    Returns
    -------
    xarray.DataArray of shape (K, D), dims ('neuron', 'input')
        The predicted change; NaN for pruned weights and for a unit's last weight.
        Coordinates ``statistic_value`` (kappa_x * IPR) and ``ipr``.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[1.0, 1.0, 1.0, 3.0]])  # threshold 2 S2 S4 / (S2^2 + S4) = 8.8 for w^2
    >>> delta = independent_theory(w, kappa_x=-1.2)
    >>> bool(delta[0, 0] < 0), bool(delta[0, 3] > 0)  # small weight: |kurtosis| rises; large: it falls
    (True, True)
    """
    kappa_x = check_real("kappa_x", kappa_x)
    weights, mask = check_weights(weights, mask)
    squares = weights**2
    s2 = squares.sum(axis=1, keepdims=True)
    s4 = (squares**2).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ipr = s4 / s2**2
        cavity_ipr = (s4 - squares**2) / (s2 - squares) ** 2
    remaining = (s2 - squares) > 0
    delta = np.where(mask & remaining, kappa_x * (cavity_ipr - ipr), np.nan)
    return xr.DataArray(
        delta,
        dims=("neuron", "input"),
        coords={
            "neuron": np.arange(weights.shape[0]),
            "input": np.arange(weights.shape[1]),
            "statistic_value": ("neuron", kappa_x * ipr[:, 0]),
            "ipr": ("neuron", ipr[:, 0]),
        },
        name="cavity_independent_theory",
        attrs={
            "long_name": "independent-input prediction of the change of the pre-activation excess kurtosis",
            "statistic": "excess_kurtosis",
            "method": "independent_theory",
            "kappa_x": kappa_x,
        },
    )
