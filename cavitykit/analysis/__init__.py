"""Analyses of an IMP run (``cavitykit.open_run``) or sweep: every number the report prints, as labelled xarray.

* ``measurements``: localization, the per-replicate reduction (``per_replicate``) and its round summary,
  weight movement, localization over training time, cavity effects by group, the expansion's error;
* ``features``: the feature-learning check;
* ``units``: each unit's class from its dense field (a deeper layer's from its ``effective_fields``) and
  its measures per round beside the nulls of its survivor count; means at matched survivor counts;
  intervals over replicates;
* ``claims``: a module per claim, each judging an ``Evidence`` (the run, its controls and the unit
  measures, computed once) into a frozen result: statistic, controls, criterion and verdict
  (``docs/report.md``);
* ``verdicts``: which claims can be judged, and all of them judged (``judge``);
* ``sweep_claims``: the claims, judged as the report judges them, at every grid point of a sweep.

The report only formats these results and the plots only draw them.  Nothing here imports torch or
the IMP engine.
"""

from cavitykit.analysis.claims import (
    ACCURACY_DROP,
    BUMP_MARGIN,
    CLAIM_TYPES,
    CLAIMS,
    MIN_SHAPE_SURVIVORS,
    Evidence,
    Interval,
    accurate_rounds,
    claim_cavity,
    claim_iterative,
    claim_kurtosis,
    claim_localization,
    coherence_at_matched_survivors,
    feedback_loop,
    final_round_shapes,
    matched_one_shot,
    theory_agreement,
    weight_effect_correlation,
)
from cavitykit.analysis.features import CHANCE_SE, FEATURE_COSINE, feature_learning
from cavitykit.analysis.measurements import (
    cavity_groups,
    connection_distance_ratio,
    gaussian_kurtosis_sd,
    grid_shape,
    kurtosis_ipr_correlation,
    localization,
    lottery_ticket,
    n_heldout,
    per_replicate,
    periodic_grid,
    pruning_groups,
    round_summary,
    snapshot_summary,
    weight_movement,
    weights_left,
)
from cavitykit.analysis.mechanism import coherence_factor, learned_trajectories
from cavitykit.analysis.sweep_claims import point_verdicts, sweep_verdicts
from cavitykit.analysis.units import (
    at_matched_survivors,
    class_counts,
    effective_fields,
    replicate_interval,
    unit_classes,
    unit_measures,
)
from cavitykit.analysis.verdicts import FEATURE_CLAIMS, Verdicts, judge
from cavitykit.io.schema import expansion_error

__all__ = [
    "ACCURACY_DROP",
    "BUMP_MARGIN",
    "CHANCE_SE",
    "CLAIMS",
    "CLAIM_TYPES",
    "FEATURE_CLAIMS",
    "FEATURE_COSINE",
    "MIN_SHAPE_SURVIVORS",
    "Evidence",
    "Interval",
    "Verdicts",
    "accurate_rounds",
    "at_matched_survivors",
    "cavity_groups",
    "claim_cavity",
    "claim_iterative",
    "claim_kurtosis",
    "claim_localization",
    "class_counts",
    "coherence_at_matched_survivors",
    "coherence_factor",
    "connection_distance_ratio",
    "effective_fields",
    "expansion_error",
    "feature_learning",
    "feedback_loop",
    "final_round_shapes",
    "gaussian_kurtosis_sd",
    "grid_shape",
    "judge",
    "kurtosis_ipr_correlation",
    "learned_trajectories",
    "localization",
    "lottery_ticket",
    "matched_one_shot",
    "n_heldout",
    "per_replicate",
    "periodic_grid",
    "point_verdicts",
    "pruning_groups",
    "replicate_interval",
    "round_summary",
    "snapshot_summary",
    "sweep_verdicts",
    "theory_agreement",
    "unit_classes",
    "unit_measures",
    "weight_effect_correlation",
    "weight_movement",
    "weights_left",
]
