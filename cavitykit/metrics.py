"""Metrics of hidden units: localization of receptive fields (IPR and its nulls at n survivors,
circular centre and width, connectivity, sign coherence, spatial power, shape class) and the cavity
criterion (does removing a weight raise |excess kurtosis|?).

A unit's receptive field is its weight vector w (masked) over the D pixels of a ring or torus, or,
with ``periodic=False``, of a bounded H x W grid (photographs: an image is not a torus).  Its squared
weights p_i = w_i^2 / sum_j w_j^2 form a distribution over pixels.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special, stats

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
# Monte Carlo draws behind ``top_magnitude_ipr``.
NULL_DRAWS = 4000


def _grid_coordinates(shape) -> np.ndarray:
    """Integer coordinates of each pixel, shape (D, dim), rows in C order."""
    return np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=-1)


@lru_cache(maxsize=16)
def _neighbour_table(shape: tuple[int, ...], periodic: bool = True) -> np.ndarray:
    """Each pixel's 4-neighbours (2 on a ring) on the periodic or bounded grid, shape (D, 2 dim), without
    duplicates (padded with the index D: on grids of side 2, and past a bounded grid's edge)."""
    coordinates = _grid_coordinates(shape)
    D = coordinates.shape[0]
    columns = []
    for axis, side in enumerate(shape):
        for step in (-1, 1):
            moved = coordinates.copy()
            moved[:, axis] = moved[:, axis] + step
            outside = (moved[:, axis] < 0) | (moved[:, axis] >= side)
            moved[:, axis] %= side
            index = np.ravel_multi_index(tuple(moved.T), shape)
            columns.append(np.where(outside, D, index) if not periodic else index)
    table = np.stack(columns, axis=1)
    for column in range(1, table.shape[1]):  # a side of 2 reaches the same neighbour both ways
        repeated = (table[:, column : column + 1] == table[:, :column]).any(axis=1)
        table[repeated, column] = D
    table[table == np.arange(D)[:, None]] = D  # a side of 1 is its own neighbour
    return table


def _neighbour_pairs(shape: tuple[int, ...], periodic: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Every unordered pair of 4-neighbours once: two index arrays."""
    table = _neighbour_table(tuple(shape), periodic)
    D = table.shape[0]
    first = np.repeat(np.arange(D), table.shape[1])
    second = table.ravel()
    keep = (second < D) & (first < second)
    return first[keep], second[keep]


def _linked(kept: np.ndarray, shape, periodic: bool = True) -> np.ndarray:
    """Boolean (..., D): kept pixels with at least one kept 4-neighbour."""
    table = _neighbour_table(tuple(shape), periodic)
    padded = np.concatenate([kept, np.zeros((*kept.shape[:-1], 1), bool)], axis=-1)  # index D: never kept
    return padded[..., table].any(axis=-1) & kept


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


def _support(shape, support) -> np.ndarray:
    """The pixels random placement may use, shape (D,): all of them when ``support`` is None."""
    D = int(np.prod(shape))
    return np.ones(D, dtype=bool) if support is None else np.asarray(support, dtype=bool).reshape(D)


def connectivity_null(n_kept, shape, *, periodic: bool = True, support=None) -> np.ndarray:
    """Expected ``connectivity`` of ``n_kept`` pixels placed uniformly at random (exact).

    A kept pixel with d neighbours has none of them kept with probability
    C(D - 1 - d, n - 1) / C(D - 1, n - 1), the other n - 1 pixels falling among the D - 1 - d
    that are neither it nor its neighbours.  On a bounded grid (``periodic=False``) the edge and
    corner pixels have fewer neighbours; within a ``support`` (the pixels a network sees), D counts
    its pixels and d a pixel's neighbours in it.

    Parameters
    ----------
    n_kept : array_like of int
    shape : (L,), (L, L) or (H, W)
    periodic : bool
        A ring or torus, or a bounded grid.
    support : array_like of bool, shape (D,), optional
        The pixels placement may use (by default all).

    Returns
    -------
    ndarray of the shape of ``n_kept``: NaN for n = 0.

    Examples
    --------
    >>> connectivity_null([1, 2, 16], (16,))  # a pair on a ring of 16 is adjacent with probability 2/15
    array([0.        , 0.13333333, 1.        ])
    >>> inner = np.pad(np.ones((2, 2), bool), 1).ravel()  # the 2 x 2 centre of a 4 x 4 image
    >>> connectivity_null([2], (4, 4), periodic=False, support=inner)  # any two of its pixels: 4 of 6 pairs touch
    array([0.66666667])
    """
    n = np.asarray(n_kept, dtype=np.float64)
    table = _neighbour_table(tuple(shape), periodic)
    inside = _support(shape, support)
    live = np.append(inside, False)[table].sum(axis=1)[inside]  # each support pixel's neighbours in it
    D = int(inside.sum())
    degrees, counts = np.unique(live, return_counts=True)
    isolated = np.zeros(n.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        for degree, count in zip(degrees, counts, strict=True):
            # C(D - 1 - d, n - 1) / C(D - 1, n - 1) through log-gammas; zero when n - 1 > D - 1 - d
            log_ratio = (
                special.gammaln(D - degree)
                - special.gammaln(D - degree - n + 1)
                - special.gammaln(D)
                + special.gammaln(D - n + 1)
            )
            ratio = np.where(n - 1 <= D - 1 - degree, np.exp(log_ratio), 0.0)
            isolated = isolated + count / D * ratio
    return np.where((n >= 1) & (n <= D), 1.0 - isolated, np.nan)


@lru_cache(maxsize=8)
def _pixel_distances(shape: tuple[int, ...], periodic: bool) -> np.ndarray:
    """Euclidean distance between every two pixels, (D, D); on a ring or torus along the shorter way round."""
    coordinates = _grid_coordinates(shape)
    steps = np.abs(coordinates[:, None, :] - coordinates[None, :, :])
    if periodic:
        steps = np.minimum(steps, np.array(shape) - steps)
    return np.sqrt((steps**2).sum(axis=-1))


def distance_bins(shape, *, periodic: bool = False) -> np.ndarray:
    """Edges of the unit-width bins of ``connection_distances``: 0.5, 1.5, ... past the largest distance.

    Examples
    --------
    >>> distance_bins((3, 4))  # the corners of a 3 x 4 grid lie sqrt(13) = 3.6 apart
    array([0.5, 1.5, 2.5, 3.5, 4.5])
    """
    largest = _pixel_distances(tuple(shape), periodic).max()
    return np.arange(0.5, np.floor(largest + 0.5) + 1.0, 1.0)


def connection_distances(mask, shape, *, periodic: bool = False) -> np.ndarray:
    """How far apart a unit's surviving input connections lie: the histogram of the Euclidean distances
    between every two of its kept pixels, in the bins of ``distance_bins`` (Pellegrini & Biroli's measure;
    a local field piles up at short distances, random placement follows ``connection_distances_null``).

    Parameters
    ----------
    mask : array_like of bool, shape (..., D)
    shape : (L,), (L, L) or (H, W)
    periodic : bool
        A ring or torus, or (the default, for images) a bounded grid.

    Returns
    -------
    ndarray of shape (..., n_bins): pair counts per bin.

    Examples
    --------
    >>> mask = np.zeros((1, 12), bool)
    >>> mask[0, [0, 1, 11]] = True  # two neighbours in the top row and the far corner of a 3 x 4 image
    >>> connection_distances(mask, (3, 4))  # the neighbours 1 apart, the corner 2.8 and 3.6 from them
    array([[1., 0., 1., 1.]])
    """
    mask = np.asarray(mask, dtype=bool)
    edges = distance_bins(shape, periodic=periodic)
    bins = np.digitize(_pixel_distances(tuple(shape), periodic), edges) - 1  # bin of every pixel pair
    flat = mask.reshape(-1, mask.shape[-1])
    counts = np.zeros((len(flat), len(edges) - 1))
    for unit, kept in enumerate(flat):
        index = np.flatnonzero(kept)
        pairs = bins[np.ix_(index, index)][np.triu_indices(len(index), k=1)]
        counts[unit] = np.bincount(pairs, minlength=len(edges) - 1)
    return counts.reshape((*mask.shape[:-1], len(edges) - 1))


def connection_distances_null(n_kept, shape, *, periodic: bool = False, support=None) -> np.ndarray:
    """Expected ``connection_distances`` of ``n_kept`` pixels placed uniformly at random (exact).

    Every two of n random pixels are a uniformly random pair of distinct pixels, so the expected count in
    a bin is C(n, 2) times the share of all C(D, 2) pixel pairs that fall in it (pairs within ``support``).

    Parameters
    ----------
    n_kept : array_like of int
    shape : (L,), (L, L) or (H, W)
    periodic : bool
    support : array_like of bool, shape (D,), optional
        The pixels placement may use (by default all).

    Returns
    -------
    ndarray of shape (*n_kept.shape, n_bins)

    Examples
    --------
    >>> connection_distances_null([2, 3], (1, 4))  # of the 6 pairs of a row of 4: 3 at distance 1, 2 at 2, 1 at 3
    array([[0.5       , 0.33333333, 0.16666667],
           [1.5       , 1.        , 0.5       ]])
    """
    inside = _support(shape, support)
    D = int(inside.sum())
    edges = distance_bins(shape, periodic=periodic)
    distances = _pixel_distances(tuple(shape), periodic)[np.ix_(inside, inside)][np.triu_indices(D, k=1)]
    share = np.histogram(distances, edges)[0] / (D * (D - 1) / 2)
    n = np.asarray(n_kept, dtype=np.float64)
    return (n * (n - 1) / 2)[..., None] * share


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


def top_magnitude_ipr(D: int) -> np.ndarray:
    """Expected IPR of the n largest-magnitude entries of D independent Gaussians, for n = 0 .. D.

    The null for a magnitude-pruned unit with n survivors: pruning keeps the top n of D magnitudes,
    whose IPR is below the 3 / (n + 2) of n random entries.  Monte Carlo over ``NULL_DRAWS`` vectors
    with a fixed seed (relative standard error below 0.2%), cached per D.  n = D gives 3 / (D + 2),
    n = 1 gives 1.

    Returns
    -------
    ndarray of shape (D + 1,): entry n is the null at n survivors (NaN at n = 0).

    Examples
    --------
    >>> null = top_magnitude_ipr(400)
    >>> float(null[1]), round(float(null[400]) * 402 / 3, 2)  # one weight; all: 3 / (D + 2)
    (1.0, 1.0)
    >>> bool(null[100] < 3 / 102)  # the top quarter is flatter than 100 random entries
    True
    """
    return _top_magnitude_ipr(int(D)).copy()


@lru_cache(maxsize=8)
def _top_magnitude_ipr(D: int) -> np.ndarray:
    rng = np.random.default_rng(20_241_206)
    total = np.zeros(D)
    for start in range(0, NULL_DRAWS, 500):
        squares = -np.sort(-(rng.standard_normal((min(500, NULL_DRAWS - start), D)) ** 2), axis=1)
        total += (np.cumsum(squares**2, axis=1) / np.cumsum(squares, axis=1) ** 2).sum(axis=0)
    return np.concatenate([[np.nan], total / NULL_DRAWS])


def cut_to_largest(weights, n_kept) -> np.ndarray:
    """Each field with only its ``n_kept`` largest magnitudes kept, the rest zero: pruning without retraining.

    Parameters
    ----------
    weights : array_like of shape (..., D)
    n_kept : array_like of int, broadcastable to shape (...)

    Returns
    -------
    ndarray of shape (broadcast of ..., D)

    Examples
    --------
    >>> cut_to_largest(np.array([3.0, -1.0, 2.0, 0.5]), [1, 2])
    array([[3., 0., 0., 0.],
           [3., 0., 2., 0.]])
    """
    weights = np.asarray(weights, dtype=np.float64)
    n = np.asarray(n_kept, dtype=np.int64)
    shape = np.broadcast_shapes(weights.shape[:-1], n.shape)
    weights = np.broadcast_to(weights, (*shape, weights.shape[-1]))
    rank = np.argsort(np.argsort(-np.abs(weights), axis=-1, kind="stable"), axis=-1)
    return np.where(rank < np.broadcast_to(n, shape)[..., None], weights, 0.0)


def truncated_ipr(weights, n_kept) -> np.ndarray:
    """IPR of each field cut to its ``n_kept`` largest magnitudes: pruning without retraining.

    Parameters
    ----------
    weights : array_like of shape (..., D)
        E.g. each unit's dense (round 0) field.
    n_kept : array_like of int, broadcastable to shape (...)

    Returns
    -------
    ndarray of shape (...): NaN where n_kept is 0.

    Examples
    --------
    >>> truncated_ipr(np.array([3.0, -1.0, 2.0, 0.5]), [1, 2, 4])  # [3], [3, 2], all
    array([1.        , 0.5739645 , 0.48291782])
    """
    squares = -np.sort(-(np.asarray(weights, dtype=np.float64) ** 2), axis=-1)
    cumulative = np.cumsum(squares**2, axis=-1) / np.cumsum(squares, axis=-1) ** 2
    n = np.asarray(n_kept)
    shape = np.broadcast_shapes(cumulative.shape[:-1], n.shape)
    cumulative = np.broadcast_to(cumulative, (*shape, cumulative.shape[-1]))
    index = np.broadcast_to(n, shape).astype(np.int64)
    picked = np.take_along_axis(cumulative, np.clip(index - 1, 0, None)[..., None], axis=-1)[..., 0]
    return np.where(index >= 1, picked, np.nan)


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
