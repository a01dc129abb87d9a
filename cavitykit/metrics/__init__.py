"""Metrics of hidden units: localization of receptive fields (IPR and its nulls at n survivors,
circular centre and width, connectivity, sign coherence, spatial power, shape class) and the cavity
criterion (does removing a weight raise |excess kurtosis|?).

A unit's receptive field is its weight vector w (masked) over the D pixels of a ring or torus, or,
with ``periodic=False``, of a bounded H x W grid (photographs: an image is not a torus).  Its squared
weights p_i = w_i^2 / sum_j w_j^2 form a distribution over pixels.  One module per concept:
``fields`` (IPR, centre and width), ``shapes`` (spatial structure and the shape classes), ``nulls``
(what random placement and magnitude pruning give) and ``distances`` (pairs of surviving connections).
"""

from cavitykit.metrics.distances import connection_distances, distance_bins
from cavitykit.metrics.fields import (
    LOCALIZED_WIDTH_FRACTION,
    abs_kurtosis_change,
    ipr,
    ipr_after_removal,
    is_localized,
    localized_fraction,
    participation_ratio,
    receptive_field,
)
from cavitykit.metrics.nulls import (
    NULL_DRAWS,
    connection_distances_null,
    connectivity_null,
    cut_to_largest,
    top_magnitude_ipr,
    truncated_ipr,
)
from cavitykit.metrics.shapes import (
    COMPACTNESS,
    LOW_FREQUENCY_CUTOFF,
    NOISE_LEVEL,
    SHAPE_CLASSES,
    SUBLATTICE_SHARE,
    UNIT_CLASSES,
    compactness,
    connectivity,
    low_frequency_share,
    noise_low_frequency_share,
    shape_class,
    sign_coherence,
    sublattice_share,
    unit_class,
)

__all__ = [
    "COMPACTNESS",
    "LOCALIZED_WIDTH_FRACTION",
    "LOW_FREQUENCY_CUTOFF",
    "NOISE_LEVEL",
    "NULL_DRAWS",
    "SHAPE_CLASSES",
    "SUBLATTICE_SHARE",
    "UNIT_CLASSES",
    "abs_kurtosis_change",
    "compactness",
    "connection_distances",
    "connection_distances_null",
    "connectivity",
    "connectivity_null",
    "cut_to_largest",
    "distance_bins",
    "ipr",
    "ipr_after_removal",
    "is_localized",
    "localized_fraction",
    "low_frequency_share",
    "noise_low_frequency_share",
    "participation_ratio",
    "receptive_field",
    "shape_class",
    "sign_coherence",
    "sublattice_share",
    "top_magnitude_ipr",
    "truncated_ipr",
    "unit_class",
]
