# %% [markdown]
# # Cumulant spectra from saved weights
#
# Weights trained by your own code, saved as `.npz`, `.npy` or a torch `state_dict`; inputs from a file or
# drawn from a data model; the spectrum of every unit's pre-activation as a labelled xarray object. The
# same from the shell: `cavitykit cumulants --weights W.npz --samples X.npy --out S.nc`.

# %%
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch

from cavitykit import data, spectra
from cavitykit.arrays import load_samples, load_weights

folder = Path(tempfile.mkdtemp())
rng = np.random.default_rng(1)
D, K = 100, 6
W = rng.standard_normal((K, D)) * (rng.random((K, D)) < np.linspace(0.05, 1, K)[:, None])  # sparse to dense

# %% [markdown]
# Three ways your weights may have been saved. `load_weights` reads each without unpickling anything
# (`weights_only=True` for torch files); the `key` names the array or tensor, and the layer's bias beside
# it (`hidden.bias` beside `hidden.weight`, `bias` beside `weight`) comes along when the file holds one.

# %%
np.savez(folder / "weights.npz", weight=W)
np.save(folder / "weights.npy", W)
torch.save({"hidden.weight": torch.tensor(W), "hidden.bias": torch.zeros(K)}, folder / "model.pt")

from_npz, _ = load_weights(folder / "weights.npz")  # array 'weight' by default; no bias in this file
from_npy, _ = load_weights(folder / "weights.npy")
from_torch, bias = load_weights(folder / "model.pt", key="hidden.weight")  # and its bias, hidden.bias
assert np.array_equal(from_npz, W) and np.array_equal(from_npy, W) and np.array_equal(from_torch, W)

# %% [markdown]
# Samples from a data model (here the NLGP on a ring of 100 pixels), or from a `.npy` file of shape (P, D).

# %%
X = data.named_model("nlgp", D, xi=2.0, gain=3.0).sample(100_000, rng)  # (P, D)
np.save(folder / "samples.npy", X)
X = load_samples(folder / "samples.npy", D)

spectrum = spectra.weights_spectrum(from_torch, X, max_order=8, bias=bias)  # Dataset over (neuron, order)
spectrum

# %% [markdown]
# The standardized cumulants with their batch-means standard errors, and the netCDF file the command
# line writes.

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
for k in spectrum.neuron.values:
    unit = spectrum.sel(neuron=k, order=slice(3, 8))
    ax.errorbar(unit.order, unit.cumulant, 2 * unit.cumulant_se, fmt="o-", ms=3, label=f"unit {k}")
ax.set(xlabel="order $n$", ylabel="$k_n / k_2^{n/2}$")
ax.legend(ncol=2)
spectrum.to_netcdf(folder / "spectrum.nc")
print(spectrum.cumulant.sel(order=4).round(3).values)  # sparse units first: most non-Gaussian
plt.show()
