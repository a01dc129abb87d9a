"""The pixel grid shared by the metrics: coordinates, 4-neighbours, distances between pixels, on a ring or
torus or on a bounded grid (``periodic=False``), and the support that random placement may use."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


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


def _support(shape, support) -> np.ndarray:
    """The pixels random placement may use, shape (D,): all of them when ``support`` is None."""
    D = int(np.prod(shape))
    return np.ones(D, dtype=bool) if support is None else np.asarray(support, dtype=bool).reshape(D)


@lru_cache(maxsize=8)
def _pixel_distances(shape: tuple[int, ...], periodic: bool) -> np.ndarray:
    """Euclidean distance between every two pixels, (D, D); on a ring or torus along the shorter way round."""
    coordinates = _grid_coordinates(shape)
    steps = np.abs(coordinates[:, None, :] - coordinates[None, :, :])
    if periodic:
        steps = np.minimum(steps, np.array(shape) - steps)
    return np.sqrt((steps**2).sum(axis=-1))
