"""Joint fourth cumulants of NLGP pixels, sample-free, and their contractions with receptive fields.

For x_i = psi(z_i), psi(z) = b erf(a z) (``nlgp.nonlinearity_parameters``) and latent z ~ N(0, C),
the excess kurtosis of a pre-activation lambda = w . x / sqrt(D) is

    gamma_2(w) = Q(w) / (w^T Sigma w)^2,   Q(w) = sum_ijkl w_i w_j w_k w_l T_ijkl,

with T_ijkl the joint fourth cumulant of four pixels (``theory/nlgp_cumulants.md``).

Each entry of T is exact here: along the path C(t) = I + t (C - I) (unit diagonal at every t,
independent pixels at t = 0) Price's theorem turns the fourth moment into a one-dimensional
integral of closed forms (two Gaussian factors psi' integrate out; the remaining pair of erfs
gives an arcsine), taken by Gauss-Legendre quadrature.

No D^4 tensor is formed.  The sums that need four distinct pixels use the exact T only for
triples of partners within ``radius`` of the first pixel; beyond it they use the two leading
families of Hermite diagrams, the stars (c_1^3 c_3, three single latent correlations from one
pixel) and the paths (c_1^2 c_3^2 / 2, a doubled correlation between two single ones), which
are convolutions on the ring or torus.  Inside the window those diagrams are subtracted from
the exact entries, so the window is exact and only what lies beyond it is approximated.
Sums with at most three distinct pixels (the second and third derivatives of Q) are exact on
the whole ring or torus.
"""

from __future__ import annotations

import functools
import itertools
import numbers
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.legendre import leggauss

from cavitykit.data.nlgp import gain_normalization, nonlinearity_parameters

# The slot pairs (p, q) whose Gaussian factors psi'(z_p) psi'(z_q) are integrated out, and the other two.
_PAIRINGS = ((0, 1, 2, 3), (0, 2, 1, 3), (0, 3, 1, 2), (1, 2, 0, 3), (1, 3, 0, 2), (2, 3, 0, 1))
# The twelve labelled paths a - b - c - d on four slots (one of each reversal pair).
_PATHS = tuple(p for p in itertools.permutations(range(4)) if p[0] < p[3])
# Default window: partners within this many correlation lengths of the first pixel are summed exactly.
DEFAULT_RADIUS_XI = 2.5


def window_radius(model, radius=None) -> float:
    """The window of the exact four-pixel sums: ``radius`` checked (> 0, inf allowed), or 2.5 xi."""
    if radius is None:
        return DEFAULT_RADIUS_XI * model.xi
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not radius > 0:
        raise ValueError(f"radius must be a number > 0 (inf for the whole ring or torus), got {radius!r}")
    return float(radius)


def interpolation_nodes(gain: float) -> int:
    """Gauss-Legendre nodes on the interpolation path: steeper erfs need more (``docs/performance.md``)."""
    return 24 if gain <= 10 else 48


def hermite_coefficients(gain: float) -> tuple[float, float]:
    """(c_1, c_3) = (E[psi'(z)], E[psi'''(z)]): the Hermite coefficients of the NLGP nonlinearity
    that the leading diagrams use.

    Examples
    --------
    >>> c1, c3 = hermite_coefficients(3.0)
    >>> round(float(c1**3 * c3), 4)  # the star coefficient at g = 3
    -0.5814
    """
    if gain == 0:
        return 1.0, 0.0
    slope, scale = nonlinearity_parameters(gain)
    front = scale * 2.0 * slope / np.sqrt(np.pi)
    return front / np.sqrt(1.0 + gain**2), -front * gain**2 / (1.0 + gain**2) ** 1.5


def joint_fourth_cumulant(correlations, gain: float, *, nodes: int | None = None) -> np.ndarray:
    """Exact joint fourth cumulant of four NLGP pixels from their latent correlations.

    Parameters
    ----------
    correlations : array_like of shape (..., 4, 4)
        Latent correlation matrices of the four pixels (unit diagonal; a pixel taken twice has
        correlation 1 with itself).
    gain : float
        The NLGP gain g >= 0.
    nodes : int, optional
        Gauss-Legendre nodes on the interpolation path; by default ``interpolation_nodes(gain)``.

    Returns
    -------
    ndarray of shape (...)
        kappa(x_1, x_2, x_3, x_4).

    Examples
    --------
    Four copies of one pixel give its marginal fourth cumulant:

    >>> from cavitykit.data import marginal_cumulants
    >>> value = joint_fourth_cumulant(np.ones((4, 4)), 3.0)
    >>> bool(abs(value - marginal_cumulants(3.0, 4)[3]) < 1e-12)
    True
    """
    rho = np.asarray(correlations, dtype=np.float64)
    if rho.shape[-2:] != (4, 4):
        raise ValueError(f"correlations must have shape (..., 4, 4), got {rho.shape}")
    if gain == 0:
        return np.zeros(rho.shape[:-2])
    g2 = gain**2
    pixel_variance = 1.0 / gain_normalization(gain)  # b^2
    # Path t = 1 - u^2 puts the nodes where the arcsine steepens (coinciding pixels, t -> 1).
    u, weight = leggauss(nodes or interpolation_nodes(gain))
    u, weight = (u + 1) / 2, weight / 2
    t_values, t_weights = 1 - u * u, 2 * u * weight
    # psi'(z) = b a (2 / sqrt pi) exp(-a^2 z^2) twice, then E[erf erf] = (2 / pi) arcsin(...)
    front = pixel_variance * (2.0 / np.pi) * pixel_variance * g2 * (2.0 / np.pi)
    e = 1.0 + 1.0 / g2
    moment = np.zeros(rho.shape[:-2])
    for p, q, c, d in _PAIRINGS:
        r_pq = rho[..., p, q]
        for t, t_weight in zip(t_values, t_weights, strict=True):
            s = t * r_pq
            det = e * e - s * s
            inv_diag, inv_off = e / det, -s / det
            cp, cq, dp, dq = (t * rho[..., i, j] for i, j in ((c, p), (c, q), (d, p), (d, q)))

            def form(x1, x2, y1, y2, inv_diag=inv_diag, inv_off=inv_off):
                return x1 * (inv_diag * y1 + inv_off * y2) + x2 * (inv_off * y1 + inv_diag * y2)

            # Covariance of (z_c, z_d) after the two Gaussian factors at p and q.
            s_cc = 1.0 - form(cp, cq, cp, cq)
            s_dd = 1.0 - form(dp, dq, dp, dq)
            s_cd = t * rho[..., c, d] - form(cp, cq, dp, dq)
            arcsine = np.arcsin(g2 * s_cd / np.sqrt((1.0 + g2 * s_cc) * (1.0 + g2 * s_dd)))
            moment += t_weight * r_pq * front / np.sqrt((1.0 + g2) ** 2 - g2 * g2 * s * s) * arcsine

    def covariance(i, j):
        return pixel_variance * (2.0 / np.pi) * np.arcsin(g2 * rho[..., i, j] / (1.0 + g2))

    return moment - sum(covariance(0, i) * covariance(*(k for k in (1, 2, 3) if k != i)) for i in (1, 2, 3))


def leading_diagrams(correlations, gain: float) -> np.ndarray:
    """The stars and paths of the Hermite expansion of the joint fourth cumulant, shape (...).

    c_1^3 c_3 times the four stars rho_ab rho_ac rho_ad, plus c_1^2 c_3^2 / 2 times the twelve
    paths rho_ab rho_bc^2 rho_cd: the part of T that ``FieldCumulants`` sums beyond its window.
    """
    rho = np.asarray(correlations, dtype=np.float64)
    c1, c3 = hermite_coefficients(gain)
    stars = sum(np.prod([rho[..., a, b] for b in range(4) if b != a], axis=0) for a in range(4))
    paths = sum(rho[..., a, b] * rho[..., b, c] ** 2 * rho[..., c, d] for a, b, c, d in _PATHS)
    return c1**3 * c3 * stars + c1**2 * c3**2 / 2 * paths


def _offsets(shape: tuple[int, ...], radius: float) -> np.ndarray:
    """Periodic displacements of length <= radius, shape (n, dim), the origin first, nearest first."""
    axes = [np.where(np.arange(L) > L // 2, np.arange(L) - L, np.arange(L)) for L in shape]
    grid = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, len(shape))
    length2 = (grid**2).sum(axis=1)
    order = np.argsort(length2, kind="stable")
    return grid[order][length2[order] <= radius**2]


@dataclass(frozen=True)
class FieldCumulants:
    """The quartic form Q(w) = sum T_ijkl w_i w_j w_k w_l of an NLGP and its derivatives, per unit.

    Attributes
    ----------
    quartic : ndarray of shape (K,)
        Q(w_k).
    first : ndarray of shape (K, D)
        A_kj = sum_lmn T_jlmn w_kl w_km w_kn (a quarter of dQ/dw_kj).
    second : ndarray of shape (K, D)
        B_kj = sum_mn T_jjmn w_km w_kn.
    third : ndarray of shape (K, D)
        E_kj = sum_n T_jjjn w_kn.
    fourth : float
        T_jjjj, the pixel's marginal fourth cumulant.
    variance : ndarray of shape (K,)
        w_k^T Sigma w_k.
    sigma_w : ndarray of shape (K, D)
        (Sigma w_k)_j.
    """

    quartic: np.ndarray
    first: np.ndarray
    second: np.ndarray
    third: np.ndarray
    fourth: float
    variance: np.ndarray
    sigma_w: np.ndarray

    @property
    def excess_kurtosis(self) -> np.ndarray:
        """gamma_2 of each unit's pre-activation, shape (K,); NaN for an all-zero field."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return self.quartic / self.variance**2

    def removal_change(self, weights: np.ndarray) -> np.ndarray:
        """Change of gamma_2 when weight (k, j) alone is set to zero, shape (K, D).

        Q changes by dQ = -4 w_j A_j + 6 w_j^2 B_j - 4 w_j^3 E_j + w_j^4 T_jjjj and v = w^T Sigma w by
        dv = -2 w_j (Sigma w)_j + w_j^2; the change of Q / v^2 is taken as
        (dQ v^2 - Q dv (2 v + dv)) / (v^2 (v + dv)^2), which keeps the effect of a tiny weight to its own
        relative precision (the difference of the two ratios would leave only rounding).  NaN where
        nothing remains.
        """
        w = weights
        quartic = self.quartic[:, None]
        variance = self.variance[:, None]
        d_quartic = -4 * w * self.first + 6 * w**2 * self.second - 4 * w**3 * self.third + w**4 * self.fourth
        d_variance = -2 * w * self.sigma_w + w**2
        removed_variance = variance + d_variance
        with np.errstate(invalid="ignore", divide="ignore"):
            change = (d_quartic * variance**2 - quartic * d_variance * (2 * variance + d_variance)) / (
                variance**2 * removed_variance**2
            )
            return np.where(removed_variance > 1e-12 * variance, change, np.nan)


class _Torus:
    """Site bookkeeping on the model's ring or torus: flat indices, displacements, point symmetries."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = shape
        self.size = int(np.prod(shape))
        coordinates = np.indices(shape).reshape(len(shape), -1).T  # (D, dim)
        self.coordinates = coordinates
        # Point symmetries of the square lattice that fix the origin (reflections, and the swap in 2D).
        maps = []
        for signs in itertools.product((1, -1), repeat=len(shape)):
            for axes in itertools.permutations(range(len(shape))):
                maps.append(self.flat(coordinates[:, axes] * np.array(signs)))
        self.symmetries = np.unique(np.array(maps), axis=0)  # (G, D)

    def flat(self, coordinates: np.ndarray) -> np.ndarray:
        """Flat site index of integer coordinates (..., dim), taken modulo the side."""
        return np.ravel_multi_index(tuple(np.moveaxis(coordinates % np.array(self.shape), -1, 0)), self.shape)

    def displacement(self, sites_from: np.ndarray, sites_to: np.ndarray) -> np.ndarray:
        """Flat index of the displacement between two arrays of flat sites."""
        return self.flat(self.coordinates[sites_to] - self.coordinates[sites_from])

    def patches(self, offsets: np.ndarray) -> np.ndarray:
        """Site j + offset a for every site j and offset a, shape (D, n)."""
        return self.flat(self.coordinates[:, None, :] + offsets[None, :, :])

    def convolve(self, kernel: np.ndarray, fields: np.ndarray) -> np.ndarray:
        """sum_l kernel(j - l) f_l for each row of ``fields`` (K, D), by the FFT."""
        axes = tuple(range(1, len(self.shape) + 1))
        spectrum = np.fft.rfftn(kernel.reshape(self.shape))
        transformed = np.fft.rfftn(fields.reshape((-1, *self.shape)), axes=axes) * spectrum
        return np.fft.irfftn(transformed, s=self.shape, axes=axes).reshape(fields.shape)


def _origin_table(torus: _Torus, latent: np.ndarray, partners: np.ndarray, gain: float, subtract) -> np.ndarray:
    """T(0, s_1, s_2, s_3) - subtract(...) for rows of partner sites (N, 3), evaluated once per
    class of rows that the lattice's point symmetries and the partners' order map onto each other."""
    keys = None
    for symmetry in torus.symmetries:
        moved = np.sort(symmetry[partners], axis=1).astype(np.int64)
        key = (moved[:, 0] * torus.size + moved[:, 1]) * torus.size + moved[:, 2]
        keys = key if keys is None else np.minimum(keys, key)
    unique, inverse = np.unique(keys, return_inverse=True)
    sites = np.stack(
        [np.zeros_like(unique), unique // torus.size**2, unique // torus.size % torus.size, unique % torus.size], axis=1
    )
    rho = latent[torus.displacement(sites[:, :, None], sites[:, None, :])]  # (U, 4, 4)
    return (joint_fourth_cumulant(rho, gain) - subtract(rho))[inverse.ravel()]


@functools.lru_cache(maxsize=4)
def _exact_tables(L: int, dim: int, xi: float, gain: float, radius: float):
    """What ``field_cumulants`` needs of the model alone, computed once per model and window (the
    layers of a run share them): T(0, 0, a, b) on the whole torus (D, D) with its patches (D, D), and
    T(0, a, b, c) less the stars and paths in the window (n^2, n) with its patches (D, n)."""
    from cavitykit.data.nlgp import NLGP

    model = NLGP(L, xi, gain, dim=dim)
    torus = _Torus(model.shape)
    latent = model.latent_kernel().ravel()
    # Three distinct pixels at most: T(j, j, j + a, j + b) exact on the whole torus.
    everywhere = _offsets(model.shape, np.inf)
    sites = torus.flat(everywhere)
    pairs = np.stack(np.meshgrid(np.zeros(1, int), sites, sites, indexing="ij"), axis=-1).reshape(-1, 3)
    pair_table = _origin_table(torus, latent, pairs, gain, lambda rho: 0.0).reshape(model.D, model.D)
    # Four distinct pixels: exact inside the window, stars and paths beyond it.
    window = _offsets(model.shape, radius)
    n = len(window)
    window_sites = torus.flat(window)
    triples = np.stack(np.meshgrid(window_sites, window_sites, window_sites, indexing="ij"), axis=-1).reshape(-1, 3)
    correction = _origin_table(torus, latent, triples, gain, lambda rho: leading_diagrams(rho, gain))
    tables = pair_table, torus.patches(everywhere), correction.reshape(n * n, n), torus.patches(window)
    for table in tables:
        table.setflags(write=False)  # shared by every later call with the same model
    return tables


def field_cumulants(model, weights: np.ndarray, *, radius: float | None = None) -> FieldCumulants:
    """Q(w), its derivatives and w^T Sigma w for every unit of a layer on an NLGP, sample-free.

    Parameters
    ----------
    model : cavitykit.data.NLGP
    weights : ndarray of shape (K, D)
        Float64 fields, pruned entries zero.
    radius : float, optional
        Partners of the first pixel within this periodic distance enter the four-pixel sums exactly;
        by default 2.5 xi.  A radius covering the whole ring or torus makes every sum exact.

    Returns
    -------
    FieldCumulants
    """
    torus = _Torus(model.shape)
    latent = model.latent_kernel().ravel()
    sigma_kernel = model.covariance_kernel().ravel()
    sigma_w = torus.convolve(sigma_kernel, weights)
    variance = np.einsum("kd,kd->k", weights, sigma_w)
    K, D = weights.shape
    if model.gain == 0:
        zeros = np.zeros((K, D))
        return FieldCumulants(np.zeros(K), zeros, zeros, zeros, 0.0, variance, sigma_w)
    tables = _exact_tables(model.L, model.dim, model.xi, model.gain, window_radius(model, radius))
    pair_table, all_patches, correction, window_patches = tables
    n = window_patches.shape[1]
    gain = model.gain

    c1, c3 = hermite_coefficients(gain)
    squared = latent**2
    first, second, third = (np.empty((K, D)) for _ in range(3))
    for k, w in enumerate(weights):
        cw = torus.convolve(latent, w)
        c2_wcw = torus.convolve(squared, w * cw)
        stars = cw**3 + 3 * torus.convolve(latent, w * cw**2)
        paths = 6 * (torus.convolve(latent, w * c2_wcw) + cw * c2_wcw)
        local = w[window_patches]  # (D, n)
        partial = (correction @ local.T).reshape(n, n, D)  # sum over the third partner
        inside = np.einsum("abj,ja,jb->j", partial, local, local, optimize=True)
        first[k] = c1**3 * c3 * stars + c1**2 * c3**2 / 2 * paths + inside
        everywhere_w = w[all_patches]  # (D, D)
        second[k] = np.einsum("ja,ab,jb->j", everywhere_w, pair_table, everywhere_w, optimize=True)
        third[k] = everywhere_w @ pair_table[0]
    quartic = np.einsum("kd,kd->k", weights, first)
    return FieldCumulants(quartic, first, second, third, float(pair_table[0, 0]), variance, sigma_w)
