"""k-statistics of a layer's pre-activations with batch-means standard errors, in memory or in chunks.

One computation behind a run's per-round statistics (the runner), its cumulant spectra (in memory
or streamed over dask) and the cavity method's statistic before any removal: the held-out inputs
split into batches and a stream of sample chunks are the same case, ``BatchedKstats`` merged batch
by batch.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np

from cavitykit.buffers import Scratch
from cavitykit.network.formulas import preactivation
from cavitykit.stats.kstatistics import MomentAccumulator, standardize_kstats


@dataclass
class BatchedKstats:
    """k-statistics of every sample seen and of each batch of them, mergeable batch by batch.

    Parameters
    ----------
    max_order : int
        Highest order n (1..8).
    total : MomentAccumulator
        The power sums of every batch.
    sizes : list of int
        Samples per batch, in the order the batches were added.
    batch_kstats : list of ndarray of shape (max_order, K)
        Each batch's own k-statistics.

    Examples
    --------
    >>> from cavitykit.stats import kstats
    >>> values = np.random.default_rng(0).standard_normal((1000, 2))
    >>> statistics = BatchedKstats(4).add(values[:600]).add(values[600:])
    >>> statistics.sizes, bool(np.allclose(statistics.kstats(), kstats(values, 4)))
    ([600, 400], True)
    """

    max_order: int
    total: MomentAccumulator = None
    sizes: list[int] = field(default_factory=list)
    batch_kstats: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self):
        if self.total is None:
            self.total = MomentAccumulator(self.max_order)

    def add(self, values: np.ndarray) -> BatchedKstats:
        """Add one batch of shape (n, K) (n at least ``max_order``); returns self."""
        batch = MomentAccumulator(self.max_order).update(values)
        self.batch_kstats.append(batch.kstats())
        self.sizes.append(len(values))
        self.total.merge(batch)
        return self

    def merge(self, other: BatchedKstats) -> BatchedKstats:
        """Fold ``other``'s batches into this one (in place); returns self."""
        self.total.merge(other.total)
        self.sizes += other.sizes
        self.batch_kstats += other.batch_kstats
        return self

    def kstats(self) -> np.ndarray:
        """k_1..k_max_order over every batch: ndarray of shape (max_order, K)."""
        return self.total.kstats()

    def summary(self) -> np.ndarray:
        """k-statistics, standardized cumulants k_n / k_2^(n/2) and the batch-means standard error of each.

        The error of an estimate x from batches i of n_i samples, whose own estimates are x_i, is
        sqrt(sum_i n_i (x_i - xbar)^2 / ((B - 1) sum_i n_i)) with xbar the n_i-weighted mean of B
        batches: std(x_i) / sqrt(B) when the batches are equal, and NaN with a single batch.

        Returns
        -------
        ndarray of shape (4, max_order, K)
            k, k standardized, the error of k and the error of k standardized.
        """
        k = self.kstats()
        if len(self.sizes) < 2:  # no spread between batches to measure
            return np.stack([k, standardize_kstats(k), np.full_like(k, np.nan), np.full_like(k, np.nan)])
        per_batch = np.stack(self.batch_kstats, axis=1)  # (max_order, batches, K)
        sizes = np.asarray(self.sizes, dtype=np.float64)
        errors = []
        for estimates in (per_batch, standardize_kstats(per_batch)):
            deviations = estimates - np.average(estimates, axis=1, weights=sizes)[:, None]
            spread = np.einsum("b,obk->ok", sizes, deviations**2)
            errors.append(np.sqrt(spread / ((len(sizes) - 1) * sizes.sum())))
        return np.stack([k, standardize_kstats(k), *errors])


def preactivation_statistics(
    inputs, weights, bias, max_order: int, *, n_batches: int = 1, scratch: Scratch | None = None
) -> BatchedKstats:
    """k-statistics of each unit's pre-activation lambda = w . x / sqrt(D) (+ b), batch by batch.

    Parameters
    ----------
    inputs : ndarray or torch.Tensor of shape (P, D), float64
        A CPU tensor runs the product on torch's threads (the runner's, while it trains); an array
        on numpy's, so that reading runs needs no torch.
    weights : ndarray or torch.Tensor of shape (K, D), float64
        The library of ``inputs``; pruned weights zero.
    bias : ndarray or torch.Tensor of shape (K,), optional
    max_order : int
        Highest order n (1..8).
    n_batches : int
        Consecutive batches (``numpy.array_split``) whose own k-statistics give the batch-means
        errors of ``BatchedKstats.summary``; a stream merges one call per chunk instead.
    scratch : cavitykit.buffers.Scratch, optional
        Holds the (P, K) pre-activations from call to call; by default a fresh buffer.

    Returns
    -------
    BatchedKstats

    Examples
    --------
    >>> x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    >>> statistics = preactivation_statistics(x, np.array([[2.0, 0.0]]), None, 2)  # sqrt(2) x_0
    >>> np.round(statistics.kstats()[:, 0], 4)  # mean sqrt(2) / 2, variance 2 / 3 (unbiased)
    array([0.7071, 0.6667])
    """
    buffer = (Scratch() if scratch is None else scratch).array("preactivations", (len(inputs), len(weights)))
    # numpy's matmul for arrays, torch's for tensors (torch is loaded when a tensor is passed)
    out = buffer if isinstance(inputs, np.ndarray) else sys.modules["torch"].from_numpy(buffer)
    preactivation(inputs, weights, bias, out=out)
    statistics = BatchedKstats(max_order)
    for batch in np.array_split(buffer, n_batches):
        statistics.add(batch)
    return statistics
