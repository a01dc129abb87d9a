# %% [markdown]
# # Quick start: data, pre-activations, cumulant spectrum, cavity effects
#
# One screenful: non-Gaussian images and their Gaussian clone, the cumulant spectrum of a few hidden
# units' pre-activations, and the exact cavity effect of every weight, with its analytic approximation.

# %%
import matplotlib.pyplot as plt
import numpy as np

import cavitykit
from cavitykit import cavity
from cavitykit.data import NLGP, GaussianClone

rng = np.random.default_rng(0)
nlgp = NLGP(64, xi=3.0, gain=3.0)  # ring of D = 64 pixels
X = nlgp.sample(100_000, rng)  # (P, D) non-Gaussian images
XG = GaussianClone(nlgp).sample(100_000, rng)  # same covariance, Gaussian

centre = np.minimum(np.arange(64), 64 - np.arange(64))
W = np.stack([np.exp(-(centre**2) / (2 * s**2)) for s in (1.0, 4.0, 16.0)])  # (K, D): local to spread fields
lam, lam_clone = X @ W.T / 8, XG @ W.T / 8  # pre-activations lambda = W x / sqrt(D), (P, K)

# %% [markdown]
# The standardized cumulant spectrum $k_n / k_2^{n/2}$, $n = 3..8$: large for the local field, small for the
# spread one, zero (within noise) on the clone.

# %%
spectrum = cavitykit.cumulant_spectrum(lam, 8)  # (8, K)
print("excess kurtosis, NLGP :", np.round(cavitykit.kurtosis(lam), 3))
print("excess kurtosis, clone:", np.round(cavitykit.kurtosis(lam_clone), 3))

# %% [markdown]
# Cavity effects: the change of each unit's excess kurtosis when one weight is removed, exactly and from
# the second-order expansion in the removed weight.

# %%
exact = cavity.exact(W, X)  # DataArray (neuron, input)
approx = cavity.expansion(W, X, order=2)

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for k, width in enumerate((1, 4, 16)):
    left.plot(np.arange(3, 9), spectrum[2:, k], "o-", label=f"RF width {width}")
left.set(xlabel="order $n$", ylabel="$k_n / k_2^{n/2}$", title="cumulant spectrum (NLGP)")
left.legend()
right.plot(exact.values.ravel(), approx.values.ravel(), ".", ms=3)
right.axline((0, 0), slope=1, color="k", lw=0.8)
right.set(xlabel="exact $\\Delta$", ylabel="second-order expansion", title="cavity effects")
plt.show()
