"""Numba kernels of the data models (private): NLGP sampling and Ising heat-bath chains.

Each has a naive twin in ``tests/data/test_kernels.py``, run with and without the JIT.
"""

import math

import numpy as np
from numba import njit, prange


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
        for j in range(size):
            re = field[i, j].real
            out[i, j] = scale * math.erf(gain * re) if gain != 0 else re
        if i < n_imag:
            for j in range(size):
                im = field[i, j].imag
                out[n_pairs + i, j] = scale * math.erf(gain * im) if gain != 0 else im


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
