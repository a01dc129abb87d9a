"""Analyses of an IMP run (``cavitykit.open_run``) or sweep: every number the report prints, as labelled xarray.

* ``measurements``: localization, the per-replicate reduction (``per_replicate``) and its round summary,
  weight movement, localization over training time, cavity effects by group and by magnitude, the
  expansion's error;
* ``claims``: the feature-learning check and each claim's statistic, criterion and verdict
  (``docs/report.md``);
* ``sweeps``: the claims at every grid point of a sweep.

The report only formats these results and the plots only draw them.  Nothing here imports torch or
the IMP engine.
"""

from cavitykit.analysis.claims import (
    CAVITY_SE,
    CHANCE_SE,
    CLONE_IPR_EXCESS,
    CLONE_NOISE_MULTIPLE,
    FEATURE_COSINE,
    GROUPS,
    GROWTH_SE,
    IPR_RATIO,
    LOCALIZED_MARGIN,
    TREND,
    WIDTH_RATIO,
    claim_cavity,
    claim_kurtosis,
    claim_localization,
    feature_learning,
)
from cavitykit.analysis.measurements import (
    cavity_by_magnitude,
    cavity_groups,
    expansion_error,
    gaussian_kurtosis_sd,
    grid_shape,
    kurtosis_ipr_correlation,
    localization,
    n_heldout,
    per_replicate,
    pruning_groups,
    replicate_pair_wins,
    round_summary,
    snapshot_summary,
    weight_movement,
)
from cavitykit.analysis.sweeps import claims_per_replicate, sweep_claims

__all__ = [
    "CAVITY_SE",
    "CHANCE_SE",
    "CLONE_IPR_EXCESS",
    "CLONE_NOISE_MULTIPLE",
    "FEATURE_COSINE",
    "GROUPS",
    "GROWTH_SE",
    "IPR_RATIO",
    "LOCALIZED_MARGIN",
    "TREND",
    "WIDTH_RATIO",
    "cavity_by_magnitude",
    "cavity_groups",
    "claim_cavity",
    "claim_kurtosis",
    "claim_localization",
    "claims_per_replicate",
    "expansion_error",
    "feature_learning",
    "gaussian_kurtosis_sd",
    "grid_shape",
    "kurtosis_ipr_correlation",
    "localization",
    "n_heldout",
    "per_replicate",
    "pruning_groups",
    "replicate_pair_wins",
    "round_summary",
    "snapshot_summary",
    "sweep_claims",
    "weight_movement",
]
