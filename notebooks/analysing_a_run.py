# %% [markdown]
# # Analysing an IMP run
#
# `cavitykit.testing.example_run()` is a small run shipped with the package (the quick preset cut down to 2
# replicates and 3 rounds without control branches, made by the same code as `cavitykit run`); point `open_run`
# at your own run directory instead, e.g. one made by `cavitykit run --preset quick --out results`. One
# labelled dataset over variants, replicates and rounds: select, compare the cavity expansion with exact
# ablation, and draw what IMP does to the kurtosis.

# %%
import matplotlib.pyplot as plt

from cavitykit import analysis, open_run
from cavitykit.testing import example_run

run_dir = example_run()

# %% [markdown]
# Every round of every (variant, replicate), lazily loaded; torch is not needed to read it.

# %%
ds = open_run(run_dir)
print(ds)  # its text form; in Jupyter, `ds` alone draws the same as HTML

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
plt.show()

# %% [markdown]
# What IMP does, round by round: mean IPR and mean |excess kurtosis| over units, classes and replicates.

# %%
summary = analysis.round_summary(ds)
for variant in summary.variant.values:
    right.plot(summary["round"], summary.abs_kurtosis.sel(variant=variant), "o-", label=variant)
right.set(xlabel="IMP round", ylabel="mean |excess kurtosis|")
right.legend()
fig
