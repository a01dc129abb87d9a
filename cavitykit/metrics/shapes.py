"""The spatial structure of a field: connectivity and compactness of its kept pixels, sign coherence,
sublattice share, power at low spatial frequency and its white-noise threshold, and the shape class of a
field and the class of what a unit learned."""

from __future__ import annotations

import numpy as np
from scipy import stats

from cavitykit.metrics._grid import _grid_coordinates, _linked, _neighbour_pairs
from cavitykit.metrics.fields import LOCALIZED_WIDTH_FRACTION, is_localized, receptive_field

# A field is spatially structured when its share of power at low spatial frequency exceeds what a
# white-noise field reaches with this probability.
NOISE_LEVEL = 1e-3


# "Low" spatial frequency: radius at most this fraction of the Nyquist frequency.
LOW_FREQUENCY_CUTOFF = 0.25


# A field with at least this share of its squared weight on one sublattice of the grid's
# checkerboard (pixels of even or of odd coordinate sum) oscillates from pixel to pixel.
SUBLATTICE_SHARE = 0.75


# A bump is compact: at least this share of its squared weight sits on kept pixels with a kept 4-neighbour.
COMPACTNESS = 0.8


SHAPE_CLASSES = ("bump", "oscillatory", "scattered", "extended", "noise")


UNIT_CLASSES = ("bump", "extended", "noise")


def connectivity(mask, shape, *, periodic: bool = True) -> np.ndarray:
    """Share of a unit's kept pixels that have at least one kept 4-neighbour on the grid (periodic, or
    bounded with ``periodic=False``).

    A compact receptive field scores near 1; the same number of pixels placed at random scores
    ``connectivity_null``; pixels on one sublattice of a checkerboard score 0.

    Parameters
    ----------
    mask : array_like of bool, shape (..., D)
    shape : (L,), (L, L) or (H, W)
    periodic : bool
        A ring or torus, or a bounded grid.

    Returns
    -------
    ndarray of shape (...): NaN where no pixel is kept.

    Examples
    --------
    >>> mask = np.zeros((2, 16), bool)
    >>> mask[0, [5, 6]] = True  # two adjacent pixels on a ring of 16
    >>> mask[1, [0, 2, 4, 6]] = True  # every other pixel
    >>> connectivity(mask, (16,))
    array([1., 0.])
    """
    mask = np.asarray(mask, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        return _linked(mask, shape, periodic).sum(axis=-1) / mask.sum(axis=-1)


def compactness(weights, shape, *, periodic: bool = True) -> np.ndarray:
    """Share of the field's squared weight on kept (non-zero) pixels that have a kept 4-neighbour.

    ``connectivity`` weighted by w^2: a compact bump scores near 1 even with a few tiny stray
    survivors; a checkerboard remnant or randomly kept pixels score far lower.

    Parameters
    ----------
    weights : array_like of shape (..., D)
        Masked weights.
    shape : (L,), (L, L) or (H, W)
    periodic : bool
        A ring or torus, or a bounded grid.

    Returns
    -------
    ndarray of shape (...): NaN for an all-zero field.

    Examples
    --------
    >>> compactness(np.array([[2.0, 1.0, 0.0, 0.0, 0.0, 0.1, 0.0, 0.0]]), (8,))  # a pair and a stray pixel
    array([0.99800399])
    """
    squares = np.asarray(weights, dtype=np.float64) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return (squares * _linked(squares != 0, shape, periodic)).sum(axis=-1) / squares.sum(axis=-1)


def sign_coherence(weights, shape, *, periodic: bool = True) -> np.ndarray:
    """Sum of w_i w_j over 4-neighbour pairs, over the sum of |w_i w_j|: +1 when neighbouring weights
    share their sign (a bump, a smooth field), -1 when they alternate (a checkerboard), near 0 for noise.

    Parameters
    ----------
    weights : array_like of shape (..., D)
        Masked weights (pruned ones 0: pairs with a pruned pixel do not count).
    shape : (L,), (L, L) or (H, W)
    periodic : bool

    Returns
    -------
    ndarray of shape (...): NaN where no two neighbouring weights are both non-zero.

    Examples
    --------
    >>> sign_coherence(np.array([[1.0, 2.0, 1.0, 0.0], [1.0, -1.0, 1.0, -1.0]]), (4,))
    array([ 1., -1.])
    """
    weights = np.asarray(weights, dtype=np.float64)
    first, second = _neighbour_pairs(tuple(shape), periodic)
    products = weights[..., first] * weights[..., second]
    with np.errstate(invalid="ignore", divide="ignore"):
        return products.sum(axis=-1) / np.abs(products).sum(axis=-1)


def sublattice_share(weights, shape) -> np.ndarray:
    """Share of the squared weight on the heavier sublattice of the grid's checkerboard (even or odd
    coordinate sum): about 1/2 for a bump or noise, 1 for a field kept on one sublattice only.

    Examples
    --------
    >>> sublattice_share(np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 0.0, 1.0, 0.0]]), (4,))
    array([0.5, 1. ])
    """
    squares = np.asarray(weights, dtype=np.float64) ** 2
    even = _grid_coordinates(tuple(shape)).sum(axis=1) % 2 == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        share = squares[..., even].sum(axis=-1) / squares.sum(axis=-1)
    return np.maximum(share, 1.0 - share)


def _low_frequencies(shape: tuple[int, ...]) -> np.ndarray:
    """Boolean over the FFT grid: spatial frequency radius at most ``LOW_FREQUENCY_CUTOFF`` of Nyquist."""
    radius = np.zeros(shape)
    for axis, side in enumerate(shape):
        frequency = np.abs(np.fft.fftfreq(side)) / 0.5  # in units of the Nyquist frequency
        radius = radius + np.expand_dims(frequency, tuple(a for a in range(len(shape)) if a != axis)) ** 2
    return np.sqrt(radius) <= LOW_FREQUENCY_CUTOFF


def low_frequency_share(weights, shape) -> np.ndarray:
    """Share of the field's power (squared DFT modulus) at spatial frequencies up to a quarter of Nyquist.

    A white-noise field's share follows Beta(m / 2, (D - m) / 2), m the number of low frequencies
    (the DFT is an orthogonal change of basis): mean m / D (``noise_low_frequency_share``).  A bump or
    a smooth field puts most of its power there; a checkerboard almost none.

    Parameters
    ----------
    weights : array_like of shape (..., D)
    shape : (L,) or (L, L)

    Returns
    -------
    ndarray of shape (...)

    Examples
    --------
    >>> low_frequency_share(np.array([[1.0] * 8, [1.0, -1.0] * 4]), (8,))  # constant; alternating
    array([1., 0.])
    """
    weights = np.asarray(weights, dtype=np.float64)
    grid = weights.reshape((*weights.shape[:-1], *shape))
    axes = tuple(range(-len(shape), 0))
    power = np.abs(np.fft.fftn(grid, axes=axes)) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return power[..., _low_frequencies(tuple(shape))].sum(axis=-1) / power.sum(axis=axes)


def noise_low_frequency_share(shape, *, level: float = NOISE_LEVEL) -> tuple[float, float]:
    """A white-noise field's ``low_frequency_share``: its mean m / D and its upper ``level`` quantile.

    Examples
    --------
    >>> mean, threshold = noise_low_frequency_share((20, 20))
    >>> round(mean, 4), bool(threshold > 2 * mean)  # 21 of 400 frequencies are low
    (0.0525, True)
    """
    m = int(_low_frequencies(tuple(shape)).sum())
    D = int(np.prod(shape))
    return m / D, float(stats.beta.isf(level, m / 2, (D - m) / 2))


def shape_class(
    weights, shape, *, width_fraction: float = LOCALIZED_WIDTH_FRACTION, periodic: bool = True
) -> np.ndarray:
    """Each field's shape: 'bump', 'oscillatory' (a checkerboard), 'scattered', 'extended' or 'noise'.

    In this order: 'oscillatory' when neighbouring kept weights alternate in sign (``sign_coherence``
    below 0), or when the field sits on one sublattice (``sublattice_share`` at least
    ``SUBLATTICE_SHARE``) and is not a compact field of one sign (small IMP survivors of a bump often
    sit mostly on one sublattice: compact and of one sign, they are a bump, not a checkerboard);
    'noise' when its ``low_frequency_share`` is within what white noise reaches (upper
    ``NOISE_LEVEL`` quantile); for a narrow field (``is_localized``), 'bump' when it is compact
    (``compactness`` at least ``COMPACTNESS``) and 'scattered' when not (a checkerboard remnant, or
    pixels kept at random whose large weights happen to lie close together); 'extended' otherwise.
    IPR and circular width alone count a checkerboard patch as local; these tests do not.

    Parameters
    ----------
    weights : array_like of shape (..., D)
        Masked weights.
    shape : (L,) or (L, L)
    width_fraction : float
        Passed to ``is_localized``.
    periodic : bool
        A ring or torus, or a bounded grid (images).

    Returns
    -------
    ndarray of str, shape (...): one of ``SHAPE_CLASSES``; '' for an all-zero field.

    Examples
    --------
    >>> y, x = np.mgrid[:20, :20]
    >>> bump = np.exp(-((x - 10.0) ** 2 + (y - 10.0) ** 2) / 4)
    >>> shape_class(np.stack([bump, bump * (-1.0) ** (x + y)]).reshape(2, 400), (20, 20))
    array(['bump', 'oscillatory'], dtype='<U11')
    """
    weights = np.asarray(weights, dtype=np.float64)
    _, threshold = noise_low_frequency_share(shape)
    widths = receptive_field(weights, shape, periodic=periodic)["width"]
    coherence = sign_coherence(weights, shape, periodic=periodic)
    compact = compactness(weights, shape, periodic=periodic) >= COMPACTNESS
    one_sign = (weights >= 0).all(axis=-1) | (weights <= 0).all(axis=-1)
    on_a_sublattice = sublattice_share(weights, shape) >= SUBLATTICE_SHARE
    oscillatory = (coherence < 0) | (on_a_sublattice & ~(compact & one_sign))
    noise = low_frequency_share(weights, shape) <= threshold
    local = is_localized(widths, shape, width_fraction=width_fraction)
    narrow = np.where(compact, "bump", "scattered")
    classes = np.where(oscillatory, "oscillatory", np.where(noise, "noise", np.where(local, narrow, "extended")))
    return np.where((weights != 0).any(axis=-1), classes, "")


def unit_class(
    dense_weights, shape, *, width_fraction: float = LOCALIZED_WIDTH_FRACTION, periodic: bool = True
) -> np.ndarray:
    """What each unit learned in the dense network: 'bump', 'extended' (a learned field that is not
    narrow) or 'noise' (no spatial structure beyond white noise's).

    A data-driven criterion, not the unit's bias sign: the field is learned when its
    ``low_frequency_share`` exceeds the upper ``NOISE_LEVEL`` quantile of a white-noise field's
    (Beta(m / 2, (D - m) / 2); at 20 x 20 about twice the noise mean).  Units still noise-like after
    training (in the anchor's regime, half of them, by the sign their bias started with: +1 in cavitykit's
    runs, -1 in the anchor's code, whose labels are mirrored; they grow and drift toward high spatial
    frequencies without forming a field) are reported apart, since they dilute every mean.

    Parameters
    ----------
    dense_weights : array_like of shape (..., D)
        Round-0 trained weights.
    shape : (L,) or (L, L)
    width_fraction : float
        Passed to ``is_localized`` to split learned fields into bumps and extended fields.
    periodic : bool
        A ring or torus, or a bounded grid (images).

    Returns
    -------
    ndarray of str, shape (...): one of ``UNIT_CLASSES``.

    Examples
    --------
    >>> y, x = np.mgrid[:20, :20]
    >>> bump = np.exp(-((x - 4.0) ** 2 + (y - 7.0) ** 2) / 4).ravel()
    >>> smooth = np.cos(2 * np.pi * x / 20).ravel()
    >>> noise = np.random.default_rng(0).standard_normal(400)
    >>> unit_class(np.stack([bump, smooth, noise]), (20, 20)).tolist()
    ['bump', 'extended', 'noise']
    """
    weights = np.asarray(dense_weights, dtype=np.float64)
    _, threshold = noise_low_frequency_share(shape)
    learned = low_frequency_share(weights, shape) > threshold
    widths = receptive_field(weights, shape, periodic=periodic)["width"]
    local = is_localized(widths, shape, width_fraction=width_fraction)
    return np.where(learned, np.where(local, "bump", "extended"), "noise")
