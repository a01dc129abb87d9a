# %% [markdown]
# # Check 1: the NLGP and its Gaussian clone
#
# Numerical check of [derivation 1](nlgp.md). Every formula is written out here, independently of
# cavitykit's implementation, and compared with cavitykit's samples and analytic methods. Any `assert`
# that fails stops the notebook (and `make test`).

# %%
import math

import matplotlib.pyplot as plt
import numpy as np
from scipy.special import erf

import cavitykit
from cavitykit.data import NLGP, GaussianClone

L, XI, GAIN, P = 32, 3.0, 3.0, 200_000
rng = np.random.default_rng(1)
model = NLGP(L, XI, GAIN)
X = model.sample(P, rng)  # (P, D)
C = model.latent_covariance()  # (D, D), unit diagonal

# %% [markdown]
# ## The arcsine law
# $\Sigma_{ij} = \frac{2}{\pi\gamma(g)} \arcsin\frac{g^2 C_{ij}}{1+g^2}$,
# $\gamma(g) = \frac{2}{\pi}\arcsin\frac{g^2}{1+g^2}$.

# %%
gamma = 2 / np.pi * np.arcsin(GAIN**2 / (1 + GAIN**2))
sigma_theory = 2 / (np.pi * gamma) * np.arcsin(GAIN**2 * C / (1 + GAIN**2))
sigma_sample = np.cov(X, rowvar=False)
tolerance = 5 * np.sqrt((1 + sigma_theory**2) / P)
z_cov = np.abs(sigma_sample - sigma_theory) / tolerance
print(f"largest |sample - theory| / tolerance: {z_cov.max():.2f}")
assert np.allclose(model.covariance(), sigma_theory, atol=1e-12), "NLGP.covariance() is not the arcsine law"
assert z_cov.max() < 1, "sample covariance disagrees with the arcsine law"

# %%
distance = np.minimum(np.arange(L), L - np.arange(L))
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(distance[: L // 2], C[0, : L // 2], "k--", label="latent $C_{0j}$")
ax.plot(distance[: L // 2], sigma_theory[0, : L // 2], "C0-", label=r"arcsine law $\Sigma_{0j}$")
ax.plot(distance[: L // 2], sigma_sample[0, : L // 2], "C1o", ms=4, label="samples")
ax.set(xlabel="distance $d$", ylabel="correlation")
ax.legend()
plt.show()
# %% [markdown]
# ## Marginal cumulants to order 8
# Raw moments $\mu_r = \int \psi_g(u)^r \varphi(u)\,du$ by the trapezoid rule on $[-12, 12]$ (exponentially
# accurate for a smooth, fast-decaying integrand; independent of the adaptive quadrature cavitykit uses), then
# $\kappa_n = \mu_n - \sum_{m=1}^{n-1}\binom{n-1}{m-1}\kappa_m\mu_{n-m}$.

# %%
nodes = np.linspace(-12, 12, 24_001)
weights = np.full(nodes.size, nodes[1] - nodes[0]) * np.exp(-(nodes**2) / 2) / np.sqrt(2 * np.pi)
psi = erf(GAIN * nodes / np.sqrt(2)) / np.sqrt(gamma)
raw = np.array([weights @ psi**r for r in range(9)])  # mu_0 .. mu_8
kappa = np.zeros(9)
for n in range(1, 9):
    kappa[n] = raw[n] - sum(math.comb(n - 1, m - 1) * kappa[m] * raw[n - m] for m in range(1, n))
print("kappa_2..8 by quadrature:", np.round(kappa[2:], 4))
np.testing.assert_allclose(model.marginal_cumulants(8), kappa[1:], atol=1e-6)

# %% [markdown]
# Against samples: the k-statistics of all pixels pooled (the pixels are dependent, so the error bar
# comes from the spread over 20 batches of images, not from the i.i.d. formula).

# %%
batches = np.array_split(X, 20)
k_batches = np.array([cavitykit.kstats(b.ravel(), 8) for b in batches])  # (20, 8)
k_mean = k_batches.mean(axis=0)
k_se = k_batches.std(axis=0, ddof=1) / np.sqrt(len(batches))
z_marginal = (k_mean - kappa[1:]) / k_se
for n in range(2, 9):
    print(f"k_{n}: samples {k_mean[n - 1]:9.4f} +- {k_se[n - 1]:.4f}   theory {kappa[n]:9.4f}")
assert np.all(np.abs(z_marginal[1:]) < 5), f"marginal cumulants off by {z_marginal} standard errors"

# %% [markdown]
# ## The Gaussian clone
# Same covariance, no cumulant beyond the second.

# %%
clone = GaussianClone(model)
XG = clone.sample(P, rng)
assert np.allclose(clone.covariance(), sigma_theory, atol=1e-12)
assert (np.abs(np.cov(XG, rowvar=False) - sigma_theory) / tolerance).max() < 1
kg = np.array([cavitykit.kstats(b.ravel(), 8) for b in np.array_split(XG, 20)])
z_clone = kg.mean(axis=0)[2:] / (kg.std(axis=0, ddof=1)[2:] / np.sqrt(20))
print("clone k_3..k_8 in standard errors:", np.round(z_clone, 2))
assert np.all(np.abs(z_clone) < 5), "the clone has higher cumulants"
