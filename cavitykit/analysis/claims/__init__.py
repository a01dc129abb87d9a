"""The four claims, a module each, every one judged from an ``Evidence`` into a frozen result: its verdict,
its statement and criterion, its numbers with their replicate intervals, and why it was not tested.

* ``localization`` (claim 1): localization on the model against its Gaussian clone, against the nulls
  of magnitude pruning and beside the pruning controls;
* ``kurtosis`` (claim 2): the rise of |excess kurtosis| under IMP against random pruning at equal
  sparsity, and the coherence factor behind it;
* ``cavity`` (claim 3): the share of pruned weights whose removal raises |excess kurtosis|, against the
  clone; the rank correlation of |w| with the effect beside theory; the feedback the single-weight
  effects predict; cavity-guided pruning as the causal test;
* ``iterative`` (claim 4): iterative against one-shot pruning, per unit at a common survivor count, with
  the dense field cut to that count as the no-retraining control.

``cavitykit.analysis.verdicts.judge`` decides which can be judged and judges them; the report only
formats the results.
"""

from cavitykit.analysis.claims._common import (
    ACCURACY_DROP,
    BUMP_MARGIN,
    LEVEL,
    MIN_SHAPE_SURVIVORS,
    SHAPE_MEASURES,
    Claim,
    Evidence,
    Interval,
    accurate_rounds,
)
from cavitykit.analysis.claims.cavity import (
    Cavity,
    FeedbackRank,
    TheoryAgreement,
    claim_cavity,
    compactness_feedback,
    feedback_loop,
    theory_agreement,
    weight_effect_correlation,
)
from cavitykit.analysis.claims.iterative import (
    FinalShapes,
    Iterative,
    Matched,
    claim_iterative,
    final_round_shapes,
    matched_one_shot,
)
from cavitykit.analysis.claims.kurtosis import Coherence, Kurtosis, claim_kurtosis, coherence_at_matched_survivors
from cavitykit.analysis.claims.localization import AtSurvivors, Localization, claim_localization

# The claims in the report's order, and their names.
CLAIM_TYPES = (Localization, Kurtosis, Cavity, Iterative)
CLAIMS = tuple(claim.name for claim in CLAIM_TYPES)

__all__ = [
    "ACCURACY_DROP",
    "BUMP_MARGIN",
    "CLAIMS",
    "CLAIM_TYPES",
    "LEVEL",
    "MIN_SHAPE_SURVIVORS",
    "SHAPE_MEASURES",
    "AtSurvivors",
    "Cavity",
    "Claim",
    "Coherence",
    "Evidence",
    "FeedbackRank",
    "FinalShapes",
    "Interval",
    "Iterative",
    "Kurtosis",
    "Localization",
    "Matched",
    "TheoryAgreement",
    "accurate_rounds",
    "claim_cavity",
    "claim_iterative",
    "claim_kurtosis",
    "claim_localization",
    "coherence_at_matched_survivors",
    "compactness_feedback",
    "feedback_loop",
    "final_round_shapes",
    "matched_one_shot",
    "theory_agreement",
    "weight_effect_correlation",
]
