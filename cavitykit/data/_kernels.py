"""Numba kernels of the data models (private)."""

import math

from numba import njit, prange


@njit(parallel=True, nogil=True)
def split_and_transform(field, gain, scale, out):
    """Write f(Re field) to the first rows of ``out`` and f(Im field) to the rest.

    f(z) = scale * erf(gain * z), or the identity when gain == 0.

    Parameters
    ----------
    field : ndarray of shape (n_pairs, D), complex
    gain, scale : float
    out : ndarray of shape (n_samples, D), n_pairs <= n_samples <= 2 n_pairs
    """
    n_pairs, size = field.shape
    n_imag = out.shape[0] - n_pairs
    for i in prange(n_pairs):
        for j in range(size):
            re = field[i, j].real
            out[i, j] = scale * math.erf(gain * re) if gain != 0 else re
        if i < n_imag:
            for j in range(size):
                im = field[i, j].imag
                out[n_pairs + i, j] = scale * math.erf(gain * im) if gain != 0 else im
