"""Data models with exact analytic statistics: NLGP, its Gaussian clone, independent pixels,
Ising spins, natural-image patches, and two-class tasks built from them."""

from cavitykit.data.nlgp import NLGP, GaussianClone, IndependentPixels, gain_normalization, marginal_cumulants
from cavitykit.data.tasks import two_class, two_class_batches

__all__ = [
    "NLGP",
    "GaussianClone",
    "IndependentPixels",
    "gain_normalization",
    "marginal_cumulants",
    "two_class",
    "two_class_batches",
]
