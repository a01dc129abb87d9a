"""Numba kernels of the cumulant engine (private: call the drivers in ``moments``).

Each kernel reads the data exactly once and accumulates power sums of the data
shifted by a per-column pilot value, in float64, in per-task partial arrays
that the driver adds up.  Shifted sums with a common shift merge by plain
addition, so the parallel split needs no Pebay step; the driver re-centres
the totals on the sample mean afterwards.
"""

import numpy as np
from numba import njit, prange

# No nnan/ninf: results must keep NaN and inf, which the drivers inspect.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
# Columns per task: keeps the per-row scratch and accumulator rows in L1.
COLUMN_BLOCK = 512
# Rows below which a parallel row split does not pay for its partial arrays.
ROWS_PER_TASK_MIN = 1024


@njit(cache=True)
def _task_layout(n_rows, n_cols, n_threads):
    # Several tasks per thread even out a thread that is slowed by other work.
    n_row_chunks = max(1, min(4 * n_threads, n_rows // ROWS_PER_TASK_MIN))
    n_col_blocks = (n_cols + COLUMN_BLOCK - 1) // COLUMN_BLOCK
    return n_row_chunks, n_col_blocks


@njit(inline="always")
def _task_bounds(task, n_rows, n_cols, n_row_chunks, n_col_blocks):
    """(chunk, first column, end column, first row, end row) of one parallel task."""
    chunk = task // n_col_blocks
    c0 = (task % n_col_blocks) * COLUMN_BLOCK
    c1 = min(n_cols, c0 + COLUMN_BLOCK)
    return chunk, c0, c1, chunk * n_rows // n_row_chunks, (chunk + 1) * n_rows // n_row_chunks


@njit(fastmath=FASTMATH, inline="always")
def _powers_to_4(d):
    d2 = d * d
    return (d, d2, d2 * d, d2 * d2)


@njit(fastmath=FASTMATH, inline="always")
def _powers_to_8(d):
    d2 = d * d
    d4 = d2 * d2
    return (d, d2, d2 * d, d4, d4 * d, d4 * d2, d4 * d2 * d, d4 * d4)


@njit(fastmath=FASTMATH, inline="always")
def _power_sums(x, shift, n_threads, powers, n_powers):
    """Sums of ``powers(x - shift)`` (a tuple of n_powers values) along axis 0, in per-task partials.

    The body is unrolled over four rows so each accumulator load/store serves
    four samples; with the powers inlined, LLVM vectorizes over columns.  The
    kernel is memory-bound up to order 4 and close to it at order 8.
    """
    n_rows, n_cols = x.shape
    n_row_chunks, n_col_blocks = _task_layout(n_rows, n_cols, n_threads)
    sums = np.zeros((n_row_chunks, n_powers, n_cols))
    for task in prange(n_row_chunks * n_col_blocks):
        chunk, c0, c1, i, stop = _task_bounds(task, n_rows, n_cols, n_row_chunks, n_col_blocks)
        acc = np.zeros((n_powers, c1 - c0))
        while i + 4 <= stop:
            row0, row1, row2, row3 = x[i], x[i + 1], x[i + 2], x[i + 3]
            for j in range(c0, c1):
                s = shift[j]
                p0 = powers(row0[j] - s)
                p1 = powers(row1[j] - s)
                p2 = powers(row2[j] - s)
                p3 = powers(row3[j] - s)
                for r in range(n_powers):
                    acc[r, j - c0] += (p0[r] + p1[r]) + (p2[r] + p3[r])
            i += 4
        while i < stop:
            for j in range(c0, c1):
                p0 = powers(x[i, j] - shift[j])
                for r in range(n_powers):
                    acc[r, j - c0] += p0[r]
            i += 1
        sums[chunk, :, c0:c1] = acc
    return sums


# power_sums_to_R(x, shift, n_threads): x (n_samples, n_columns) C-contiguous float32/float64,
# shift (n_columns,) float64 -> partial sums (n_row_chunks, R, n_columns) whose entry [:, r - 1]
# is the sum of (x - shift) ** r.  Module-level functions (not closures), so numba can cache them.
@njit(parallel=True, fastmath=FASTMATH, cache=True)
def power_sums_to_4(x, shift, n_threads):
    return _power_sums(x, shift, n_threads, _powers_to_4, 4)


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def power_sums_to_8(x, shift, n_threads):
    return _power_sums(x, shift, n_threads, _powers_to_8, 8)


# No fastmath here: LLVM folds the finiteness test away under reassociation.
@njit(parallel=True, cache=True)
def shifted_power_sums_omit(x, shift, max_order, n_threads):
    """Power sums of the finite entries of ``x - shift`` along axis 0, with counts.

    The slow path, for nan_policy='omit': a generic loop over powers with a
    per-column count.  Clean data go through the unrolled ``power_sums_to_*``.

    Parameters
    ----------
    x : ndarray of shape (n_samples, n_columns), float32 or float64, C-contiguous
    shift : ndarray of shape (n_columns,), float64
    max_order : int
        Highest power accumulated (>= 1).
    n_threads : int
        ``numba.get_num_threads()`` of the caller (sets the task layout).

    Returns
    -------
    sums : ndarray of shape (n_row_chunks, max_order, n_columns)
        Per-task partial sums; entry ``[:, r - 1]`` is the sum of ``(x - shift) ** r``.
    counts : ndarray of shape (n_row_chunks, n_columns)
        Per-task partial counts of the entries used.
    """
    n_rows, n_cols = x.shape
    n_row_chunks, n_col_blocks = _task_layout(n_rows, n_cols, n_threads)
    sums = np.zeros((n_row_chunks, max_order, n_cols))
    counts = np.zeros((n_row_chunks, n_cols))
    for task in prange(n_row_chunks * n_col_blocks):
        chunk, c0, c1, r0, r1 = _task_bounds(task, n_rows, n_cols, n_row_chunks, n_col_blocks)
        width = c1 - c0
        deviation = np.empty(width)
        power = np.empty(width)
        acc = sums[chunk]
        count = counts[chunk]
        for i in range(r0, r1):
            for j in range(width):
                value = x[i, c0 + j] - shift[c0 + j]
                finite = np.isfinite(value)
                deviation[j] = value if finite else 0.0
                count[c0 + j] += 1.0 if finite else 0.0
            for j in range(width):
                power[j] = deviation[j]
                acc[0, c0 + j] += deviation[j]
            for r in range(1, max_order):
                for j in range(width):
                    power[j] *= deviation[j]
                    acc[r, c0 + j] += power[j]
    return sums, counts


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def shifted_mixed_power_sums(x, y, shift_x, shift_y, max_order, n_threads):
    """Mixed power sums of ``(x - shift_x) ** a * (y - shift_y) ** b`` along axis 0.

    Parameters
    ----------
    x, y : ndarray of shape (n_samples, n_columns), float32 or float64, C-contiguous
    shift_x, shift_y : ndarray of shape (n_columns,), float64
    max_order : int
        Highest total power ``a + b`` accumulated.
    n_threads : int
        ``numba.get_num_threads()`` of the caller (sets the task layout).

    Returns
    -------
    sums : ndarray of shape (n_row_chunks, max_order + 1, max_order + 1, n_columns)
        Per-task partial sums; entry ``[:, a, b]`` for ``a + b <= max_order``
        (``[:, 0, 0]`` counts the samples).
    """
    n_rows, n_cols = x.shape
    n_row_chunks, n_col_blocks = _task_layout(n_rows, n_cols, n_threads)
    sums = np.zeros((n_row_chunks, max_order + 1, max_order + 1, n_cols))
    for task in prange(n_row_chunks * n_col_blocks):
        chunk, c0, c1, r0, r1 = _task_bounds(task, n_rows, n_cols, n_row_chunks, n_col_blocks)
        width = c1 - c0
        powers_x = np.empty((max_order + 1, width))
        powers_y = np.empty((max_order + 1, width))
        acc = sums[chunk]
        for i in range(r0, r1):
            for j in range(width):
                powers_x[0, j] = 1.0
                powers_y[0, j] = 1.0
            for a in range(1, max_order + 1):
                for j in range(width):
                    powers_x[a, j] = powers_x[a - 1, j] * (x[i, c0 + j] - shift_x[c0 + j])
                    powers_y[a, j] = powers_y[a - 1, j] * (y[i, c0 + j] - shift_y[c0 + j])
            for a in range(max_order + 1):
                for b in range(max_order + 1 - a):
                    for j in range(width):
                        acc[a, b, c0 + j] += powers_x[a, j] * powers_y[b, j]
    return sums
