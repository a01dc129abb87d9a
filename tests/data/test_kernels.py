"""The data models' Numba kernels against naive twins written in plain Python (run with and without the JIT)."""

import numpy as np
import pytest
import scipy.special

from cavitykit.data._kernels import heat_bath_chains, split_and_transform

MASK64 = (1 << 64) - 1


def naive_split_and_transform(field, gain, scale, n_samples):
    """f(Re field) then f(Im field) row by row, f = scale erf(gain z) (identity at gain 0), in numpy."""

    def f(z):
        return scale * scipy.special.erf(gain * z) if gain != 0 else z

    return np.concatenate([f(field.real), f(field.imag)])[:n_samples]


@pytest.mark.nojit
@pytest.mark.parametrize("gain", [0.0, 0.7, 3.0])
@pytest.mark.parametrize("n_samples", [5, 8])
def test_split_and_transform_equals_its_naive_twin(gain, n_samples):
    rng = np.random.default_rng(1)
    field = rng.standard_normal((4, 6)) + 1j * rng.standard_normal((4, 6))
    out = np.empty((n_samples, 6))
    split_and_transform(field, gain, 1.3, out)
    # math.erf and scipy's erf may differ in the last bit.
    np.testing.assert_allclose(out, naive_split_and_transform(field, gain, 1.3, n_samples), rtol=1e-14, atol=0)


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
