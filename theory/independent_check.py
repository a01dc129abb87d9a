# %% [markdown]
# # Check 4: independent inputs and the magnitude-pruning criterion
#
# Numerical check of [derivation 4](independent.md): $\gamma_2(\lambda) = \kappa_x\,\mathrm{IPR}(w)$, the
# cavity effect $\Delta_j$, and the threshold $w_j^2 < 2 S_2 S_4 / (S_2^2 + S_4)$.

# %%
import matplotlib.pyplot as plt
import numpy as np

import cavitykit
from cavitykit import cavity
from cavitykit.data import IndependentPixels

D, GAIN, P = 64, 3.0, 400_000
rng = np.random.default_rng(4)
model = IndependentPixels(D, GAIN)
kappa_x = model.marginal_cumulants(4)[3]  # unit variance: k_4 is the excess kurtosis
X = model.sample(P, rng)  # (P, D)

# %% [markdown]
# ## $\gamma_2(\lambda) = \kappa_x\,\mathrm{IPR}(w)$

# %%
dense = rng.standard_normal(D)
sparse = np.where(rng.random(D) < 0.15, rng.standard_normal(D), 0.0)
one_hot = np.eye(D)[0]
weights = np.stack([dense, sparse, one_hot])  # (3, D)


def ipr(w):
    return (w**4).sum(-1) / (w**2).sum(-1) ** 2


lam = X @ weights.T / np.sqrt(D)  # (P, 3)
batches = np.array([cavitykit.kurtosis(b) for b in np.array_split(lam, 20)])  # (20, 3)
measured, se = batches.mean(0), batches.std(0, ddof=1) / np.sqrt(20)
predicted = kappa_x * ipr(weights)
for name, m, s, p in zip(("dense", "sparse", "one-hot"), measured, se, predicted, strict=True):
    print(f"{name:8s} samples {m: .4f} +- {s:.4f}   kappa_x IPR {p: .4f}")
assert np.all(np.abs(measured - predicted) < 5 * se), "gamma_2(lambda) != kappa_x IPR(w)"

# %% [markdown]
# ## The cavity effect $\Delta_j = \kappa_x[(S_4 - a^2)/(S_2 - a)^2 - S_4/S_2^2]$, $a = w_j^2$

# Sixteen inputs, so that most effects stand well above their sampling error.

# %%
X16 = X[:, :16]
W = rng.standard_normal((4, 16))
a = W**2
S2, S4 = a.sum(1, keepdims=True), (a**2).sum(1, keepdims=True)
delta_theory = kappa_x * ((S4 - a**2) / (S2 - a) ** 2 - S4 / S2**2)  # (4, D)
np.testing.assert_allclose(cavity.independent_theory(W, kappa_x).values, delta_theory, rtol=1e-12)

delta_exact = cavity.exact(W, X16).values
delta_se = cavity.standard_error(W, X16).values
z = (delta_exact - delta_theory) / delta_se
print(f"exact vs theory: rms z = {np.sqrt(np.mean(z**2)):.2f}, max |z| = {np.abs(z).max():.2f}")
assert np.sqrt(np.mean(z**2)) < 2 and np.abs(z).max() < 6, "cavity.exact disagrees with the independent theory"

# %% [markdown]
# ## The threshold
# $|\gamma_2|$ rises (here $\kappa_x < 0$: $\Delta < 0$) iff $w_j^2 < 2 S_2 S_4/(S_2^2 + S_4)$.

# %%
threshold = 2 * S2 * S4 / (S2**2 + S4)  # (4, 1)
raises = np.sign(kappa_x) * delta_theory > 0
assert np.array_equal(raises, a < threshold), "the criterion does not match the formula for Delta"
significant = np.abs(delta_exact) > 5 * delta_se
agree = (np.sign(kappa_x) * delta_exact > 0) == (a < threshold)
print(
    f"{significant.sum()} of {a.size} effects significant; sign agrees with the criterion for all of them: "
    f"{agree[significant].all()}"
)
assert agree[significant].all()

# %% [markdown]
# For many dense Gaussian weights the threshold is close to $2\langle w^4\rangle/\langle w^2\rangle
# = 6\langle w^2\rangle$: six times the mean square.

# %%
dense = rng.standard_normal(200_000)
dense_threshold = 2 * np.sum(dense**2) * np.sum(dense**4) / (np.sum(dense**2) ** 2 + np.sum(dense**4))
print(f"threshold / mean square = {dense_threshold / np.mean(dense**2):.3f}")
assert abs(dense_threshold / np.mean(dense**2) - 6) < 0.1, "the dense-weight threshold is not 6 <w^2>"

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.scatter((a / threshold).ravel(), (np.sign(kappa_x) * delta_exact).ravel(), s=8, label="cavity.exact")
ax.scatter((a / threshold).ravel(), (np.sign(kappa_x) * delta_theory).ravel(), s=8, marker="x", label="theory")
ax.axvline(1, color="k", lw=0.8)
ax.axhline(0, color="k", lw=0.8)
ax.set(xlabel="$w_j^2$ / threshold", ylabel=r"$\Delta |\gamma_2|$")
ax.legend()
plt.show()
