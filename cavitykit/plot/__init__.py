"""Figures of an IMP run or sweep (the only package that imports matplotlib)."""

from cavitykit.plot.figures import (
    cumulant_spectra,
    delta_histograms,
    exact_vs_expansion,
    localization_and_kurtosis,
    matched_survivors,
    receptive_field_maps,
    receptive_fields,
    receptive_fields_over_time,
    sweep_verdicts,
    training_time,
)

__all__ = [
    "cumulant_spectra",
    "delta_histograms",
    "exact_vs_expansion",
    "localization_and_kurtosis",
    "matched_survivors",
    "receptive_field_maps",
    "receptive_fields",
    "receptive_fields_over_time",
    "sweep_verdicts",
    "training_time",
]
