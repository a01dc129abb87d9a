"""Numba kernels of the data models (private): NLGP sampling and Ising heat-bath chains.

Each has a naive twin in ``tests/data/test_kernels.py``, run with and without the JIT.
"""

import math

import numpy as np
import scipy.special
from numba import njit, prange

# erf by pieces: 24 polynomials of degree 8, within 1.3e-13 of libm's erf on a dense grid (the test
# measures it); the bound leaves a factor 20.  From ERF_SATURATION on, erf is 1 to within 2e-17.
ERF_SATURATION = 6.0
ERF_PIECE_WIDTH = 0.25
ERF_PIECE_DEGREE = 8
ERF_ERROR_BOUND = 3e-12


def erf_pieces(width: float = ERF_PIECE_WIDTH, degree: int = ERF_PIECE_DEGREE) -> np.ndarray:
    """Polynomials for erf on [0, ERF_SATURATION): piece k covers [k width, (k + 1) width).

    Chebyshev interpolants of degree ``degree`` in u = 2 (a - k width) / width - 1, in monomial form.

    Returns
    -------
    ndarray of shape (ERF_SATURATION / width, degree + 1): ``out[k]`` is piece k's coefficients,
    highest power first (Horner order).
    """
    n_pieces = round(ERF_SATURATION / width)
    pieces = np.empty((n_pieces, degree + 1))
    for k in range(n_pieces):
        interpolant = np.polynomial.chebyshev.chebinterpolate(
            lambda u, k=k: scipy.special.erf(width * (k + (u + 1) / 2)), degree
        )
        monomial = np.polynomial.chebyshev.cheb2poly(interpolant)  # trailing zeros trimmed
        pieces[k] = np.pad(monomial, (0, degree + 1 - monomial.size))[::-1]
    return pieces


_ERF_PIECES = erf_pieces()


@njit(inline="always")
def erf_by_pieces(t):
    """erf(t) within ERF_ERROR_BOUND, without a libm call so that loops of it vectorize; NaN at +-inf and NaN."""
    a = abs(t)
    inside = a < ERF_SATURATION  # False for NaN too, which keeps the index in range
    k = int(a * (1.0 / ERF_PIECE_WIDTH)) if inside else 0
    u = (a - k * ERF_PIECE_WIDTH) * (2.0 / ERF_PIECE_WIDTH) - 1.0
    p = _ERF_PIECES[k, 0]
    for d in range(1, ERF_PIECE_DEGREE + 1):
        p = p * u + _ERF_PIECES[k, d]
    # t - t is 0 for finite t and NaN for +-inf and NaN: those go to libm.
    return math.copysign(p if inside else 1.0, t) + (t - t)


@njit(inline="always")
def transform_row(z, gain, scale, out):
    """out[j] = scale * erf(gain * z[j]) rounded to out's dtype, or z[j] when gain == 0.

    Bit for bit the value libm's erf gives.  Into float32, erf by pieces is enough wherever its error
    bound cannot move the float32 rounding: all but 0.03% of the pixels at g = 3 (0.2% at g = 0.3,
    where more values are small).  Those, and float64 output, take libm's erf: about 20 ns a call
    here, against 3-4 ns for the pieces, which vectorize.
    """
    if gain == 0:
        for j in range(z.size):
            out[j] = z[j]
        return
    if out.itemsize == 4:
        bound = ERF_ERROR_BOUND * abs(scale)
        for j in range(z.size):
            v = scale * erf_by_pieces(gain * z[j])
            out[j] = np.float32(v) if np.float32(v - bound) == np.float32(v + bound) else np.float32(np.nan)
    else:
        out[:] = np.nan
    for j in range(z.size):  # libm for every pixel left NaN
        if out[j] != out[j]:
            out[j] = scale * math.erf(gain * z[j])


@njit(parallel=True, nogil=True, cache=True)
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
        # Contiguous copies of the row's two parts: strided reads would keep the loops from vectorizing.
        real, imag = np.empty(size), np.empty(size)
        for j in range(size):
            real[j], imag[j] = field[i, j].real, field[i, j].imag
        transform_row(real, gain, scale, out[i])
        if i < n_imag:
            transform_row(imag, gain, scale, out[n_pairs + i])


XORSHIFT_MULTIPLIER = np.uint64(0x2545F4914F6CDD1D)
UNIT = 2.0**-53


@njit(inline="always")
def next_uniform(state):
    """xorshift64* (Vigna 2016): the new state and a uniform in [0, 1) from its top 53 bits."""
    state ^= state >> np.uint64(12)
    state ^= state << np.uint64(25)
    state ^= state >> np.uint64(27)
    return state, ((state * XORSHIFT_MULTIPLIER) >> np.uint64(11)) * UNIT


@njit(inline="always")
def heat_bath_sweep(spins, L, dim, flip, state):
    """One sequential sweep over all sites of a ring (dim 1) or torus (dim 2); returns the generator state.

    flip[s * h + 2 * dim] is the probability of flipping spin s in local field h.
    """
    for site in range(spins.size):
        if dim == 1:
            field = spins[(site + 1) % L] + spins[(site - 1) % L]
        else:
            row, col = divmod(site, L)
            field = (
                spins[((row + 1) % L) * L + col]
                + spins[((row - 1) % L) * L + col]
                + spins[row * L + (col + 1) % L]
                + spins[row * L + (col - 1) % L]
            )
        state, u = next_uniform(state)
        if u < flip[spins[site] * field + 2 * dim]:
            spins[site] = -spins[site]
    return state


@njit(parallel=True, cache=True)
def heat_bath_chains(spins, seeds, L, dim, flip, burn_in, thin, out):
    """Run every chain (in parallel): ``burn_in`` sweeps, then one snapshot every ``thin`` sweeps.

    Parameters
    ----------
    spins : ndarray of int64, shape (n_chains, D)
        Initial configurations of +-1 (updated in place).
    seeds : ndarray of uint64, shape (n_chains,)
        Non-zero xorshift64* state of each chain.
    L, dim : int
    flip : ndarray of shape (4 dim + 1,)
        Flip probability by s * h + 2 dim.
    burn_in, thin : int
    out : ndarray of float, shape (n_keep, n_chains, D)
        Snapshot k of chain c goes to out[k, c].
    """
    n_chains = spins.shape[0]
    n_keep = out.shape[0]
    for chain in prange(n_chains):
        state = seeds[chain]
        configuration = spins[chain]
        for _ in range(burn_in):
            state = heat_bath_sweep(configuration, L, dim, flip, state)
        for k in range(n_keep):
            for _ in range(thin):
                state = heat_bath_sweep(configuration, L, dim, flip, state)
            for site in range(configuration.size):
                out[k, chain, site] = configuration[site]
