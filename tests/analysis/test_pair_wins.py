"""The pruned-versus-kept AUC's kernel: Mann-Whitney counts between replicates, by hand, by brute force
and against scipy."""

import numpy as np
import pytest
import scipy.stats

from cavitykit.analysis import replicate_pair_wins


def test_a_hand_made_case():
    pruned = [np.array([3.0, 1.0]), np.array([0.0])]
    kept = [np.array([1.0, 2.0]), np.array([])]
    wins, pairs = replicate_pair_wins(pruned, kept)
    # 3 beats 1 and 2; 1 ties 1 (a half) and loses to 2; 0 loses to both; nothing to beat in replicate 1.
    np.testing.assert_array_equal(wins, [[2.5, 0.0], [0.0, 0.0]])
    np.testing.assert_array_equal(pairs, [[4.0, 0.0], [2.0, 0.0]])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_brute_force_and_scipy(seed):
    rng = np.random.default_rng(seed)
    # Rounded scores: many ties, which count a half.
    pruned = [np.round(rng.standard_normal(n), 1) for n in (7, 12, 1)]
    kept = [np.round(rng.standard_normal(n) + 0.3, 1) for n in (9, 4, 15)]
    wins, pairs = replicate_pair_wins(pruned, kept)
    for r1, a in enumerate(pruned):
        for r2, b in enumerate(kept):
            brute = sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in a for y in b)
            assert wins[r1, r2] == brute
            assert pairs[r1, r2] == a.size * b.size
            assert wins[r1, r2] == scipy.stats.mannwhitneyu(a, b).statistic
