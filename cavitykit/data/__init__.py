"""Data models with exact analytic statistics: NLGP, its Gaussian clone, independent pixels,
Ising spins, natural-image patches, two-class tasks built from them, and a researcher's own labelled
images beside their Gaussian clone."""

from cavitykit.data.images import SKIMAGE_PHOTOS, ImagePatches, load_image_array
from cavitykit.data.ising import Ising, ising_correlation_length, ising_temperature, periodic_autocorrelation
from cavitykit.data.labelled import EmpiricalImages, GaussianImages, LabelledImages, class_groups, read_labelled
from cavitykit.data.nlgp import (
    NLGP,
    GaussianClone,
    IndependentPixels,
    gain_normalization,
    marginal_cumulants,
    named_model,
)
from cavitykit.data.tasks import synthetic_models, two_class, two_class_batches

__all__ = [
    "NLGP",
    "SKIMAGE_PHOTOS",
    "EmpiricalImages",
    "GaussianClone",
    "GaussianImages",
    "ImagePatches",
    "IndependentPixels",
    "Ising",
    "LabelledImages",
    "class_groups",
    "gain_normalization",
    "ising_correlation_length",
    "ising_temperature",
    "load_image_array",
    "marginal_cumulants",
    "named_model",
    "periodic_autocorrelation",
    "read_labelled",
    "synthetic_models",
    "two_class",
    "two_class_batches",
]
