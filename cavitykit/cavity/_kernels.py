"""Numba kernel of the cavity engine for pruned layers (private: ``_driver.first_layer_sums`` calls it).

The GEMM route (``_engine.MixedSums``) forms the mixed power sums of every (unit, input) pair, pruned
or not.  After a few IMP rounds most pairs are pruned: this kernel visits only the kept weights, so
its cost falls with the kept fraction while the GEMMs' stays.  Samples are taken in blocks, centred
and transposed so that each kept weight's sums are contiguous, vectorizable loops over the block.
"""

import numpy as np
from numba import njit, prange

from cavitykit.stats import FASTMATH

# Samples per block: the block's centred inputs (D x ROW_BLOCK float64) stay in L2 at D ~ 400.
ROW_BLOCK = 256
# Mixed sums the kernel returns, in this order: (a, b) for sum_p lambda_p^a x_p^b.
TERMS = ((1, 1), (2, 1), (1, 2), (3, 1), (2, 2), (1, 3))
# Highest power a + b (and of lambda alone) the kernel sums.
MAX_POWER = 4


# Not cached: with fastmath reassociation the kernel compiled afresh and the same kernel loaded from
# numba's cache summed in different orders, so a run resumed in a new process differed from an
# uninterrupted one in the 13th digit.  Compiled in every process (a few seconds), it sums alike in
# all of them (tests/cavity/test_cavity.py runs it in two fresh processes).
@njit(parallel=True, fastmath=FASTMATH)
def kept_weight_sums(x, mean, offsets, columns, steps, n_tasks):
    """Central power sums of every unit's pre-activation and mixed sums of each kept weight's pair.

    With x_c = x - mean and lambda_k = sum over unit k's kept weights of steps * x_c[column]:
    mixed[t, m, i] = sum over the samples of task t of lambda_k^a x_c[columns[m]]^b, (a, b) =
    ``TERMS[i]``, for kept weight m of unit k; and lambda_sums[t, k, r - 2] = sum lambda_k^r,
    r = 2, 3, 4.  Task t takes rows [t P / n_tasks, (t + 1) P / n_tasks): the partials, and so
    their total, do not depend on the number of threads.

    Parameters
    ----------
    x : ndarray of shape (P, D), float32 or float64, C-contiguous
    mean : ndarray of shape (D,), float64
    offsets : ndarray of shape (K + 1,), int64
        Unit k's kept weights are entries offsets[k] to offsets[k + 1] of ``columns`` and ``steps``.
    columns : ndarray of shape (n_kept,), int64
        Input index of each kept weight.
    steps : ndarray of shape (n_kept,), float64
        Each kept weight's coefficient in lambda (w / sqrt(D)).
    n_tasks : int
        Row chunks (parallel tasks).

    Returns
    -------
    mixed : ndarray of shape (n_tasks, n_kept, 6)
    lambda_sums : ndarray of shape (n_tasks, K, 3)
    """
    n_rows, n_cols = x.shape
    n_units = offsets.size - 1
    mixed = np.zeros((n_tasks, columns.size, len(TERMS)))
    lambda_sums = np.zeros((n_tasks, n_units, MAX_POWER - 1))
    for task in prange(n_tasks):
        stop = (task + 1) * n_rows // n_tasks
        acc = mixed[task]
        lambda_acc = lambda_sums[task]
        centred = np.empty((n_cols, ROW_BLOCK))
        lam = np.empty(ROW_BLOCK)
        for start in range(task * n_rows // n_tasks, stop, ROW_BLOCK):
            n = min(stop, start + ROW_BLOCK) - start
            for i in range(n):
                for q in range(n_cols):
                    centred[q, i] = x[start + i, q] - mean[q]
            for k in range(n_units):
                first, last = offsets[k], offsets[k + 1]
                lam[:n] = 0.0
                for m in range(first, last):
                    step, column = steps[m], centred[columns[m]]
                    for i in range(n):
                        lam[i] += step * column[i]
                s2 = s3 = s4 = 0.0
                for i in range(n):
                    l2 = lam[i] * lam[i]
                    s2 += l2
                    s3 += l2 * lam[i]
                    s4 += l2 * l2
                lambda_acc[k, 0] += s2
                lambda_acc[k, 1] += s3
                lambda_acc[k, 2] += s4
                for m in range(first, last):
                    column = centred[columns[m]]
                    s11 = s21 = s12 = s31 = s22 = s13 = 0.0
                    for i in range(n):
                        l1 = lam[i]
                        l2 = l1 * l1
                        v = column[i]
                        v2 = v * v
                        s11 += l1 * v
                        s21 += l2 * v
                        s12 += l1 * v2
                        s31 += l2 * l1 * v
                        s22 += l2 * v2
                        s13 += l1 * v2 * v
                    acc[m, 0] += s11
                    acc[m, 1] += s21
                    acc[m, 2] += s12
                    acc[m, 3] += s31
                    acc[m, 4] += s22
                    acc[m, 5] += s13
    return mixed, lambda_sums
