"""The cavity method: how each weight's removal changes the statistics of hidden-unit pre-activations.

``exact`` (all weights at once, from joint k-statistics as float64 GEMMs in torch, or for a
mostly pruned layer on a CPU a Numba kernel over the kept weights; ``layer_effects`` for a layer of
one's own, a block of units at a time, in either pre-activation convention),
``expansion`` (truncated Taylor series in the removed weight), ``independent_theory``
(the closed form for independent inputs), ``nlgp_theory`` (the sample-free prediction for
correlated NLGP inputs), ``standard_error`` (paired batch-means error),
``group_effect`` (a whole set removed at once) and ``next_layer_exact`` (first-layer
removals seen by the next layer).  Mathematics: ``theory/cavity.md``.
"""

from cavitykit.cavity._statistics import STATISTICS
from cavitykit.cavity.exact import exact, group_effect, layer_effects, next_layer_exact, standard_error
from cavitykit.cavity.expansion import exact_and_expansion, expansion
from cavitykit.cavity.theory import independent_theory, nlgp_theory

__all__ = [
    "STATISTICS",
    "exact",
    "exact_and_expansion",
    "expansion",
    "group_effect",
    "independent_theory",
    "layer_effects",
    "next_layer_exact",
    "nlgp_theory",
    "standard_error",
]
