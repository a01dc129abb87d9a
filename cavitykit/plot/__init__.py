"""Figures of an IMP run or sweep (the only package that imports matplotlib, the 'plot' extra)."""

from cavitykit._extras import require

require("matplotlib", "figures (cavitykit.plot, cavitykit report)")

from cavitykit.plot.figures import (  # noqa: E402 - after the check that names a missing extra
    claims_by_round,
    connection_distances,
    cumulant_spectra,
    delta_histograms,
    exact_vs_expansion,
    lottery_ticket,
    matched_survivors,
    receptive_field_maps,
    receptive_fields,
    receptive_fields_over_time,
    sweep_verdicts,
    training_time,
)

__all__ = [
    "claims_by_round",
    "connection_distances",
    "cumulant_spectra",
    "delta_histograms",
    "exact_vs_expansion",
    "lottery_ticket",
    "matched_survivors",
    "receptive_field_maps",
    "receptive_fields",
    "receptive_fields_over_time",
    "sweep_verdicts",
    "training_time",
]
