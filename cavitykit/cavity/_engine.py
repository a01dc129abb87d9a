"""Mixed central power sums of two sets of variables, as float64 GEMMs in torch, chunked over samples.

For centred variables Y (P x J) and Z (P x Q) the engine accumulates
M[a, b][j, q] = sum_p Y[p, j]^a Z[p, q]^b for every (a, b) with a + b in a
set of total orders R: one GEMM (Z^b)^T [Y^a1, Y^a2, ...] per power b.  The
k-statistic of Y_j + s Z_q for *every* pair (j, q) and every s follows from
these sums alone (``theory/cavity.md``).
"""

from __future__ import annotations

import numpy as np
import torch

from cavitykit.stats import KSTAT_TERMS

# Rows per chunk keep one chunk's powers near this many bytes: cache-sized on a CPU (the fastest
# there), large on a GPU where launches cost more than memory.
CHUNK_BYTES = {"cpu": 8 * 2**20, "cuda": 512 * 2**20}


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
        # pairs[b] lists the a >= 1 with a + b in powers, for b >= 1: one GEMM per b, accumulated
        # in place (addmm_) into a stacked block whose row slices are the M[a, b].
        pairs = {b: [r - b for r in self.powers if r - b >= 1] for b in range(1, self.max_power)}
        self.pairs = {b: a_list for b, a_list in pairs.items() if a_list}
        self.blocks = {b: torch.zeros(len(a_list) * n_y, n_z, **options) for b, a_list in self.pairs.items()}
        self.mixed = {
            (a, b): self.blocks[b][index * n_y : (index + 1) * n_y]
            for b, a_list in self.pairs.items()
            for index, a in enumerate(a_list)
        }
        self.y_sums = {r: torch.zeros(n_y, **options) for r in self.powers}
        self.z_known = z_sums is not None
        if self.z_known:
            self.z_sums = {r: torch.as_tensor(z_sums[r], **options) for r in self.powers}
        else:
            self.z_sums = {r: torch.zeros(n_z, **options) for r in self.powers}

    @property
    def highest_z_power(self) -> int:
        """Highest power of Z a GEMM reads."""
        return max(self.pairs, default=1)

    def add(self, y_rows: torch.Tensor, z_powers: list[torch.Tensor]) -> None:
        """Add one chunk of centred samples, float64.

        Parameters
        ----------
        y_rows : torch.Tensor of shape (n_y, rows)
            The narrow side with samples along rows: Y transposed, as ``W @ X.T`` returns it (that
            GEMM orientation and the GEMMs below, ``(n_y, rows) @ (rows, n_z)``, are the fast ones
            for skinny Y in MKL).
        z_powers : list of torch.Tensor of shape (rows, n_z)
            ``CentredPowers`` of the chunk's Z, up to ``highest_z_power``.
        """
        self.count += z_powers[1].shape[0]
        y_powers = _powers(y_rows, self.max_power)
        for r in self.powers:
            self.y_sums[r] += _power_sum(y_powers, r, dim=1)
            if not self.z_known:
                self.z_sums[r] += _power_sum(z_powers, r, dim=0)
        for b, a_list in self.pairs.items():
            stacked = torch.cat([y_powers[a] for a in a_list]) if len(a_list) > 1 else y_powers[a_list[0]]
            self.blocks[b].addmm_(stacked, z_powers[b])

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


class CentredPowers:
    """Powers (z - mean)^b, b = 1..top, of successive chunks, written into buffers reused across chunks.

    A fresh multi-MB tensor per chunk costs page faults that took longer than the
    multiplications themselves.
    """

    def __init__(self, top: int):
        self.top = top
        self.buffers = None

    def __call__(self, z: torch.Tensor, mean: torch.Tensor) -> list[torch.Tensor]:
        """[None, zc, zc^2, ..., zc^top] with zc = z - mean.

        Parameters
        ----------
        z : torch.Tensor of shape (rows, n_z)
            One chunk of samples (float32 or float64).
        mean : torch.Tensor of shape (n_z,), float64, on the device of z

        Returns
        -------
        list of torch.Tensor of shape (rows, n_z), float64, valid until the next call.
        """
        rows = z.shape[0]
        if self.buffers is None or self.buffers.shape[1] < rows:
            self.buffers = torch.empty((self.top, *z.shape), dtype=torch.float64, device=z.device)
        out = self.buffers[:, :rows]
        torch.sub(z, mean, out=out[0])
        for b in range(1, self.top):
            torch.mul(out[b - 1], out[0], out=out[b])
        return [None, *out]


def _powers(x: torch.Tensor, max_power: int) -> list[torch.Tensor]:
    """[None, x, x^2, ..., x^max_power] by repeated multiplication."""
    out = [None, x]
    for _ in range(2, max_power + 1):
        out.append(out[-1] * x)
    return out


def _power_sum(powers: list[torch.Tensor], r: int, dim: int) -> torch.Tensor:
    """Sums of x^r along ``dim`` from the available powers (x^r itself need not be materialized)."""
    if r < len(powers):
        return powers[r].sum(dim=dim)
    half = r // 2
    return (powers[half] * powers[r - half]).sum(dim=dim)
