"""Distances between a unit's surviving connections: Pellegrini and Biroli's pair counts, in Euclidean bins
of width 1."""

from __future__ import annotations

import numpy as np

from cavitykit.metrics._grid import _pixel_distances


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
