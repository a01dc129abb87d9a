# %% [markdown]
# # Analysing an IMP run
#
# A small run made here in seconds (the same code path as `cavitykit run`), opened with `open_run`: one
# labelled dataset over variants, replicates and rounds. Select, compare the cavity expansion with exact
# ablation, and draw what IMP does to the receptive fields and to the kurtosis.

# %%
import tempfile

import matplotlib.pyplot as plt

from cavitykit import analysis, open_run
from cavitykit.config import config_from_dict, load_preset
from cavitykit.imp import run

settings = load_preset("quick").to_dict()
settings["replicates"] = 2
settings["data"] |= {"n_train": 2000, "n_test": 1000}
settings["training"] |= {"steps": 400}
settings["imp"] |= {"rounds": 4}
settings["analysis"] |= {"n_heldout": 4000}
run_dir = run(config_from_dict(settings), tempfile.mkdtemp(), progress=False)

# %% [markdown]
# Every round of every (variant, replicate), lazily loaded; torch is not needed to read it.

# %%
ds = open_run(run_dir)
ds

# %%
last = ds.sel(variant="nlgp", round=ds["round"].max())
print("sparsity by round:", ds.sparsity.sel(variant="nlgp", replicate=0).values.round(2))
print("test accuracy, round 0:", ds.test_accuracy.sel(round=0).mean("replicate").values.round(3))

# %% [markdown]
# The cavity expansion against exact ablation: median relative error by order, and one round in detail.

# %%
print(analysis.expansion_error(ds).to_pandas().round(4))
exact = last.cavity_exact.sel(replicate=0, label=0)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.5))
for order in ds.approx_order.values:
    approx = last.cavity_expansion.sel(replicate=0, label=0, approx_order=order)
    left.plot(exact.values.ravel(), approx.values.ravel(), ".", ms=3, label=f"order {order}")
left.axline((0, 0), slope=1, color="k", lw=0.8)
left.set(xlabel="exact $\\Delta$", ylabel="expansion", title="last round, NLGP")
left.legend()

# %% [markdown]
# What IMP does, round by round: mean IPR and mean |excess kurtosis| over units, classes and replicates.

# %%
summary = analysis.round_summary(ds)
for variant in summary.variant.values:
    right.plot(summary["round"], summary.abs_kurtosis.sel(variant=variant), "o-", label=variant)
right.set(xlabel="IMP round", ylabel="mean |excess kurtosis|")
right.legend()
fig
