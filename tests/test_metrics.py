"""Localization metrics on receptive fields whose answers are known by construction."""

import numpy as np
import pytest

from cavitykit import metrics


def test_ipr_limits_and_reciprocal():
    assert metrics.ipr(np.ones(50)) == pytest.approx(1 / 50)
    one_hot = np.zeros(50)
    one_hot[7] = -2.0
    assert metrics.ipr(one_hot) == 1.0
    w = np.array([1.0, 2.0, 0.0, -1.0])
    assert metrics.ipr(w) == pytest.approx((1 + 16 + 1) / 36)
    assert metrics.participation_ratio(w) == pytest.approx(36 / 18)
    assert np.isnan(metrics.ipr(np.zeros(3)))


def test_random_gaussian_ipr_is_three_over_d_plus_two(rng):
    D = 400
    values = metrics.ipr(rng.standard_normal((20_000, D)))
    assert values.mean() == pytest.approx(3 / (D + 2), rel=0.01)


def test_bump_has_its_centre_and_width_even_across_the_seam():
    L, sigma = 60, 2.0
    distance = np.minimum(np.abs(np.arange(L) - 58), L - np.abs(np.arange(L) - 58))
    bump = np.exp(-(distance**2) / (4 * sigma**2))  # squared weights: a Gaussian of sd sigma
    field = metrics.receptive_field(bump, (L,))
    assert field["centre"][0] == pytest.approx(58.0, abs=1e-9)
    assert field["width"][0] == pytest.approx(sigma, rel=0.01)
    assert metrics.localized_fraction(bump[None], (L,)) == 1.0
    assert metrics.localized_fraction(np.ones((1, L)), (L,)) == 0.0


def test_two_dimensional_field_has_a_centre_per_axis():
    L = 10
    image = np.zeros((L, L))
    image[3, 8] = 1.0
    field = metrics.receptive_field(image.ravel(), (L, L))
    np.testing.assert_allclose(field["centre"], [3.0, 8.0], atol=1e-12)
    np.testing.assert_allclose(field["width"], [0.0, 0.0], atol=1e-6)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="must have 12 entries"):
        metrics.receptive_field(np.ones(10), (12,))


def test_torus_field_across_both_seams_has_its_centre_width_and_is_localized():
    """A Gaussian bump of sd 1.5 centred on pixel (x, y) = (19, 0) of a 20 x 20 torus, wrapping both edges."""
    L, sigma = 20, 1.5
    distance = np.minimum(np.abs(np.arange(L) - 19), L - np.abs(np.arange(L) - 19))
    distance_y = np.minimum(np.arange(L), L - np.arange(L))
    squares = np.exp(-(distance_y[:, None] ** 2 + distance[None, :] ** 2) / (2 * sigma**2))  # rows are y
    field = metrics.receptive_field(np.sqrt(squares).ravel(), (L, L))
    # Axis 0 of the grid is the row (y), axis 1 the column (x).
    np.testing.assert_allclose(field["centre"], [0.0, 19.0], atol=1e-9)
    np.testing.assert_allclose(field["width"], [sigma, sigma], rtol=0.02)
    assert metrics.is_localized(field["width"], (L, L))  # 1.5 < 0.1 L = 2 on both axes
    wide = np.sqrt(np.exp(-(distance_y[:, None] ** 2) / (2 * sigma**2)) * np.ones((1, L))).ravel()
    assert not metrics.is_localized(metrics.receptive_field(wide, (L, L))["width"], (L, L))


def test_abs_kurtosis_change_by_hand():
    # k = -0.5: a removal of -0.2 makes it -0.7 (|k| up 0.2), of +0.2 makes it -0.3 (down), of +1.5 makes it 1.0.
    kurtosis = np.array([[-0.5], [2.0]])
    delta = np.array([[-0.2, 0.2, 1.5], [-3.0, 0.0, 1.0]])
    np.testing.assert_allclose(
        metrics.abs_kurtosis_change(kurtosis, delta), [[0.2, -0.2, 0.5], [-1.0, 0.0, 1.0]], atol=1e-15
    )
