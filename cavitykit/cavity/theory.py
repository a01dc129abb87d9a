"""Analytic cavity theories of the pre-activation excess kurtosis: independent inputs
(kappa_x * IPR(w)) and correlated NLGP inputs (the pixels' joint fourth cumulants)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit import metrics
from cavitykit._validation import check_real
from cavitykit.cavity._driver import check_weights
from cavitykit.data.nlgp import NLGP
from cavitykit.data.nlgp_cumulants import field_cumulants, window_radius


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
    ipr = metrics.ipr(weights)[:, None]
    delta = np.where(mask, kappa_x * (metrics.ipr_after_removal(weights) - ipr), np.nan)
    return _theory_effects(
        delta,
        {"statistic_value": kappa_x * ipr[:, 0], "ipr": ipr[:, 0]},
        name="independent_theory",
        long_name="independent-input prediction of the change of the pre-activation excess kurtosis",
        kappa_x=kappa_x,
    )


def nlgp_theory(weights, model, *, mask=None, radius=None) -> xr.DataArray:
    """Correlated-input prediction: the change of each unit's excess kurtosis when one weight is removed,
    for NLGP inputs, sample-free.

    gamma_2(w) = Q(w) / (w^T Sigma w)^2 with Q the quartic form of the pixels' joint fourth
    cumulants; removing w_j changes Q by -4 w_j A_j + 6 w_j^2 B_j - 4 w_j^3 E_j + w_j^4 kappa_x
    (T_jjjj = kappa_x, the pixels having unit variance; ``cavitykit.data.nlgp_cumulants``;
    ``theory/nlgp_cumulants.md``).  The same quantity as ``exact`` with ``statistic='excess_kurtosis'``,
    in population.  At gain 0 (Gaussian pixels) every effect is 0 and the coherence factor NaN.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        First-layer weights on the model's ring or torus (D = L ** dim).
    model : cavitykit.data.NLGP
        The input distribution: any L, dim, xi and gain.
    mask : array_like of bool, shape (K, D), optional
        False marks pruned weights (treated as zero). Without a mask, exact zeros are pruned.
    radius : float, optional
        Partners within this periodic distance of the removed pixel enter the four-pixel sums
        exactly; beyond it the leading Hermite diagrams are used.  Default 2.5 xi (accuracy and
        cost in ``docs/cavity.md``); a radius covering the torus makes the prediction exact.  A window
        much below 2.5 xi leaves strongly correlated partners to the diagrams and can be wrong by many
        standard errors; a random-sign patch wider than about 1.5 xi needs 3 xi.

    Returns
    -------
    xarray.DataArray of shape (K, D), dims ('neuron', 'input')
        NaN for pruned weights and for a unit's last weight.  Coordinates ``statistic_value``
        (gamma_2 of each unit) and ``coherence`` (gamma_2 / (kappa_x IPR), 1 for independent pixels).

    Examples
    --------
    >>> import numpy as np
    >>> from cavitykit.data import NLGP
    >>> model = NLGP(16, 2.0, 3.0)
    >>> bump = np.exp(-np.minimum(np.arange(16), 16 - np.arange(16)) ** 2 / 4.0)[None]
    >>> delta = nlgp_theory(bump, model)  # removing the centre pixel makes it less non-Gaussian
    >>> delta.dims, bool(delta[0, 0] > 0)
    (('neuron', 'input'), True)
    """
    if not isinstance(model, NLGP):
        raise TypeError(f"model must be a cavitykit.data.NLGP, got {type(model).__name__}")
    weights, mask = check_weights(weights, mask)
    if weights.shape[1] != model.D:
        raise ValueError(
            f"weights must have D = {model.D} inputs to match the model's shape {model.shape}, got {weights.shape[1]}"
        )
    radius = window_radius(model, radius)
    cumulants = field_cumulants(model, weights, radius=radius)
    delta = np.where(mask, cumulants.removal_change(weights), np.nan)
    gamma = cumulants.excess_kurtosis
    with np.errstate(invalid="ignore", divide="ignore"):
        coherence = gamma / (cumulants.fourth * metrics.ipr(weights))
    return _theory_effects(
        delta,
        {"statistic_value": gamma, "coherence": coherence},
        name="nlgp_theory",
        long_name="correlated-input (NLGP) prediction of the change of the pre-activation excess kurtosis",
        xi=model.xi,
        gain=model.gain,
        radius=radius,
    )


def _theory_effects(delta: np.ndarray, per_unit: dict, *, name: str, long_name: str, **attrs) -> xr.DataArray:
    """A theory's predicted effects (K, D) labelled as ``exact``'s, with per-unit coordinates."""
    return xr.DataArray(
        delta,
        dims=("neuron", "input"),
        coords={"neuron": np.arange(delta.shape[0]), "input": np.arange(delta.shape[1])}
        | {key: ("neuron", value) for key, value in per_unit.items()},
        name=f"cavity_{name}",
        attrs={"long_name": long_name, "statistic": "excess_kurtosis", "method": name} | attrs,
    )
