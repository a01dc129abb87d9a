"""What every data model shares: the ring/torus geometry, the sample-argument checks, the dtypes."""

from __future__ import annotations

import numpy as np

from cavitykit._validation import check_choice, check_generator, check_int

DTYPES = ("float32", "float64")


def check_sample_args(n_samples, rng) -> tuple[int, np.random.Generator]:
    """The arguments of every model's ``sample(P, rng)``, checked: P >= 1, rng a numpy Generator."""
    return check_int("P", n_samples, minimum=1), check_generator("rng", rng)


class TorusModel:
    """Common geometry of models living on a ring (dim=1) or an L x L torus (dim=2)."""

    name = "model"

    def __init__(self, L, *, dim=1, dtype="float64"):
        self.L = check_int("L", L, minimum=2)
        if isinstance(dim, bool) or dim not in (1, 2):
            raise ValueError(f"dim must be 1 or 2, got {dim!r}")
        self.dim = int(dim)
        self.dtype = np.dtype(check_choice("dtype", np.dtype(dtype).name, DTYPES))

    @property
    def D(self) -> int:
        """Input dimension: L (ring) or L^2 (torus)."""
        return self.L**self.dim

    @property
    def shape(self) -> tuple[int, ...]:
        """Image shape: (L,) or (L, L)."""
        return (self.L,) * self.dim

    def describe(self) -> dict:
        """Flat description of the model (goes into netCDF attributes)."""
        return {"data_model": self.name, "L": self.L, "dim": self.dim, "D": self.D, "dtype": self.dtype.name}
