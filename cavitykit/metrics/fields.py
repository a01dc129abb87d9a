"""A unit's receptive field as a distribution over pixels: IPR (and after a weight's removal), participation
ratio, centre and width (circular on a ring or torus), the width criterion of "localized", and the cavity
criterion (does removing a weight raise |excess kurtosis|?)."""

from __future__ import annotations

import numpy as np

# Default criterion for "localized": circular width below this fraction of the side L.
LOCALIZED_WIDTH_FRACTION = 0.1


def ipr(weights, axis: int = -1) -> np.ndarray:
    """Inverse participation ratio sum w^4 / (sum w^2)^2, from 1/D (flat) to 1 (a single weight).

    A random Gaussian vector of n entries has E[IPR] ~ 3 / (n + 2).  NaN for an all-zero vector.

    Examples
    --------
    >>> import numpy as np
    >>> ipr(np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 3.0, 0.0]]))  # flat: 1/D; one weight: 1
    array([0.25, 1.  ])
    """
    squares = np.asarray(weights, dtype=np.float64) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.sum(squares**2, axis=axis) / np.sum(squares, axis=axis) ** 2


def ipr_after_removal(weights) -> np.ndarray:
    """The IPR of each field once each of its weights alone is removed, same shape as ``weights``.

    (S4 - w_j^4) / (S2 - w_j^2)^2 with S2 = sum w^2, S4 = sum w^4 along the last axis; NaN where
    nothing would remain.  Times kappa_x, its change from ``ipr`` is the independent-input cavity effect.

    Examples
    --------
    >>> ipr_after_removal(np.array([[1.0, 1.0, 2.0]]))  # removing a 1 leaves (1, 2); removing 2 leaves (1, 1)
    array([[0.68, 0.68, 0.5 ]])
    """
    squares = np.asarray(weights, dtype=np.float64) ** 2
    s2 = squares.sum(axis=-1, keepdims=True)
    s4 = (squares**2).sum(axis=-1, keepdims=True)
    remaining = s2 - squares
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(remaining > 0, (s4 - squares**2) / remaining**2, np.nan)


def participation_ratio(weights, axis: int = -1) -> np.ndarray:
    """1 / IPR: the effective number of weights (some public code calls this "IPR").

    Examples
    --------
    >>> import numpy as np
    >>> participation_ratio(np.array([1.0, -1.0, 0.0, 0.0]))  # two weights take part
    np.float64(2.0)
    """
    return 1.0 / ipr(weights, axis=axis)


def _circular(probabilities: np.ndarray, L: int) -> tuple[np.ndarray, np.ndarray]:
    """Centre (in sites, [0, L)) and circular standard deviation (in sites) along the last axis."""
    angles = 2 * np.pi * np.arange(L) / L
    resultant = np.sum(probabilities * np.exp(1j * angles), axis=-1)
    centre = np.mod(np.angle(resultant) * L / (2 * np.pi), L)
    centre = np.where(centre >= L, centre - L, centre)  # an angle just below 0 rounds to L itself
    with np.errstate(divide="ignore", invalid="ignore"):
        width = L / (2 * np.pi) * np.sqrt(-2 * np.log(np.clip(np.abs(resultant), 0.0, 1.0)))
    return centre, width


def _linear(probabilities: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation (in sites) of a distribution over 0..side-1 along the last axis."""
    sites = np.arange(side)
    centre = np.sum(probabilities * sites, axis=-1)
    width = np.sqrt(np.clip(np.sum(probabilities * sites**2, axis=-1) - centre**2, 0.0, None))
    return centre, width


def receptive_field(weights, shape: tuple[int, ...], *, periodic: bool = True) -> dict[str, np.ndarray]:
    """Centre and width of each unit's receptive field on the ring or torus, or on a bounded grid.

    Parameters
    ----------
    weights : array_like of shape (..., D)
    shape : (L,), (L, L) or (H, W)
        The pixel grid, D = prod(shape), rows in C order.
    periodic : bool
        A ring or torus (circular statistics), or a bounded grid (the plain mean and standard deviation
        of the pixel coordinates).

    Returns
    -------
    dict with ``centre`` of shape (..., dim) and ``width`` of shape (..., dim), in pixels,
    per axis of the grid (for 2D: the marginal distribution of each axis).  On a ring or torus the width
    is the circular standard deviation L / (2 pi) sqrt(-2 ln R), R the mean resultant length: about
    sigma for a narrow bump of standard deviation sigma, infinite for a flat field.  On a bounded grid
    it is the standard deviation of the coordinate: a flat field of side L has L / sqrt(12).

    Examples
    --------
    >>> import numpy as np
    >>> w = np.zeros((1, 40))
    >>> w[0, 9:12] = 1.0  # three pixels around 10 on a ring of 40
    >>> rf = receptive_field(w, (40,))
    >>> float(rf["centre"][0, 0]), bool(rf["width"][0, 0] < 1)
    (10.0, True)
    >>> w = np.zeros((1, 12))
    >>> w[0, [0, 11]] = 1.0  # the two corners of a 3 x 4 image: far apart, not a bump
    >>> receptive_field(w, (3, 4), periodic=False)["width"]  # rows 0 and 2, columns 0 and 3
    array([[1. , 1.5]])
    """
    weights = np.asarray(weights, dtype=np.float64)
    if weights.shape[-1] != int(np.prod(shape)):
        raise ValueError(f"weights must have {int(np.prod(shape))} entries on the last axis, got {weights.shape}")
    squares = weights**2
    with np.errstate(invalid="ignore", divide="ignore"):
        probabilities = squares / squares.sum(axis=-1, keepdims=True)
    grid = probabilities.reshape((*weights.shape[:-1], *shape))
    centres, widths = [], []
    for axis in range(len(shape)):
        other = tuple(a + weights.ndim - 1 for a in range(len(shape)) if a != axis)
        marginal = grid.sum(axis=other) if other else grid
        centre, width = (_circular if periodic else _linear)(marginal, shape[axis])
        centres.append(centre)
        widths.append(width)
    return {"centre": np.stack(centres, axis=-1), "width": np.stack(widths, axis=-1)}


def is_localized(widths, shape, *, width_fraction: float = LOCALIZED_WIDTH_FRACTION) -> np.ndarray:
    """The localization criterion: the circular width along every grid axis is below ``width_fraction * L``.

    The one criterion of the toolkit, for rings and tori alike (default 0.1 L, i.e. 4 pixels
    on a ring of 40).  Unlike the IPR it measures contiguity: a few scattered surviving weights
    have a high IPR but a wide field.

    Parameters
    ----------
    widths : array_like of shape (..., dim)
        ``receptive_field(...)["width"]``; NaN (an all-zero unit) counts as not localized.
    shape : (L,) or (L, L)
    width_fraction : float

    Returns
    -------
    ndarray of bool, shape (...)

    Examples
    --------
    >>> is_localized([[3.0], [5.0]], (40,))
    array([ True, False])
    >>> is_localized([[1.0, 9.0]], (20, 20))  # narrow along x, wide along y
    array([False])
    """
    return np.all(np.asarray(widths) < width_fraction * np.asarray(shape), axis=-1)


def localized_fraction(weights, shape, *, width_fraction: float = LOCALIZED_WIDTH_FRACTION) -> np.ndarray:
    """Fraction of units whose receptive field is localized (``is_localized``), over the unit axis (-2).

    Parameters
    ----------
    weights : array_like of shape (..., K, D)
    shape : (L,) or (L, L)
    width_fraction : float

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> local, spread = np.zeros(40), np.ones(40)
    >>> local[5] = 1.0
    >>> localized_fraction(np.stack([local, spread]), (40,))  # one unit of two
    np.float64(0.5)
    """
    widths = receptive_field(weights, shape)["width"]
    return np.mean(is_localized(widths, shape, width_fraction=width_fraction), axis=-1)


def abs_kurtosis_change(kurtosis, delta):
    """|k + Delta k| - |k|: how much removing a weight raises its unit's |excess kurtosis| (the cavity criterion).

    Parameters
    ----------
    kurtosis : array_like
        The unit's excess kurtosis k, broadcastable against ``delta`` (e.g. (..., K, 1)).
    delta : array_like
        The change Delta k on removal, e.g. ``cavity.exact`` of shape (K, D).

    Returns
    -------
    ndarray or xarray.DataArray: positive where the removal raises non-Gaussianity.

    Examples
    --------
    >>> abs_kurtosis_change(np.array([-0.5, 0.5]), np.array([-0.2, -0.2]))
    array([ 0.2, -0.2])
    """
    return np.abs(kurtosis + delta) - np.abs(kurtosis)
