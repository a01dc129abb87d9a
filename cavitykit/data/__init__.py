"""Data models with exact analytic statistics: NLGP, its Gaussian clone, independent pixels,
Ising spins, natural-image patches, and two-class tasks built from them."""

from cavitykit.data.images import SKIMAGE_PHOTOS, ImagePatches, load_image_array
from cavitykit.data.ising import Ising, ising_correlation_length, ising_temperature, periodic_autocorrelation
from cavitykit.data.nlgp import (
    NLGP,
    GaussianClone,
    IndependentPixels,
    gain_normalization,
    marginal_cumulants,
    named_model,
)
from cavitykit.data.tasks import two_class, two_class_batches, variant_models

__all__ = [
    "NLGP",
    "SKIMAGE_PHOTOS",
    "GaussianClone",
    "ImagePatches",
    "IndependentPixels",
    "Ising",
    "gain_normalization",
    "ising_correlation_length",
    "ising_temperature",
    "load_image_array",
    "marginal_cumulants",
    "named_model",
    "periodic_autocorrelation",
    "two_class",
    "two_class_batches",
    "variant_models",
]
