"""Power sums re-centred and mixed central sums against sums written out directly."""

import numpy as np

from cavitykit.stats.moments import mixed_central_moments, recentre


def test_recentre_gives_the_power_sums_about_the_new_centre():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((50, 3)) + 2.0
    about_zero = np.stack([(x**p).sum(axis=0) for p in range(6)])  # (power, column)
    offset = np.array([0.5, -1.0, 2.0])
    expected = np.stack([((x - offset) ** p).sum(axis=0) for p in range(6)])
    np.testing.assert_allclose(recentre(about_zero, offset), expected, rtol=1e-10)
    np.testing.assert_allclose(recentre(about_zero.T, offset, axis=1), expected.T, rtol=1e-10)


def test_mixed_central_moments_are_the_sums_by_definition():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 4)) * 3 + 10  # far from zero: the centring matters
    y = x**2 / 10 + rng.standard_normal((200, 4))
    mean_x, mean_y, sums = mixed_central_moments(x, y, 4)
    np.testing.assert_allclose(mean_x, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(mean_y, y.mean(axis=0), rtol=1e-12)
    dx, dy = x - x.mean(axis=0), y - y.mean(axis=0)
    for a in range(5):
        for b in range(5 - a):
            expected = (dx**a * dy**b).sum(axis=0)
            scale = (np.abs(dx) ** a * np.abs(dy) ** b).sum(axis=0).max()  # the sums' rounding is relative to it
            np.testing.assert_allclose(sums[a, b], expected, rtol=1e-9, atol=1e-12 * scale)
