# %% [markdown]
# # Check 6: the nulls of a pruned unit
#
# Numerical check of [derivation 6](nulls.md): the top-n-of-D IPR against its large-D formula and a direct
# Monte Carlo, the connectivity of random placement against simulation, and the Beta law of the
# low-frequency share of white noise.

# %%
import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from cavitykit import metrics


def top_ipr_limit(n, D):
    """The large-D formula of derivation 6."""
    f = n / D
    q = stats.norm.isf(f / 2)
    phi, tail = stats.norm.pdf(q), stats.norm.sf(q)
    m2 = 2 * (q * phi + tail)
    m4 = 2 * (q**3 * phi + 3 * q * phi + 3 * tail)
    return (m4 / f) / (n * (m2 / f) ** 2)


# %% [markdown]
# ## IPR of the top n of D magnitudes

# %%
D = 2000
n = np.array([20, 50, 100, 200, 500, 1000, 2000])
toolkit = metrics.top_magnitude_ipr(D)[n]
limit = top_ipr_limit(n, D)
for k, a, b in zip(n, toolkit, limit, strict=True):
    print(f"n = {k:5d}  Monte Carlo {a:.5f}  large-D formula {b:.5f}  3/(n+2) {3 / (k + 2):.5f}")
assert np.allclose(toolkit, limit, rtol=0.01), "top-n IPR disagrees with its large-D formula"
assert np.all(toolkit[:-1] < 3 / (n[:-1] + 2)), "the top n are not flatter than n random entries"

fig, ax = plt.subplots(figsize=(5, 3.5))
ax.loglog(n, toolkit, "o", label="top n of D (Monte Carlo)")
ax.loglog(n, limit, "-", label="large-D formula")
ax.loglog(n, 3 / (n + 2), "--", label="3/(n+2): n random entries")
ax.set_xlabel("surviving weights n")
ax.set_ylabel("IPR")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# ## Connectivity of random placement on a 20 x 20 torus

# %%
rng = np.random.default_rng(6)
shape = (20, 20)
for k in (10, 40, 160):
    masks = np.zeros((4000, 400), bool)
    for row in masks:
        row[rng.choice(400, size=k, replace=False)] = True
    simulated = metrics.connectivity(masks, shape)
    exact = float(metrics.connectivity_null(k, shape))
    se = simulated.std() / np.sqrt(simulated.size)
    print(f"n = {k:3d}  simulated {simulated.mean():.4f} +- {se:.4f}  exact {exact:.4f}")
    assert abs(simulated.mean() - exact) < 5 * se, "connectivity null disagrees with simulation"

# %% [markdown]
# ## Low-frequency share of white noise

# %%
shares = metrics.low_frequency_share(rng.standard_normal((20_000, 400)), shape)
mean, threshold = metrics.noise_low_frequency_share(shape)
m = round(mean * 400)
print(f"m = {m} low frequencies; mean share {shares.mean():.4f} (m/D = {mean:.4f}); threshold {threshold:.4f}")
print(f"share above the threshold: {np.mean(shares > threshold):.5f} (expected 0.001)")
assert stats.kstest(shares, stats.beta(m / 2, (400 - m) / 2).cdf).pvalue > 1e-3, "not the Beta law"
