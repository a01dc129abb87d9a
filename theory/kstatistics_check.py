# %% [markdown]
# # Check 2: k-statistics, polarization and the cost of exact cavities
#
# Numerical check of [derivation 2](kstatistics.md): the k-statistics are the unbiased symmetric
# estimators of the cumulants (checked *exactly*, in rational arithmetic, by enumerating every sample of a
# discrete law), the polarization identity holds sample by sample, and `cavity.exact` equals removing each
# weight and recomputing, at a fraction of the cost.

# %%
import itertools
import math
import time
from fractions import Fraction

import numpy as np

import cavitykit
from cavitykit import cavity

# %% [markdown]
# ## Unbiasedness, exactly
# A three-point law with rational probabilities; its cumulants from its moments by
# $\kappa_n = \mu_n - \sum_{m=1}^{n-1}\binom{n-1}{m-1}\kappa_m\mu_{n-m}$ in `Fraction` arithmetic. Every
# sample of size $N = 8$ (3^8 = 6561 of them) is one column; $\mathbb E[k_n] = \sum_{\text{samples}}
# \Pr(\text{sample})\,k_n(\text{sample})$ must equal $\kappa_n$ for $n = 1..8$, to float64 rounding.

# %%
values = (-1, 0, 2)
probs = (Fraction(1, 2), Fraction(1, 3), Fraction(1, 6))
N = 8
raw = [sum(p * Fraction(v) ** r for v, p in zip(values, probs, strict=True)) for r in range(N + 1)]
kappa = [Fraction(0)] * (N + 1)
for n in range(1, N + 1):
    kappa[n] = raw[n] - sum(math.comb(n - 1, m - 1) * kappa[m] * raw[n - m] for m in range(1, n))

samples = np.array(list(itertools.product(values, repeat=N)), dtype=float).T  # (N, 3^N): one sample per column
sample_probs = np.array([float(math.prod(probs[values.index(v)] for v in s)) for s in samples.T.astype(int)])
expected = cavitykit.kstats(samples, N) @ sample_probs  # (N,): E[k_1] .. E[k_8]
for n in range(1, N + 1):
    print(f"E[k_{n}] = {expected[n - 1]: .12f}   kappa_{n} = {float(kappa[n]): .12f}")
np.testing.assert_allclose(expected, [float(k) for k in kappa[1:]], rtol=1e-9, atol=1e-12)

# %% [markdown]
# ## The polarization identity
# $k_n(u + s v) = \sum_{b=0}^{n}\binom{n}{b} s^b\,k_{n-b,b}(u, v)$ for every sample and every $s$: a
# polynomial identity, so it must hold to rounding (here on skewed, correlated data).

# %%
rng = np.random.default_rng(2)
u = rng.gamma(2.0, size=5_000)
v = 0.3 * u + rng.standard_normal(5_000)
joint = cavitykit.joint_kstats(u, v, 8)  # joint[a, b] = k_{a,b}
for s in (-0.7, 0.1, 1.3):
    direct = cavitykit.kstats(u + s * v, 8)
    polarized = [sum(math.comb(n, b) * s**b * joint[n - b, b] for b in range(n + 1)) for n in range(1, 9)]
    np.testing.assert_allclose(polarized, direct, rtol=1e-8)
print("polarization identity holds for n = 1..8")

# %% [markdown]
# ## `cavity.exact` against brute force, and its cost
# Brute force: for every weight, zero it, recompute the pre-activation and its excess kurtosis
# ($K D$ forward passes of cost $P D$). `cavity.exact` needs a handful of GEMMs of cost $P K D$.

# %%
K, D, P = 4, 64, 20_000
w = rng.standard_normal((K, D))
x = rng.uniform(-1, 1, (P, D))


def brute_force(w, x):
    base = cavitykit.kurtosis(x @ w.T / np.sqrt(D))  # (K,)
    out = np.empty_like(w)
    for k, i in np.ndindex(*w.shape):
        removed = w[k].copy()
        removed[i] = 0.0
        out[k, i] = cavitykit.kurtosis(x @ removed / np.sqrt(D)) - base[k]
    return out


start = time.perf_counter()
reference = brute_force(w, x)
brute_seconds = time.perf_counter() - start
cavity.exact(w, x)  # warm-up
start = time.perf_counter()
fast = cavity.exact(w, x).values
exact_seconds = time.perf_counter() - start
np.testing.assert_allclose(fast, reference, rtol=1e-7, atol=1e-12)
print(f"brute force {brute_seconds:.3f} s, cavity.exact {exact_seconds:.4f} s: {brute_seconds / exact_seconds:.0f}x")
