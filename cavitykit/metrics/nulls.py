"""Nulls for a pruned unit: the connectivity and connection distances of its survivors placed at random
(exact, within the pixels a network sees), the IPR of the top n of D magnitudes, and the dense field cut to
its n largest weights (pruning without retraining)."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import special

from cavitykit.metrics._grid import _neighbour_table, _pixel_distances, _support
from cavitykit.metrics.distances import distance_bins

# Monte Carlo draws behind ``top_magnitude_ipr``.
NULL_DRAWS = 4000


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
