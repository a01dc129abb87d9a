import numpy as np
import pytest

from cavitykit.imp.prune import cavity_prune, kept_count, magnitude_prune, random_prune


@pytest.mark.parametrize("fraction", [0.2, 0.3, 0.5])
def test_kept_counts_follow_the_geometric_law_within_one(fraction):
    for n_weights in (7, 100, 1601):
        for rounds in range(12):
            assert abs(kept_count(n_weights, fraction, rounds) - n_weights * (1 - fraction) ** rounds) <= 1


def test_magnitude_prune_removes_the_smallest_remaining():
    weights = np.array([[0.1, -3.0, 0.2, 5.0], [-0.05, 1.0, 2.0, -0.3]])
    mask = np.array([[True, True, True, True], [False, True, True, True]])
    (removed,) = magnitude_prune([weights], [mask], [3])
    np.testing.assert_array_equal(removed, [[True, False, True, False], [False, False, False, True]])


def test_global_scope_uses_one_threshold_across_layers():
    # The two smallest weights overall are both in the first layer: one threshold takes both,
    # one threshold per layer takes the smallest of each.
    first, second = np.array([[0.1, 0.2, 3.0]]), np.array([[1.0, 4.0]])
    masks = [np.ones((1, 3), bool), np.ones((1, 2), bool)]
    layer = magnitude_prune([first, second], masks, [1, 1], scope="layer")
    shared = magnitude_prune([first, second], masks, [1, 1], scope="global")
    np.testing.assert_array_equal(layer[0], [[True, False, False]])
    np.testing.assert_array_equal(layer[1], [[True, False]])
    np.testing.assert_array_equal(shared[0], [[True, True, False]])
    np.testing.assert_array_equal(shared[1], [[False, False]])


def test_global_scope_skips_already_pruned_weights():
    # 0.1 is pruned already, so the two smallest remaining overall are 0.2 and 0.3, both in the first
    # layer (one threshold per layer would take 0.2 and 1.0 instead).
    first, second = np.array([[0.1, 0.2, 0.3]]), np.array([[1.0, 4.0]])
    masks = [np.array([[False, True, True]]), np.ones((1, 2), bool)]
    shared = magnitude_prune([first, second], masks, [1, 1], scope="global")
    np.testing.assert_array_equal(shared[0], [[False, True, True]])
    np.testing.assert_array_equal(shared[1], [[False, False]])


def test_random_prune_removes_the_count_among_remaining():
    mask = np.random.default_rng(0).random((10, 10)) > 0.3
    (removed,) = random_prune([mask], [17], np.random.default_rng(1))
    assert removed.sum() == 17 and not np.any(removed & ~mask)


def test_cavity_prune_takes_the_largest_raises_among_the_kept():
    rng = np.random.default_rng(5)
    raises = rng.normal(size=(3, 7))
    mask = rng.random((3, 7)) < 0.7
    raises[~mask] = np.nan
    removed = cavity_prune(raises, mask, 4)
    expected = np.zeros_like(mask)
    expected.flat[np.argsort(np.where(mask, -raises, np.inf), axis=None)[:4]] = True
    np.testing.assert_array_equal(removed, expected)
    assert not (removed & ~mask).any()


def test_the_strategy_registry_is_the_configs_vocabulary_with_each_schedule():
    from cavitykit.config import STRATEGIES as NAMES
    from cavitykit.imp.prune import STRATEGIES

    assert tuple(STRATEGIES) == NAMES
    # prunings the round after round r has had, in a run of 5 rounds
    assert [STRATEGIES["magnitude"].prunings(5, r) for r in range(3)] == [1, 2, 3]
    assert [STRATEGIES["one_shot"].prunings(5, r) for r in range(2)] == [4, 2]
    assert [STRATEGIES["dense"].prunings(5, r) for r in range(2)] == [1, 1]
    w, m = [np.array([[0.1, -2.0, 0.5, 3.0]])], [np.ones((1, 4), bool)]
    kept = STRATEGIES["magnitude"].remove(w, m, [2], scope="layer", seed=0, statistics=None)
    assert kept[0].tolist() == [[True, False, True, False]]
    drawn = STRATEGIES["random"].remove(w, m, [2], scope="layer", seed=3, statistics=None)
    assert drawn[0].tolist() == random_prune(m, [2], np.random.default_rng(3))[0].tolist()
    statistics = {"preact_excess_kurtosis": np.full((1, 1), 1.0), "cavity_exact": np.array([[[0.3, -0.1, 0.5, 0.2]]])}
    assert STRATEGIES["cavity"].remove(w, m, [2], scope="layer", seed=0, statistics=statistics)[0].tolist() == [
        [True, False, True, False]
    ]  # the two removals that raise |kurtosis| most
