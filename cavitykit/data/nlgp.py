"""Nonlinear Gaussian process (NLGP), independent-pixel control, and the Gaussian clone.

Conventions (``docs/data.md``; the Ingrosso-Goldt gain, chosen):
latent z ~ N(0, C) on a ring of L sites or an L x L torus with
C_ij = exp(-d_ij^2 / xi^2), d the periodic distance; pixels
x_i = erf(g z_i / sqrt 2) / sqrt(gamma(g)), gamma(g) = (2/pi) arcsin(g^2 / (1 + g^2)),
so Var(x_i) = 1 and Cov(x_i, x_j) = (2 / (pi gamma)) arcsin(g^2 C_ij / (1 + g^2)).
Negative eigenvalues of C (rounding, or xi comparable to L) are clipped to 0 and
C is renormalized to unit diagonal, so sampling and the analytic formulas agree exactly.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import scipy.integrate
import scipy.special

from cavitykit._validation import check_choice, check_int, check_real
from cavitykit.data._base import TorusModel, check_sample_args
from cavitykit.data._circulant import (
    circulant_from_kernel,
    kernel_eigenvalues,
    ring_distance,
    sample_circulant,
)
from cavitykit.variants import SAMPLE_MODELS


def gain_normalization(gain: float) -> float:
    """gamma(g) = (2/pi) arcsin(g^2 / (1 + g^2)): the variance of erf(g z / sqrt 2).

    Examples
    --------
    >>> round(float(gain_normalization(3.0)), 4)  # Var erf(3 z / sqrt 2)
    0.7129
    """
    return 2.0 / np.pi * np.arcsin(gain**2 / (1.0 + gain**2))


def nonlinearity_parameters(gain: float) -> tuple[float, float]:
    """(a, b) with f(z) = b erf(a z) the NLGP nonlinearity; (0, 1) stands for the identity (g = 0).

    Examples
    --------
    >>> slope, scale = nonlinearity_parameters(3.0)
    >>> round(float(slope), 4), round(float(scale), 4)  # g / sqrt 2, 1 / sqrt(gamma(g))
    (2.1213, 1.1844)
    """
    if gain == 0:
        return 0.0, 1.0
    return gain / np.sqrt(2.0), 1.0 / np.sqrt(gain_normalization(gain))


def nlgp_nonlinearity(z: np.ndarray, gain: float) -> np.ndarray:
    """x = erf(g z / sqrt 2) / sqrt(gamma(g)), the identity at g = 0 (its limit), dtype kept.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(nlgp_nonlinearity(np.array([-10.0, 0.0, 10.0]), 3.0), 4)  # saturates at +-1/sqrt(gamma)
    array([-1.1844,  0.    ,  1.1844])
    """
    if gain == 0:
        return z
    slope, scale = nonlinearity_parameters(gain)
    return scipy.special.erf(z * np.asarray(slope, dtype=z.dtype)) * np.asarray(scale, dtype=z.dtype)


def marginal_cumulants(gain: float, max_order: int = 8) -> np.ndarray:
    """Exact cumulants kappa_1..kappa_max of one NLGP pixel (a 1-D Gaussian integral).

    Raw moments E[x^r] = int f(z)^r phi(z) dz by adaptive quadrature to 1e-13,
    then the moment-to-cumulant recursion.  Odd orders vanish by symmetry.

    Returns
    -------
    ndarray of shape (max_order,): ``out[n - 1]`` is kappa_n.

    Examples
    --------
    >>> import numpy as np
    >>> np.round(marginal_cumulants(3.0, 8), 3)  # kappa_1..kappa_8 of one pixel at g = 3
    array([   0.   ,    1.   ,    0.   ,   -1.757,    0.   ,   12.974,
              0.   , -205.2  ])
    """
    max_order = check_int("max_order", max_order, minimum=1, maximum=8)
    gain = check_real("gain", gain, nonnegative=True)
    raw = np.zeros(max_order + 1)
    raw[0] = 1.0
    for r in range(2, max_order + 1, 2):
        if gain == 0:
            raw[r] = scipy.special.factorial2(r - 1)
            continue

        def integrand(z, r=r):
            return nlgp_nonlinearity(np.array(z), gain) ** r * np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi)

        value, _ = scipy.integrate.quad(integrand, 0.0, np.inf, epsabs=1e-14, epsrel=1e-13, limit=200)
        raw[r] = 2.0 * value
    return cumulants_from_raw_moments(raw)


def cumulants_from_raw_moments(raw: np.ndarray) -> np.ndarray:
    """kappa_1..kappa_n from raw moments E[x^0..x^n] (``raw[0]`` = 1), shape (n,).

    The recursion kappa_n = mu'_n - sum_{m<n} C(n-1, m-1) kappa_m mu'_{n-m}.

    Examples
    --------
    >>> import numpy as np
    >>> cumulants_from_raw_moments(np.array([1.0, 0.0, 1.0, 0.0, 3.0]))  # standard normal
    array([0., 1., 0., 0.])
    """
    kappa = np.zeros(len(raw))
    for n in range(1, len(raw)):
        kappa[n] = raw[n] - sum(scipy.special.comb(n - 1, m - 1) * kappa[m] * raw[n - m] for m in range(1, n))
    return kappa[1:]


class NLGP(TorusModel):
    """Nonlinear Gaussian process NLGP(xi, g) on a ring (dim=1) or torus (dim=2).

    Parameters
    ----------
    L : int
        Sites per side (>= 2); D = L ** dim.
    xi : float
        Correlation length of the latent process (> 0).
    gain : float
        Nonlinearity gain g >= 0: 0 is Gaussian, 1 gives Uniform[-sqrt 3, sqrt 3]
        marginals, large g gives +-1 pixels.
    dim : {1, 2}
    dtype : {'float64', 'float32'}
        dtype of the samples.

    Examples
    --------
    >>> model = NLGP(20, 2.0, 3.0, dim=2)
    >>> X = model.sample(1000, np.random.default_rng(0))   # (1000, 400)
    """

    name = "nlgp"

    def __init__(self, L, xi, gain, *, dim=1, dtype="float64"):
        super().__init__(L, dim=dim, dtype=dtype)
        self.xi = check_real("xi", xi, positive=True)
        self.gain = check_real("gain", gain, nonnegative=True)

    @cached_property
    def _latent_eigenvalues_1d(self) -> np.ndarray:
        eigenvalues = np.clip(kernel_eigenvalues(np.exp(-(ring_distance(self.L) ** 2) / self.xi**2)), 0.0, None)
        return eigenvalues / eigenvalues.mean()  # unit diagonal after clipping

    @cached_property
    def latent_eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the latent covariance C, shape (L,) or (L, L) (Kronecker in 2D)."""
        lam = self._latent_eigenvalues_1d
        return lam if self.dim == 1 else np.multiply.outer(lam, lam)

    def latent_kernel(self) -> np.ndarray:
        """C(displacement), shape (L,) or (L, L): the first row of the latent covariance."""
        return np.real(np.fft.ifftn(self.latent_eigenvalues))

    def latent_covariance(self) -> np.ndarray:
        """The latent covariance C, (D, D), unit diagonal."""
        return circulant_from_kernel(self.latent_kernel())

    def covariance_kernel(self) -> np.ndarray:
        """Sigma(displacement) of the pixels, shape (L,) or (L, L) (arcsine formula)."""
        kernel = self.latent_kernel()
        if self.gain == 0:
            return kernel
        g2 = self.gain**2
        return 2.0 / (np.pi * gain_normalization(self.gain)) * np.arcsin(g2 * kernel / (1.0 + g2))

    def covariance(self) -> np.ndarray:
        """Analytic pixel covariance Sigma, (D, D), unit diagonal."""
        return circulant_from_kernel(self.covariance_kernel())

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        """Exact cumulants of one pixel, shape (max_order,) (see ``marginal_cumulants``)."""
        return marginal_cumulants(self.gain, max_order)

    def preactivation_excess_kurtosis(self, weights, *, radius=None) -> np.ndarray:
        """Analytic excess kurtosis of lambda = w . x / sqrt(D) for each field, sample-free.

        gamma_2 = sum_ijkl T_ijkl w_i w_j w_k w_l / (w^T Sigma w)^2 with T the pixels' joint fourth
        cumulants (``nlgp_cumulants.field_cumulants``; ``theory/nlgp_cumulants.md``).  Divided by
        kappa_x * IPR(w), its value for independent pixels, it is the field's coherence factor.

        Parameters
        ----------
        weights : array_like of shape (K, D) or (D,)
        radius : float, optional
            Window of the exact four-pixel sums (default 2.5 xi); see ``field_cumulants``.

        Returns
        -------
        ndarray of shape (K,) or a float for one field; NaN for an all-zero field.

        Examples
        --------
        A field narrower than xi is nearly as non-Gaussian as one pixel (kappa_x = -1.757 at g = 3):

        >>> import numpy as np
        >>> model = NLGP(32, 2.0, 3.0)
        >>> bump = np.exp(-np.minimum(np.arange(32), 32 - np.arange(32)) ** 2 / 2.0)
        >>> round(float(model.preactivation_excess_kurtosis(bump)), 3)
        -1.454
        """
        from cavitykit.data.nlgp_cumulants import field_cumulants

        fields = np.asarray(weights, dtype=np.float64)
        single = fields.ndim == 1
        fields = np.atleast_2d(fields)
        if fields.ndim != 2 or fields.shape[1] != self.D:
            raise ValueError(f"weights must have shape (K, {self.D}) or ({self.D},), got {np.shape(weights)}")
        if not np.isfinite(fields).all():
            raise ValueError("weights contain NaN or inf")
        gamma = field_cumulants(self, fields, radius=radius).excess_kurtosis
        return float(gamma[0]) if single else gamma

    def sample(self, P, rng) -> np.ndarray:
        """P independent images, ndarray of shape (P, D), rows in C order of ``shape``."""
        P, rng = check_sample_args(P, rng)
        slope, scale = nonlinearity_parameters(self.gain)
        return sample_circulant(self.latent_eigenvalues, P, rng, self.dtype, gain=slope, scale=scale)

    def describe(self) -> dict:
        return super().describe() | {"xi": self.xi, "gain": self.gain}


class IndependentPixels(TorusModel):
    """NLGP marginals with no spatial correlation: x_i = f(z_i), z_i i.i.d. N(0, 1).

    The setting in which the independent-input cavity theory is exact
    (``theory/cavity.md``, section 3).  Same parameters as ``NLGP`` without ``xi``.

    Examples
    --------
    >>> import numpy as np
    >>> model = IndependentPixels(16, 3.0)
    >>> x = model.sample(50_000, np.random.default_rng(0))
    >>> x.shape, bool(np.allclose(model.covariance(), np.eye(16)))
    ((50000, 16), True)
    """

    name = "independent_pixels"

    def __init__(self, L, gain, *, dim=1, dtype="float64"):
        super().__init__(L, dim=dim, dtype=dtype)
        self.gain = check_real("gain", gain, nonnegative=True)

    def covariance(self) -> np.ndarray:
        return np.eye(self.D)

    def covariance_kernel(self) -> np.ndarray:
        kernel = np.zeros(self.shape)
        kernel[(0,) * self.dim] = 1.0
        return kernel

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        return marginal_cumulants(self.gain, max_order)

    def sample(self, P, rng) -> np.ndarray:
        P, rng = check_sample_args(P, rng)
        return nlgp_nonlinearity(rng.standard_normal((P, self.D), dtype=self.dtype), self.gain)

    def describe(self) -> dict:
        return super().describe() | {"gain": self.gain}


class GaussianClone:
    """Gaussian with the exact mean (zero) and covariance of another model.

    Every cumulant of order >= 3 is zero: the control for claim 1 of
    ``docs/report.md``.  Models on a ring or torus (those with ``covariance_kernel``)
    are sampled exactly through the FFT; others through an eigendecomposition
    of ``model.covariance()`` (or of ``covariance`` if given).

    Parameters
    ----------
    model : data model
        Any object with ``covariance()``, ``D`` and ``describe()``.
    covariance : ndarray of shape (D, D), optional
        Use this instead of ``model.covariance()`` (e.g. an estimate).

    Examples
    --------
    >>> import numpy as np
    >>> model = NLGP(16, 2.0, 3.0)
    >>> clone = GaussianClone(model)
    >>> bool(np.allclose(clone.covariance(), model.covariance())), clone.marginal_cumulants(4)[3]
    (True, np.float64(0.0))
    """

    name = "gaussian_clone"

    def __init__(self, model, *, covariance=None):
        self.model = model
        self.D = model.D
        self.dtype = np.dtype(getattr(model, "dtype", np.float64))
        self._covariance = None if covariance is None else np.asarray(covariance, dtype=np.float64)
        self._eigenvalues = None
        self._factor = None
        if covariance is None and hasattr(model, "covariance_kernel"):
            self._eigenvalues = np.clip(kernel_eigenvalues(model.covariance_kernel()), 0.0, None)
        else:
            matrix = self.covariance()
            if matrix.shape != (self.D, self.D):
                raise ValueError(f"covariance must have shape ({self.D}, {self.D}), got {matrix.shape}")
            values, vectors = np.linalg.eigh(matrix)
            self._factor = vectors * np.sqrt(np.clip(values, 0.0, None))

    @property
    def shape(self):
        return getattr(self.model, "shape", (self.D,))

    def covariance(self) -> np.ndarray:
        """The covariance the clone is sampled with, (D, D)."""
        if self._covariance is not None:
            return self._covariance
        return self.model.covariance()

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        """kappa_1..kappa_max of one pixel: (0, Sigma_ii, 0, 0, ...)."""
        out = np.zeros(check_int("max_order", max_order, minimum=1, maximum=8))
        if max_order >= 2:
            out[1] = float(np.mean(np.diag(self.covariance())))
        return out

    def sample(self, P, rng) -> np.ndarray:
        """P samples, ndarray of shape (P, D)."""
        P, rng = check_sample_args(P, rng)
        if self._eigenvalues is not None:
            return sample_circulant(self._eigenvalues, P, rng, self.dtype)
        noise = rng.standard_normal((P, self.D), dtype=self.dtype)
        return noise @ self._factor.T.astype(self.dtype)

    def describe(self) -> dict:
        inner = {f"clone_of_{key}": value for key, value in self.model.describe().items()}
        return {"data_model": self.name, "D": self.D, "dtype": self.dtype.name} | inner


def named_model(name: str, n_inputs: int, *, dim: int = 1, xi: float = 1.0, gain: float = 3.0):
    """A data model by name, on the ring or torus that has ``n_inputs`` pixels.

    Parameters
    ----------
    name : {'nlgp', 'gaussian_clone', 'independent_pixels'}
        NLGP(xi, gain), its Gaussian clone, or pixels with NLGP marginals and no correlation.
    n_inputs : int
        D = L**dim.
    dim : {1, 2}
    xi, gain : float

    Returns
    -------
    A data model with ``sample(P, rng)`` -> ndarray of shape (P, D).

    Examples
    --------
    >>> named_model("nlgp", 400, dim=2, xi=2.0).shape  # a 20 x 20 torus
    (20, 20)
    """
    check_choice("model", name, SAMPLE_MODELS)
    side = round(n_inputs ** (1 / dim))
    if side**dim != n_inputs:
        raise ValueError(f"a {dim}D model needs D = L**{dim} inputs; the weights have D = {n_inputs}")
    if name == "independent_pixels":
        return IndependentPixels(side, gain, dim=dim)
    model = NLGP(side, xi, gain, dim=dim)
    return model if name == "nlgp" else GaussianClone(model)
