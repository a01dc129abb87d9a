"""Exact Gaussian sampling on a ring or torus through the FFT.

A covariance that depends only on the periodic displacement (circulant in 1D,
block-circulant in 2D) is diagonalized by the DFT: its eigenvalues are the DFT
of its kernel c(displacement).  With complex white noise eps (real and
imaginary parts independent N(0, 1)), y = fftn(sqrt(lambda / D) * eps) has
E[y_j conj(y_l)] = 2 c(j - l) and E[y_j y_l] = 0, so Re(y) and Im(y) are two
independent exact N(0, C) samples: O(D log D) per sample, no D x D factor.
"""

from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.fft

from cavitykit.data._kernels import split_and_transform

# Samples generated per block: bounds the complex scratch memory.
BLOCK_SAMPLES = 8192


def ring_distance(L: int) -> np.ndarray:
    """Periodic distance min(d, L - d) from site 0 to every site, shape (L,)."""
    d = np.arange(L)
    return np.minimum(d, L - d)


def kernel_eigenvalues(kernel: np.ndarray) -> np.ndarray:
    """Eigenvalues of the (block-)circulant covariance with this kernel, same shape as ``kernel``."""
    return scipy.fft.fftn(kernel).real


def circulant_from_kernel(kernel: np.ndarray) -> np.ndarray:
    """The full D x D covariance matrix whose entry (j, l) is kernel[(l - j) mod L] (per axis)."""
    shape = kernel.shape
    index = np.indices(shape).reshape(len(shape), -1)
    displacement = (index[:, None, :] - index[:, :, None]) % np.array(shape)[:, None, None]
    return kernel[tuple(displacement)]


def sample_circulant(
    eigenvalues: np.ndarray, n_samples: int, rng: np.random.Generator, dtype, *, gain: float = 0.0, scale: float = 1.0
) -> np.ndarray:
    """Exact samples of N(0, C) for the circulant C with these (non-negative) eigenvalues,
    optionally passed through f(z) = scale * erf(gain * z) in the same pass.

    Blocks of samples are drawn on a small thread pool, each from its own child
    generator spawned from ``rng`` in block order, so the numbers depend on
    ``rng`` only, not on the number of threads.

    Parameters
    ----------
    eigenvalues : ndarray of shape (L,) or (L, L)
    n_samples : int
    rng : numpy.random.Generator
    dtype : float32 or float64
    gain, scale : float
        Nonlinearity applied to each entry; gain = 0 leaves the Gaussian field.

    Returns
    -------
    ndarray of shape (n_samples, D), D = eigenvalues.size, C-contiguous.
    """
    dtype = np.dtype(dtype)
    complex_dtype = np.complex64 if dtype == np.float32 else np.complex128
    shape = eigenvalues.shape
    size = eigenvalues.size
    amplitude = np.sqrt(eigenvalues / size).astype(dtype)
    axes = tuple(range(1, len(shape) + 1))
    out = np.empty((n_samples, size), dtype=dtype)
    starts = range(0, n_samples, 2 * BLOCK_SAMPLES)
    children = rng.spawn(len(starts))

    def fill_block(start, child):
        n_block = min(2 * BLOCK_SAMPLES, n_samples - start)
        n_pairs = (n_block + 1) // 2
        # Pairs of normals viewed as complex: real and imaginary parts, no copy.
        field = child.standard_normal((n_pairs, *shape, 2), dtype=dtype).view(complex_dtype)[..., 0]
        field *= amplitude
        field = scipy.fft.fftn(field, axes=axes, overwrite_x=True).reshape(n_pairs, size)
        split_and_transform(field, gain, scale, out[start : start + n_block])

    if len(starts) == 1:
        fill_block(0, children[0])  # in this thread: a new thread would start a new OpenMP team
    else:
        list(_pool().map(fill_block, starts, children))
    return out


@functools.cache
def _pool() -> ThreadPoolExecutor:
    """One pool for the life of the process: its threads keep their OpenMP teams between calls."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="cavitykit-circulant")
