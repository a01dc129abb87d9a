"""Pre-activation k-statistics with batch-means errors: scipy's values, and a stream of chunks that is
the in-memory split into batches."""

import numpy as np
import pytest
import scipy.stats

from cavitykit.buffers import Scratch
from cavitykit.stats import BatchedKstats, preactivation_statistics, standardize_kstats


@pytest.fixture
def layer():
    rng = np.random.default_rng(3)
    return rng.uniform(-1, 1, (400, 6)), rng.standard_normal((3, 6)), rng.standard_normal(3)


def scipy_kstats(values):
    return np.array([[scipy.stats.kstat(values[:, j], n) for j in range(values.shape[1])] for n in range(1, 5)])


def test_the_kstatistics_on_either_library_and_of_each_batch_are_scipys(layer):
    torch = pytest.importorskip("torch")
    x, w, b = layer
    lam = x @ w.T / np.sqrt(6) + b
    statistics = preactivation_statistics(x, w, b, 4, n_batches=4)
    np.testing.assert_allclose(statistics.kstats(), scipy_kstats(lam), rtol=1e-10)
    assert statistics.sizes == [100] * 4
    np.testing.assert_allclose(statistics.batch_kstats[0], scipy_kstats(lam[:100]), rtol=1e-10)
    on_torch = preactivation_statistics(*(torch.from_numpy(a) for a in (x, w, b)), 4, scratch=Scratch())
    np.testing.assert_allclose(on_torch.kstats(), scipy_kstats(lam), rtol=1e-10)


def test_equal_batches_give_the_textbook_batch_means_error(layer):
    x, w, b = layer
    summary = preactivation_statistics(x, w, b, 4, n_batches=4).summary()
    lam = x @ w.T / np.sqrt(6) + b
    per_batch = np.stack([scipy_kstats(batch) for batch in np.split(lam, 4)])  # (batch, order, K)
    np.testing.assert_allclose(summary[2], per_batch.std(axis=0, ddof=1) / 2, rtol=1e-9)
    standardized = standardize_kstats(np.moveaxis(per_batch, 0, 1))
    np.testing.assert_allclose(summary[3][2:], standardized.std(axis=1, ddof=1)[2:] / 2, rtol=1e-9)
    np.testing.assert_allclose(summary[1], standardize_kstats(scipy_kstats(lam)), rtol=1e-9)


def test_unequal_batches_weigh_by_their_sizes():
    # estimates 1 (from 3 samples) and 4 (from 1): weighted mean 7/4, error sqrt((3 (3/4)^2 + (9/4)^2) / 4)
    statistics = BatchedKstats(2, sizes=[3, 1], batch_kstats=[np.array([[1.0], [1.0]]), np.array([[4.0], [1.0]])])
    statistics.total.update(np.array([[0.0], [1.0], [2.0], [4.0]]))
    assert statistics.summary()[2, 0, 0] == pytest.approx(np.sqrt((3 * 0.75**2 + 2.25**2) / 4))


def test_a_stream_of_chunks_is_the_in_memory_split(layer):
    x, w, b = layer
    in_memory = preactivation_statistics(x, w, b, 4, n_batches=4)
    streamed = BatchedKstats(4)
    for chunk in np.split(x, 4):
        streamed.merge(preactivation_statistics(chunk, w, b, 4))
    np.testing.assert_allclose(streamed.summary(), in_memory.summary(), rtol=1e-12)


def test_a_single_batch_has_no_error(layer):
    x, w, b = layer
    summary = preactivation_statistics(x, w, b, 4).summary()
    assert np.isnan(summary[2:]).all() and np.isfinite(summary[:2]).all()
