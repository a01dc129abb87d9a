"""Mixed central power sums of two sets of variables, as float64 GEMMs in torch, chunked over samples.

For centred variables Y (P x J) and Z (P x Q) the engine accumulates
M[a, b][j, q] = sum_p Y[p, j]^a Z[p, q]^b for every (a, b) with a + b in a
set of total orders R: one GEMM (Z^b)^T [Y^a1, Y^a2, ...] per power b.  The
k-statistic of Y_j + s Z_q for *every* pair (j, q) and every s follows from
these sums alone (REFERENCE.md section 5, and ``theory/cavity.md``).
"""

from __future__ import annotations

import numpy as np
import torch

from cavitykit.stats._kstat_formulas import KSTAT_TERMS

# Rows per chunk keep one chunk's powers near this many bytes: cache-sized on a CPU
# (measured fastest on 2 cores), large on a GPU where launches cost more than memory.
CHUNK_BYTES = {"cpu": 4 * 2**20, "cuda": 512 * 2**20}


def resolve_device(device) -> torch.device:
    """``None`` picks CUDA when present, else the CPU; strings and devices pass through checked."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'cpu', 'cuda' or a torch.device, got {device!r}") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} but torch sees no CUDA device")
    return device


def chunk_rows(batch_size, n_samples: int, width: int, device: torch.device) -> int:
    """Rows per chunk: ``batch_size`` if given, else what keeps ``width`` float64 columns near ``CHUNK_BYTES``."""
    if batch_size is not None:
        return batch_size
    budget = CHUNK_BYTES.get(device.type, CHUNK_BYTES["cpu"])
    return int(min(n_samples, max(256, budget // (8 * max(width, 1)))))


def needed_powers(orders) -> list[int]:
    """Power sums r >= 2 that the central closed forms of the k-statistics of ``orders`` read."""
    return sorted({r for order in orders for powers, _, _ in KSTAT_TERMS[order] for r in powers})


class MixedSums:
    """Accumulator of central mixed power sums M[a, b] for a + b in ``powers``.

    Parameters
    ----------
    powers : list of int
        Total orders r (each >= 2) whose sums M[r - b, b], b = 0..r, are needed.
    n_y, n_z : int
        Number of Y and Z columns.
    device : torch.device
    z_sums : dict r -> ndarray of shape (n_z,), optional
        Central power sums of Z over all samples, when already known (then not accumulated).
    """

    def __init__(self, powers, n_y: int, n_z: int, device: torch.device, *, z_sums: dict | None = None):
        self.powers = list(powers)
        self.max_power = max(self.powers)
        self.count = 0
        options = {"dtype": torch.float64, "device": device}
        # pairs[b] lists the a >= 1 with a + b in powers, for b >= 1 (one GEMM per b).
        self.pairs = {b: [r - b for r in self.powers if r - b >= 1] for b in range(1, self.max_power)}
        self.pairs = {b: a_list for b, a_list in self.pairs.items() if a_list}
        self.mixed = {(a, b): torch.zeros(n_y, n_z, **options) for b, a_list in self.pairs.items() for a in a_list}
        self.y_sums = {r: torch.zeros(n_y, **options) for r in self.powers}
        self.z_known = z_sums is not None
        if self.z_known:
            self.z_sums = {r: torch.as_tensor(z_sums[r], **options) for r in self.powers}
        else:
            self.z_sums = {r: torch.zeros(n_z, **options) for r in self.powers}

    def add(self, y: torch.Tensor, z: torch.Tensor) -> None:
        """Add one chunk of centred samples: y of shape (rows, n_y), z of shape (rows, n_z), float64."""
        self.count += y.shape[0]
        y_powers = _powers(y, self.max_power)
        # z is the wide side: only the powers the GEMMs read are materialized.
        z_powers = _powers(z, max(self.pairs, default=1))
        for r in self.powers:
            self.y_sums[r] += _power_sum(y_powers, r)
            if not self.z_known:
                self.z_sums[r] += _power_sum(z_powers, r)
        for b, a_list in self.pairs.items():
            stacked = torch.cat([y_powers[a] for a in a_list], dim=1) if len(a_list) > 1 else y_powers[a_list[0]]
            product = stacked.T @ z_powers[b]
            for index, a in enumerate(a_list):
                self.mixed[(a, b)] += product[index * y.shape[1] : (index + 1) * y.shape[1]]

    def to_numpy(self) -> np.ndarray:
        """All sums as one array of shape (R + 1, R + 1, n_y, n_z); entries not needed are zero."""
        n_y, n_z = next(iter(self.y_sums.values())).shape[0], next(iter(self.z_sums.values())).shape[0]
        out = np.zeros((self.max_power + 1, self.max_power + 1, n_y, n_z))
        out[0, 0] = self.count
        for r in self.powers:
            out[r, 0] = self.y_sums[r].cpu().numpy()[:, None]
            out[0, r] = self.z_sums[r].cpu().numpy()[None, :]
        for (a, b), value in self.mixed.items():
            out[a, b] = value.cpu().numpy()
        return out


def _powers(x: torch.Tensor, max_power: int) -> list[torch.Tensor]:
    """[None, x, x^2, ..., x^max_power] by repeated multiplication."""
    out = [None, x]
    for _ in range(2, max_power + 1):
        out.append(out[-1] * x)
    return out


def _power_sum(powers: list[torch.Tensor], r: int) -> torch.Tensor:
    """Column sums of x^r from the available powers (x^r itself need not be materialized)."""
    if r < len(powers):
        return powers[r].sum(dim=0)
    half = r // 2
    return (powers[half] * powers[r - half]).sum(dim=0)
