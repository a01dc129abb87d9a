# %% [markdown]
# # Check 3: the cavity expansion and its truncation error
#
# Numerical check of [derivation 3](cavity.md): a k-statistic's cavity expansion is exact from order $n$
# on, and for the excess kurtosis the error of the order-$m$ expansion, relative to the exact effect,
# falls with the input dimension at least like $D^{-m/2}$ (dense weights $w \sim \mathcal N(0, 1)$, so
# $s/\sqrt{k_2} \sim D^{-1/2}$).

# %%
import matplotlib.pyplot as plt
import numpy as np

from cavitykit import cavity
from cavitykit.data import NLGP

rng = np.random.default_rng(3)
K, P = 4, 20_000

# %% [markdown]
# ## Exact from order $n$ on, for a k-statistic
# $k_4(\lambda + s x_i)$ is a polynomial of degree 4 in $s$: its order-4 expansion is the exact effect.

# %%
x = NLGP(64, 3.0, 3.0).sample(P, rng)
w = rng.standard_normal((K, 64))
exact_k4 = cavity.exact(w, x, statistic="k4").values
np.testing.assert_allclose(cavity.expansion(w, x, order=4, statistic="k4").values, exact_k4, rtol=1e-8)
assert not np.allclose(cavity.expansion(w, x, order=3, statistic="k4").values, exact_k4, rtol=1e-8)

# %% [markdown]
# ## The $D^{-m/2}$ law for the excess kurtosis
# Median relative error $|\Delta^{(m)} - \Delta| / |\Delta|$ over all weights, for $D = 64 \ldots 4096$.

# %%
dims = np.array([64, 256, 1024, 4096])
errors = np.empty((3, dims.size))  # (order m = 1..3, D)
for j, D in enumerate(dims):
    x = NLGP(D, 3.0, 3.0).sample(P, rng)
    w = rng.standard_normal((K, D))
    truth = cavity.exact(w, x).values
    for m in (1, 2, 3):
        errors[m - 1, j] = np.median(np.abs(cavity.expansion(w, x, order=m).values - truth) / np.abs(truth))
# The law is asymptotic: at small D the terms of the series are not yet ordered by powers of s (the
# coefficients themselves carry powers of w), so the slope is read between the two largest sizes.
slopes = np.log(errors[:, -1] / errors[:, -2]) / np.log(dims[-1] / dims[-2])
for m in (1, 2, 3):
    print(
        f"order {m}: errors {np.round(100 * errors[m - 1], 3)} %, slope at large D {slopes[m - 1]:.2f} (law: {-m / 2})"
    )

fig, ax = plt.subplots(figsize=(5, 3.5))
for m in (1, 2, 3):
    ax.loglog(dims, errors[m - 1], "o-", label=f"order {m}")
    ax.loglog(dims, errors[m - 1, 0] * (dims / dims[0]) ** (-m / 2), "k:", lw=1)
ax.set(xlabel="input dimension $D$", ylabel="median relative error")
ax.legend()
plt.show()
# %%
for m in (1, 2, 3):
    assert slopes[m - 1] <= -m / 2 + 0.25, f"order {m} error falls like D^{slopes[m - 1]:.2f}, slower than D^{-m / 2}"
    assert np.all(errors[m - 1] < 1), "an expansion that does not approximate the effect at all"
assert np.all(np.diff(errors, axis=0) < 0), "each order must improve on the one before"
