# %% [markdown]
# # Check 5: correlated NLGP inputs
#
# Numerical check of [derivation 5](nlgp_cumulants.md). The pixel fourth-cumulant tensor $T_{ijkl}$ of a
# ring NLGP is computed from the theory alone (Hermite diagrams for four distinct pixels, low-dimensional
# Gaussian quadrature where pixels coincide); from it, the excess kurtosis of $\lambda = w\cdot x/\sqrt D$
# and every cavity effect, compared with samples and with `cavity.exact`.

# %%
import itertools
import math

import matplotlib.pyplot as plt
import numpy as np
from numpy.polynomial.hermite_e import hermegauss, hermeval

import cavitykit
from cavitykit import cavity
from cavitykit.data import NLGP
from cavitykit.data.nlgp import nlgp_nonlinearity

L, XI, GAIN, P = 32, 2.0, 3.0, 400_000
MAX_DEGREE = 9  # Hermite order kept at each vertex of a diagram
model = NLGP(L, XI, GAIN)
C = model.latent_covariance()  # (L, L) latent correlations rho_ij
Sigma = model.covariance()  # (L, L) arcsine-law pixel covariance (derivation 1)


def psi(z):
    return nlgp_nonlinearity(z, GAIN)


# %% [markdown]
# ## Hermite coefficients and connected diagrams
# $\psi(z) = \sum_n \frac{c_n}{n!}\mathrm{He}_n(z)$, $c_n = \mathbb E[\psi(u)\mathrm{He}_n(u)]$; odd $\psi$: only
# odd $n$. A diagram is a multigraph $m_{ab}$ on the four vertices, connected, every degree $d_a$ odd and
# at most `MAX_DEGREE`; it contributes $\prod_a c_{d_a}\prod_{a<b}\rho_{ab}^{m_{ab}}/m_{ab}!$.

# %%
nodes, gauss_weights = hermegauss(160)
gauss_weights = gauss_weights / np.sqrt(2 * np.pi)
c = np.array([gauss_weights @ (psi(nodes) * hermeval(nodes, np.eye(MAX_DEGREE + 1)[n])) for n in range(MAX_DEGREE + 1)])
PAIRS = list(itertools.combinations(range(4), 2))


def connected(m):
    seen, grown = {0}, True
    while grown:
        grown = False
        for (a, b), k in zip(PAIRS, m, strict=True):
            if k and (a in seen) != (b in seen):
                seen |= {a, b}
                grown = True
    return len(seen) == 4


diagrams = []  # (multiplicities m_ab over PAIRS, coefficient prod c_d / prod m!)
for m in itertools.product(range(MAX_DEGREE + 1), repeat=6):
    degree = [sum(k for (a, b), k in zip(PAIRS, m, strict=True) if v in (a, b)) for v in range(4)]
    if all(d % 2 == 1 and d <= MAX_DEGREE for d in degree) and connected(m):
        diagrams.append((m, math.prod(c[d] for d in degree) / math.prod(math.factorial(k) for k in m)))
print(f"{len(diagrams)} connected diagrams; leading (star) coefficient c_1^3 c_3 = {c[1] ** 3 * c[3]:.4f}")

# %% [markdown]
# ## The tensor, by translation invariance: $T_{ijkl} = T_{0,\,j-i,\,k-i,\,l-i}$
# Four distinct pixels: the diagram sum. Coinciding pixels ($\rho = 1$, where the series converges too
# slowly): the joint cumulant $\mathbb E[x_ax_bx_cx_d] - \mathbb E[x_ax_b]\mathbb E[x_cx_d] - \ldots$ by
# tensor-product Gauss-Hermite quadrature over the two or three distinct latent values.

# %%
offsets = np.stack(np.meshgrid(*[np.arange(L)] * 3, indexing="ij")).reshape(3, -1)
tuples = np.vstack([np.zeros(offsets.shape[1], int), offsets])  # (4, L^3): (0, j, k, l)
n_distinct = np.array([len(set(t)) for t in tuples.T])
T0 = np.zeros(tuples.shape[1])

four = n_distinct == 4
rho = {p: C[tuples[p[0], four], tuples[p[1], four]] for p in PAIRS}
for m, coefficient in diagrams:
    term = np.full(four.sum(), coefficient)
    for p, k in zip(PAIRS, m, strict=True):
        if k:
            term *= rho[p] ** k
    T0[four] += term

NODES = {1: 120, 2: 100, 3: 48}  # quadrature nodes per latent dimension
moments_cache, cumulant_cache = {}, {}


def pixel_values(sites):
    """psi(z) at the quadrature nodes for the distinct sites, and the quadrature weights."""
    if sites not in moments_cache:
        nodes_d, weights_d = hermegauss(NODES[len(sites)])
        grid = np.stack([g.ravel() for g in np.meshgrid(*[nodes_d] * len(sites), indexing="ij")])
        weight = np.prod(np.meshgrid(*[weights_d / np.sqrt(2 * np.pi)] * len(sites), indexing="ij"), 0).ravel()
        latent = np.linalg.cholesky(C[np.ix_(sites, sites)]) @ grid
        moments_cache[sites] = (dict(zip(sites, psi(latent), strict=True)), weight)
    return moments_cache[sites]


def canonical(t):
    """The same tuple moved by the ring's symmetries (rotations, reflection) to a representative."""
    images = [tuple(sorted((sign * (v - s)) % L for v in t)) for s in set(t) for sign in (1, -1)]
    return min(images)


def fourth_cumulant(t):
    key = canonical(t)
    if key not in cumulant_cache:
        values, weight = pixel_values(tuple(sorted(set(key))))

        def moment(*ix):
            return weight @ np.prod([values[i] for i in ix], axis=0)

        a, b, cc, d = key
        cumulant_cache[key] = (
            moment(a, b, cc, d)
            - moment(a, b) * moment(cc, d)
            - moment(a, cc) * moment(b, d)
            - (moment(a, d) * moment(b, cc))
        )
    return cumulant_cache[key]


for n in np.flatnonzero(~four):
    T0[n] = fourth_cumulant(tuple(tuples[:, n]))
T0 = T0.reshape(L, L, L)
r = np.arange(L)
T = T0[
    (r[None, :, None, None] - r[:, None, None, None]) % L,
    (r[None, None, :, None] - r[:, None, None, None]) % L,
    (r[None, None, None, :] - r[:, None, None, None]) % L,
]  # (L, L, L, L)

kappa_x = model.marginal_cumulants(4)[3]
print(f"T_0000 = {T[0, 0, 0, 0]:.5f}, exact marginal kappa_4 = {kappa_x:.5f}")
assert abs(T[0, 0, 0, 0] - kappa_x) < 1e-3
assert np.abs(T - T.transpose(1, 0, 2, 3)).max() < 2e-3 and np.abs(T - T.transpose(0, 2, 1, 3)).max() < 2e-3

# %% [markdown]
# ## Excess kurtosis of $\lambda$: localized versus spread receptive fields
# $\gamma_2(\lambda) = \frac{\sum_{ijkl} w_iw_jw_kw_l T_{ijkl}}{(w^\top\Sigma w)^2}$, for Gaussian bumps
# $w_i = e^{-d_i^2/2\sigma^2}$ of width $\sigma$, against samples and against the independent-input law
# $\kappa_x\,\mathrm{IPR}(w)$ of derivation 4.

# %%
rng = np.random.default_rng(5)
X = model.sample(P, rng)  # (P, L)
distance = np.minimum(r, L - r)
widths = np.array([0.5, 1.0, 2.0, 4.0, 8.0, 16.0])
rows = []
for sigma in widths:
    w = np.exp(-(distance**2) / (2 * sigma**2))
    theory = np.einsum("ijkl,i,j,k,l", T, w, w, w, w, optimize=True) / (w @ Sigma @ w) ** 2
    batches = [cavitykit.kurtosis(b @ w / np.sqrt(L)) for b in np.array_split(X, 20)]
    rows.append(
        (sigma, (w**4).sum() / (w**2).sum() ** 2, theory, np.mean(batches), np.std(batches, ddof=1) / np.sqrt(20))
    )
print(" sigma    IPR   kappa_x IPR   theory   samples")
for sigma, ipr, theory, measured, se in rows:
    print(f"{sigma:6.1f} {ipr:6.3f} {kappa_x * ipr:10.4f} {theory:9.4f} {measured:9.4f} +- {se:.4f}")
rows = np.array(rows)
assert np.all(np.abs(rows[:, 2] - rows[:, 3]) < 5 * rows[:, 4] + 2e-3), "gamma_2(lambda) theory != samples"

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.errorbar(widths, rows[:, 3], 2 * rows[:, 4], fmt="o", label="samples")
ax.plot(widths, rows[:, 2], "-", label="NLGP theory (derivation 5)")
ax.plot(widths, kappa_x * rows[:, 1], "--", label=r"$\kappa_x\,$IPR (independent inputs)")
ax.axvline(XI, color="k", lw=0.8)
ax.set(xscale="log", xlabel=r"receptive-field width $\sigma$ (pixels)", ylabel=r"$\gamma_2(\lambda)$")
ax.legend()
plt.show()

# %% [markdown]
# ## Cavity effects
# Removing $w_j$: $\kappa_4 \to \kappa_4 - 4w_j(Twww)_j + 6w_j^2(Tww)_{jj} - 4w_j^3(Tw)_{jjj} + w_j^4T_{jjjj}$
# and $w^\top\Sigma w \to w^\top\Sigma w - 2w_j(\Sigma w)_j + w_j^2$. Compared with `cavity.exact` on the same
# samples, in units of `cavity.standard_error`, for a localized and a spread field.


# %%
def cavity_theory(w):
    Tw = np.einsum("ijkl,l->ijk", T, w)
    Tww, diag3 = Tw @ w, np.einsum("jjj->j", Tw)
    k4, k2 = Tww @ w @ w, w @ Sigma @ w
    k4_removed = (
        k4 - 4 * w * (Tww @ w) + 6 * w**2 * np.diagonal(Tww) - 4 * w**3 * diag3 + w**4 * np.einsum("jjjj->j", T)
    )
    k2_removed = k2 - 2 * w * (Sigma @ w) + w**2 * np.diagonal(Sigma)
    return k4_removed / k2_removed**2 - k4 / k2**2


fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
for ax, sigma in zip(axes, (1.0, 8.0), strict=True):
    w = np.exp(-(distance**2) / (2 * sigma**2))
    predicted = cavity_theory(w)
    measured = cavity.exact(w[None], X).values[0]
    se = cavity.standard_error(w[None], X).values[0]
    independent = cavity.independent_theory(w[None], kappa_x).values[0]
    z = (predicted - measured) / se
    print(
        f"sigma = {sigma}: largest effect {np.abs(measured).max():.4f}; "
        f"theory - exact: rms {np.sqrt(np.mean(z**2)):.2f} SE, max {np.abs(predicted - measured).max():.1e}; "
        "independent-input theory off by up to "
        f"{np.abs(independent - measured).max():.1e}"
    )
    assert np.all(np.abs(predicted - measured) < 5 * se + 2e-3 * np.abs(measured).max()), "cavity theory != exact"
    order = np.argsort(distance)
    ax.plot(distance[order], measured[order], "o", label="cavity.exact")
    ax.plot(distance[order], predicted[order], "-", label="NLGP theory")
    ax.plot(distance[order], independent[order], "--", label="independent inputs")
    ax.set(
        title=rf"$\sigma$ = {sigma}",
        xlabel="distance of the removed weight from the centre",
        ylabel=r"$\Delta\gamma_2$",
    )
axes[0].legend()
plt.show()

# %% [markdown]
# ## The library's sample-free form
# `cavity.nlgp_theory` computes the same effects without the tensor (exact entries by interpolation, the
# leading diagrams beyond a window of 2.5 xi; derivation 5, last section). Against the tensor above:

# %%
for sigma in (1.0, 8.0):
    w = np.exp(-(distance**2) / (2 * sigma**2))
    library = cavity.nlgp_theory(w[None], model).values[0]
    tensor = cavity_theory(w)
    difference = np.abs(library - tensor).max()
    print(f"sigma = {sigma}: largest difference {difference:.1e} (largest effect {np.abs(tensor).max():.3f})")
    assert np.abs(library - tensor).max() < 0.01 * np.abs(tensor).max()

# %% [markdown]
# ## On trained networks: the published `paper` run
# The `paper` report's weights file holds every round's NLGP networks (20 x 20 torus, xi = 1 and 3, g = 3)
# and the exact cavity effects measured on each class's held-out samples. The sample-free theory of each
# learned unit against them, at round 0 (dense) and round 8 (the report's last accurate round):

# %%
from pathlib import Path  # noqa: E402

from cavitykit import analysis  # noqa: E402
from cavitykit.io import open_weights  # noqa: E402

paper_file = next(
    p for p in (Path("../docs/results/paper/weights.nc"), Path("docs/results/paper/weights.nc")) if p.exists()
)
paper = open_weights(paper_file).sel(round=[0, 8])
learned = analysis.unit_measures(paper).learned.sel(variant="nlgp")
predicted = analysis.mechanism.correlated_theory(paper, "nlgp", learned.expand_dims(round=paper["round"].values))
measured = paper.cavity_exact.sel(variant="nlgp")
fig, axes = plt.subplots(1, 2, figsize=(9, 3.8))
for ax, r in zip(axes, (0, 8), strict=True):
    theory_r = predicted.delta.sel(round=r)
    x = theory_r.values.ravel()
    y = measured.sel(round=r).transpose(*theory_r.dims).values.ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    rho = np.corrcoef(x[ok], y[ok])[0, 1]
    print(f"round {r}: {ok.sum()} weights of learned units, correlation of predicted and exact effects {rho:.3f}")
    assert rho > 0.8, "the correlated theory does not describe the trained networks"
    ax.plot(x[ok], y[ok], ".", ms=2, alpha=0.4)
    ax.axline((0, 0), slope=1, color="k", lw=0.8)
    ax.set(title=f"paper, NLGP, round {r}", xlabel="nlgp theory Δγ2", ylabel="cavity.exact Δγ2 (held-out samples)")
plt.show()
