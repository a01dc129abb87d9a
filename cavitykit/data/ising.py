"""Ising spins on a periodic ring or torus, sampled by single-spin Markov chains compiled with Numba.

Zero field, coupling J = 1, k_B = 1: P(s) ~ exp(sum_<ij> s_i s_j / T).  In 1D
the finite-ring correlation is exact (transfer matrix):
<s_0 s_d> = (t^d + t^(L-d)) / (1 + t^L), t = tanh(1/T), so the correlation
length is xi(T) = -1 / ln tanh(1/T) (``docs/data.md``).  Spins are
+-1, so every pixel has excess kurtosis -2 whatever T.

Each chain owns a xorshift64* generator seeded from the caller's
``numpy.random.Generator`` and the number of chains is fixed, so the same
seed gives the same samples whatever the number of threads.
"""

from __future__ import annotations

import numpy as np

from cavitykit._validation import check_int, check_real
from cavitykit.data._base import TorusModel, check_sample_args
from cavitykit.data._kernels import heat_bath_chains
from cavitykit.data.nlgp import cumulants_from_raw_moments


def ising_correlation_length(temperature: float) -> float:
    """xi(T) = -1 / ln tanh(1/T): correlation length of the infinite Ising chain.

    Examples
    --------
    >>> round(float(ising_correlation_length(1.0)), 3)
    3.672
    """
    temperature = check_real("temperature", temperature, positive=True)
    return -1.0 / np.log(np.tanh(1.0 / temperature))


def ising_temperature(correlation_length: float) -> float:
    """T(xi) = 1 / artanh(exp(-1/xi)): the temperature of the infinite chain with correlation length xi.

    Examples
    --------
    >>> round(float(ising_correlation_length(ising_temperature(5.0))), 6)
    5.0
    """
    correlation_length = check_real("correlation_length", correlation_length, positive=True)
    return 1.0 / np.arctanh(np.exp(-1.0 / correlation_length))


def periodic_autocorrelation(X: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Site-averaged correlation <x_i x_{i+d}> for every periodic displacement d.

    Parameters
    ----------
    X : ndarray of shape (P, D)
        Samples, rows in C order of ``shape``.
    shape : tuple of int
        Image shape, (L,) or (L, L), with prod(shape) = D.

    Returns
    -------
    ndarray of shape ``shape``: entry d averages x_i x_{i+d} over sites and samples.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.ones((3, 8))  # fully aligned spins on a ring of 8
    >>> periodic_autocorrelation(X, (8,))
    array([1., 1., 1., 1., 1., 1., 1., 1.])
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != int(np.prod(shape)):
        raise ValueError(f"X must have shape (P, {int(np.prod(shape))}), got {X.shape}")
    images = X.reshape((X.shape[0], *shape))
    axes = tuple(range(1, len(shape) + 1))
    spectrum = np.fft.rfftn(images, axes=axes)
    power = np.mean(np.abs(spectrum) ** 2, axis=0)
    return np.fft.irfftn(power, s=shape, axes=tuple(range(len(shape)))) / np.prod(shape)


class Ising(TorusModel):
    """Zero-field Ising model on a periodic ring (dim=1) or L x L torus (dim=2).

    Heat-bath (Glauber) single-spin updates in sequential sweeps, a
    Metropolis-Hastings chain: ``n_chains`` independent chains from random starts,
    ``burn_in`` sweeps each, then one sample every ``thin`` sweeps.  Sample
    rows cycle through the chains.  Single-spin dynamics slow down near the 2D critical
    point (T_c ~ 2.269) and for long 1D correlation lengths (relaxation
    ~ xi^2 sweeps): raise ``burn_in`` and ``thin`` there and check with
    ``equilibrium``.

    Parameters
    ----------
    L : int
        Sites per side (>= 2); D = L ** dim.
    temperature : float
        T > 0 in units of the coupling.
    dim : {1, 2}
    burn_in : int
        Sweeps discarded per chain (>= 0).
    thin : int
        Sweeps between kept samples of a chain (>= 1).
    n_chains : int
        Independent chains (>= 1); fixed, so results do not depend on threads.
    dtype : {'float64', 'float32'}

    Examples
    --------
    >>> import numpy as np
    >>> model = Ising(16, ising_temperature(2.0), burn_in=200)
    >>> X = model.sample(64, np.random.default_rng(0))
    >>> X.shape, sorted(np.unique(X).tolist())
    ((64, 16), [-1.0, 1.0])
    """

    name = "ising"

    def __init__(self, L, temperature, *, dim=1, burn_in=1000, thin=10, n_chains=16, dtype="float64"):
        super().__init__(L, dim=dim, dtype=dtype)
        self.temperature = check_real("temperature", temperature, positive=True)
        self.burn_in = check_int("burn_in", burn_in, minimum=0)
        self.thin = check_int("thin", thin, minimum=1)
        self.n_chains = check_int("n_chains", n_chains, minimum=1)

    @property
    def correlation_length(self) -> float:
        """xi(T) = -1 / ln tanh(1/T) of the infinite chain (1D only)."""
        self._require_1d("correlation_length")
        return ising_correlation_length(self.temperature)

    def _require_1d(self, what):
        if self.dim != 1:
            raise NotImplementedError(
                f"Ising.{what} is exact only for dim=1; for dim=2 estimate it from samples "
                "(e.g. GaussianClone(model, covariance=np.cov(X, rowvar=False)))"
            )

    def covariance_kernel(self) -> np.ndarray:
        """<s_0 s_d> = (t^d + t^(L-d)) / (1 + t^L), shape (L,), exact on the finite ring (1D only)."""
        self._require_1d("covariance_kernel")
        t = np.tanh(1.0 / self.temperature)
        d = np.arange(self.L)
        return (t**d + t ** (self.L - d)) / (1.0 + t**self.L)

    def covariance(self) -> np.ndarray:
        """Exact spin covariance, (D, D) (1D only)."""
        d = np.abs(np.subtract.outer(np.arange(self.L), np.arange(self.L)))
        return self.covariance_kernel()[d]

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        """Cumulants of a +-1 spin: (0, 1, 0, -2, 0, 16, 0, -272)[:max_order]."""
        max_order = check_int("max_order", max_order, minimum=1, maximum=8)
        raw = (np.arange(max_order + 1) % 2 == 0).astype(float)
        return cumulants_from_raw_moments(raw)

    def sample(self, P, rng) -> np.ndarray:
        """P spin configurations, ndarray of shape (P, D) with entries +-1."""
        P, rng = check_sample_args(P, rng)
        n_keep = -(-P // self.n_chains)
        seeds = rng.integers(1, 2**64 - 1, size=self.n_chains, dtype=np.uint64, endpoint=True)
        spins = 2 * rng.integers(0, 2, size=(self.n_chains, self.D), dtype=np.int64) - 1
        # Heat-bath (Glauber) flip probability 1 / (1 + exp(2 s h / T)).  Metropolis
        # min(1, exp(-2 s h / T)) with sequential sweeps is not ergodic in 1D: zero-energy
        # flips are always taken and domain walls ride along with the sweep.
        alignment = np.arange(-2 * self.dim, 2 * self.dim + 1)
        flip = 1.0 / (1.0 + np.exp(2.0 * alignment / self.temperature))
        out = np.empty((n_keep, self.n_chains, self.D), dtype=self.dtype)
        heat_bath_chains(spins, seeds, self.L, self.dim, flip, self.burn_in, self.thin, out)
        return out.reshape(-1, self.D)[:P]

    def equilibrium(self, X) -> dict:
        """Compare samples with the exact 1D nearest-neighbour correlation and correlation length.

        Parameters
        ----------
        X : ndarray of shape (P, D)
            Samples of this model.

        Returns
        -------
        dict with ``nn_correlation`` (measured <s_i s_i+1>), ``nn_correlation_exact``,
        ``nn_correlation_se`` (standard error treating rows as independent), ``z``
        (their difference in standard errors), ``correlation_length`` (-1/ln of the
        measured value) and ``correlation_length_exact`` (infinite chain).
        """
        self._require_1d("equilibrium")
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.D or X.shape[0] < 2:
            raise ValueError(f"X must have shape (P >= 2, {self.D}), got {X.shape}")
        per_sample = np.mean(X * np.roll(X, -1, axis=1), axis=1)
        measured = float(per_sample.mean())
        exact = float(self.covariance_kernel()[1])
        se = float(per_sample.std(ddof=1) / np.sqrt(len(per_sample)))
        return {
            "nn_correlation": measured,
            "nn_correlation_exact": exact,
            "nn_correlation_se": se,
            "z": (measured - exact) / se if se > 0 else 0.0,
            "correlation_length": -1.0 / np.log(measured) if 0 < measured < 1 else float("nan"),
            "correlation_length_exact": self.correlation_length,
        }

    def describe(self) -> dict:
        return super().describe() | {
            "temperature": self.temperature,
            "burn_in": self.burn_in,
            "thin": self.thin,
            "n_chains": self.n_chains,
        }
