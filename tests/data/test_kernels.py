"""The data models' Numba kernels against naive twins written in plain Python (run with and without the JIT)."""

import math

import numpy as np
import pytest
import scipy.special
from numba import njit

from cavitykit.data._kernels import ERF_ERROR_BOUND, erf_by_pieces, heat_bath_chains, split_and_transform

MASK64 = (1 << 64) - 1


def naive_split_and_transform(field, gain, scale, out_dtype, n_samples):
    """f(Re field) then f(Im field) row by row, f = scale erf(gain z) with libm's erf (identity at gain 0)."""

    def f(z):
        if gain == 0:
            return z
        return np.array([[scale * math.erf(gain * float(value)) for value in row] for row in z])

    return np.concatenate([f(field.real), f(field.imag)])[:n_samples].astype(out_dtype)


@pytest.mark.nojit
@pytest.mark.parametrize("out_dtype", [np.float32, np.float64])
@pytest.mark.parametrize("field_dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("gain", [0.0, 0.2, 2.1, 21.0])
@pytest.mark.parametrize("n_samples", [5, 8])
def test_split_and_transform_equals_its_naive_twin_bit_for_bit(gain, n_samples, field_dtype, out_dtype):
    rng = np.random.default_rng(1)
    field = (rng.standard_normal((4, 50)) + 1j * rng.standard_normal((4, 50))).astype(field_dtype)
    out = np.empty((n_samples, 50), dtype=out_dtype)
    split_and_transform(field, gain, 1.3, out)
    np.testing.assert_array_equal(out, naive_split_and_transform(field, gain, 1.3, out_dtype, n_samples), strict=True)


def test_erf_by_pieces_is_within_its_bound_of_libm():
    """The premise of the float32 shortcut: on a grid finer than the pieces' wiggles, |error| stays far
    below ERF_ERROR_BOUND (the pieces measure 1.3e-13; a bound below that would fail here)."""
    t = np.linspace(-7.0, 7.0, 1_400_001)
    approx, exact = np.empty_like(t), np.empty_like(t)
    erf_loops(t, approx, exact)
    assert np.abs(approx - exact).max() < ERF_ERROR_BOUND / 10


@njit
def erf_loops(t, approx, exact):
    for j in range(t.size):
        approx[j], exact[j] = erf_by_pieces(t[j]), math.erf(t[j])


@pytest.mark.nojit
def test_split_and_transform_rounds_like_libm_next_to_float32_ties():
    """Arguments whose image lies within 1e-15 of a float32 rounding tie: there erf by pieces alone
    (error ~1e-13) rounds the wrong way about half the time, so only the tie check keeps the bits."""
    rng = np.random.default_rng(2)
    gain, scale = 2.1, 1.3
    below = np.sort(rng.uniform(-1.25, 1.25, 400).astype(np.float32))
    ties = (below.astype(np.float64) + np.nextafter(below, np.float32(np.inf)).astype(np.float64)) / 2
    z = scipy.special.erfinv(ties / scale) / gain
    field = np.stack([z[:200] + 1j * z[200:]])
    out = np.empty((2, 200), dtype=np.float32)
    split_and_transform(field, gain, scale, out)
    np.testing.assert_array_equal(out, naive_split_and_transform(field, gain, scale, np.float32, 2), strict=True)


@pytest.mark.nojit
def test_split_and_transform_passes_infinities_and_nan_to_libm():
    field = np.array([[complex(np.inf, np.nan), complex(-np.inf, 0.0), complex(7.0, -7.0)]])
    out = np.empty((2, 3), dtype=np.float32)
    split_and_transform(field, 2.0, 1.5, out)
    np.testing.assert_array_equal(out, [[1.5, -1.5, 1.5], [np.nan, 0.0, -1.5]])


def naive_uniform(state):
    """xorshift64* with Python integers: (new state, uniform in [0, 1))."""
    state ^= state >> 12
    state ^= (state << 25) & MASK64
    state ^= state >> 27
    return state, (((state * 0x2545F4914F6CDD1D) & MASK64) >> 11) * 2.0**-53


def naive_sweep(configuration, state, L, dim, flip):
    """One heat-bath sweep over a list of spins, neighbours found by coordinates; returns the state."""
    for site in range(len(configuration)):
        row, col = divmod(site, L) if dim == 2 else (0, site)
        neighbours = [(row, (col + 1) % L), (row, (col - 1) % L)]
        if dim == 2:
            neighbours += [((row + 1) % L, col), ((row - 1) % L, col)]
        field = sum(configuration[r * L + c] for r, c in neighbours)
        state, u = naive_uniform(state)
        if u < flip[configuration[site] * field + 2 * dim]:
            configuration[site] = -configuration[site]
    return state


def naive_heat_bath_chains(spins, seeds, L, dim, flip, burn_in, thin, n_keep):
    """The same chains, one after another, with Python integers and lists."""
    out = np.empty((n_keep, *spins.shape))
    for chain, (configuration, state) in enumerate(zip(spins.tolist(), seeds.tolist(), strict=True)):
        for _ in range(burn_in):
            state = naive_sweep(configuration, state, L, dim, flip)
        for k in range(n_keep):
            for _ in range(thin):
                state = naive_sweep(configuration, state, L, dim, flip)
            out[k, chain] = configuration
    return out


@pytest.mark.nojit
@pytest.mark.parametrize("dim", [1, 2])
def test_heat_bath_chains_equal_their_naive_twin(dim):
    rng = np.random.default_rng(7)
    L, n_chains, temperature = 5, 3, 1.5
    spins = 2 * rng.integers(0, 2, size=(n_chains, L**dim), dtype=np.int64) - 1
    seeds = rng.integers(1, 2**63, size=n_chains, dtype=np.uint64)
    alignment = np.arange(-2 * dim, 2 * dim + 1)
    flip = 1.0 / (1.0 + np.exp(2.0 * alignment / temperature))
    expected = naive_heat_bath_chains(spins, seeds, L, dim, flip, burn_in=3, thin=2, n_keep=4)
    out = np.empty((4, n_chains, L**dim))
    with np.errstate(over="ignore"):  # without the JIT, uint64 products wrap as numpy scalars
        heat_bath_chains(spins.copy(), seeds, L, dim, flip, 3, 2, out)
    np.testing.assert_array_equal(out, expected)
    assert not np.array_equal(out[0], out[-1])  # the chains moved
