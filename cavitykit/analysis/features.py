"""The feature-learning check that decides whether the claims about learned features can be tested at
all (the claims themselves are judged in ``cavitykit.analysis.claims``).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit.analysis.measurements import weight_movement
from cavitykit.io.schema import counts_per_class, seen_pixels

# Feature learning: the dense networks learned features when the mean cosine between each unit's
# trained and initial weights is at most this (at most 81% of the trained weights' squared norm lies
# along the initialization) ...
FEATURE_COSINE = 0.9
# ... and they classify above chance by this many binomial standard errors of the test accuracy.
CHANCE_SE = 3.0


def feature_learning(ds: xr.Dataset, pair: tuple[str, str]) -> xr.Dataset:
    """Did the dense networks (round 0) learn features, or is their first layer still (nearly) its initialization?

    A network that classifies well may still not have learned features: random features separate
    two correlation lengths.  The check asks that the first layer has turned away from its
    initialization (mean cosine over units and replicates at most ``FEATURE_COSINE``) and that the
    networks classify above chance (mean test accuracy at least the largest class's share of the test
    set, what always answering that class scores, 0.5 on a balanced two-class task, plus ``CHANCE_SE``
    binomial standard errors), for the model and for its clone.  Claims 1, 3 and 4 are only tested when it passes.

    Parameters
    ----------
    ds : xarray.Dataset
        A run.
    pair : (model, clone)

    Returns
    -------
    xarray.Dataset over ``variant`` (the pair)
        ``relative_change`` and ``cosine`` (``weight_movement``, means over units and replicates),
        ``ipr`` (mean), ``random_ipr`` (3 / (D + 2), a random vector's), ``test_accuracy`` (mean),
        ``chance_level`` (the largest class's share), ``chance`` (it + the margin), ``above_chance`` and
        ``learned`` per variant; scalars ``passed``
        (both learned features) and ``learned_task`` (both classify above chance: without it no claim
        is judged).
    """
    dense = ds.sel(variant=list(pair)).isel(round=0)
    movement = weight_movement(dense)
    counts = counts_per_class(ds)
    n_test, majority = counts.sum(), counts.max() / counts.sum()
    out = xr.Dataset(
        {
            "relative_change": movement.relative_change.mean(("replicate", "neuron")),
            "cosine": movement.cosine.mean(("replicate", "neuron")),
            "ipr": dense.ipr.mean(("replicate", "neuron")),
            "random_ipr": 3.0 / (seen_pixels(ds).sum() + 2.0),
            "test_accuracy": dense.test_accuracy.mean("replicate"),
            "chance_level": majority,
            "chance": majority + CHANCE_SE * np.sqrt(majority * (1.0 - majority) / n_test),
        }
    )
    out["above_chance"] = out.test_accuracy >= out.chance
    out["learned"] = (out.cosine <= FEATURE_COSINE) & out.above_chance
    out["passed"] = out.learned.all()
    out["learned_task"] = out.above_chance.all()
    return out.drop_vars("round", errors="ignore")
