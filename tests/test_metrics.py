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


# Shape, connectivity and the nulls of magnitude pruning (known answers: enumeration, exact formulas).


def _grid(L=20):
    y, x = np.mgrid[:L, :L]
    return y, x


def test_checkerboard_patch_is_not_a_bump_though_its_width_and_ipr_say_local():
    y, x = _grid()
    bump = np.exp(-((x - 9.0) ** 2 + (y - 12.0) ** 2) / 3).ravel()
    checkerboard = bump * ((-1.0) ** (x + y)).ravel()
    width = metrics.receptive_field(checkerboard, (20, 20))["width"]
    assert metrics.is_localized(width, (20, 20))  # the circular width cannot tell them apart ...
    assert metrics.ipr(checkerboard) == pytest.approx(metrics.ipr(bump))  # ... nor can the IPR
    assert metrics.shape_class(checkerboard, (20, 20)) == "oscillatory"
    assert metrics.shape_class(bump, (20, 20)) == "bump"
    assert metrics.sign_coherence(checkerboard, (20, 20)) == pytest.approx(-1.0)
    assert metrics.sign_coherence(bump, (20, 20)) == pytest.approx(1.0)


def test_survivors_on_one_sublattice_of_a_plateau_are_oscillatory_and_unconnected():
    y, x = _grid()
    plateau = 1.0 + 0.05 * np.random.default_rng(1).standard_normal(400)
    kept = np.flatnonzero(((x + y) % 2 == 0).ravel())[::5]  # 40 pixels, all of even parity
    field = np.zeros(400)
    field[kept] = plateau[kept]
    assert metrics.connectivity(field != 0, (20, 20)) == 0.0
    assert metrics.sublattice_share(field, (20, 20)) == pytest.approx(1.0)
    assert metrics.shape_class(field, (20, 20)) == "oscillatory"


def test_a_compact_blob_of_one_sign_on_one_sublattice_is_a_bump_and_its_checkerboard_is_not():
    # Eight survivors in a 3 x 3 patch: a heavy centre (even sublattice), its four neighbours and three
    # diagonal pixels, all positive: 78 % of the squared weight on one sublattice, every pixel linked.
    blob = np.zeros((20, 20))
    blob[9, 9] = 1.0
    for row, column in [(8, 9), (10, 9), (9, 8), (9, 10), (8, 8), (10, 10), (8, 10)]:
        blob[row, column] = 0.3
    blob = blob.ravel()
    assert metrics.sublattice_share(blob, (20, 20)) == pytest.approx(1.27 / 1.63)
    assert metrics.sublattice_share(blob, (20, 20)) >= metrics.SUBLATTICE_SHARE
    assert metrics.compactness(blob, (20, 20)) == pytest.approx(1.0)
    assert metrics.shape_class(blob, (20, 20)) == "bump"
    assert metrics.shape_class(-blob, (20, 20)) == "bump"  # the sign of a field is not its shape
    y, x = _grid()
    checkerboard = blob * ((-1.0) ** (x + y)).ravel()  # the same pixels, alternating in sign
    assert metrics.sign_coherence(checkerboard, (20, 20)) < 0
    assert metrics.shape_class(checkerboard, (20, 20)) == "oscillatory"
    mixed = blob.copy()
    mixed[np.ravel_multi_index((8, 8), (20, 20))] = -0.3  # one diagonal survivor of the other sign
    assert metrics.shape_class(mixed, (20, 20)) == "oscillatory"  # no longer of one sign, still on a sublattice


def test_a_fragmented_narrow_field_is_scattered_and_a_bump_with_stray_survivors_is_a_bump(rng):
    y, x = _grid()
    bump = np.exp(-((x - 6.0) ** 2 + (y - 14.0) ** 2) / 4).ravel()
    # nine pixels of a 5 x 5 plateau, mostly apart, two thirds on one sublattice: the clone past 80% pruned
    fragmented = np.zeros((20, 20))
    for row, column in [(0, 0), (0, 3), (1, 3), (2, 0), (2, 2), (2, 3), (3, 4), (4, 0), (4, 2)]:
        fragmented[8 + row, 8 + column] = 1.0
    fragmented = fragmented.ravel()
    assert metrics.connectivity(fragmented != 0, (20, 20)) == pytest.approx(4 / 9)
    assert metrics.sublattice_share(fragmented, (20, 20)) < metrics.SUBLATTICE_SHARE
    assert metrics.compactness(fragmented, (20, 20)) < metrics.COMPACTNESS
    assert metrics.shape_class(fragmented, (20, 20)) == "scattered"
    kept = np.where(bump > 0.05, bump, 0.0)
    kept[rng.choice(400, size=6, replace=False)] += 1e-3  # six tiny stray survivors
    assert metrics.compactness(kept, (20, 20)) > 0.99
    assert metrics.shape_class(kept, (20, 20)) == "bump"


def test_connectivity_null_equals_enumeration_of_every_placement():
    import itertools

    for shape in [(4, 4), (7,), (3, 5)]:
        D = int(np.prod(shape))
        for n in (1, 2, 3, D - 1, D):
            shares = []
            for kept in itertools.combinations(range(D), n):
                mask = np.zeros(D, bool)
                mask[list(kept)] = True
                shares.append(metrics.connectivity(mask, shape))
            assert metrics.connectivity_null(n, shape) == pytest.approx(np.mean(shares), abs=1e-12), (shape, n)


def test_truncated_ipr_equals_brute_force(rng):
    w = rng.standard_normal((3, 30))
    n = np.array([1, 7, 30])
    got = metrics.truncated_ipr(w, n)
    for unit in range(3):
        top = w[unit][np.argsort(-np.abs(w[unit]))[: n[unit]]]
        assert got[unit] == pytest.approx(metrics.ipr(top), rel=1e-12)
    assert np.isnan(metrics.truncated_ipr(w[0], 0))


def test_top_magnitude_null_matches_its_limits_and_an_independent_monte_carlo():
    D = 60
    null = metrics.top_magnitude_ipr(D)
    assert null[1] == 1.0
    se = 0.002  # relative standard error of 4000 draws, generously
    assert null[D] == pytest.approx(3 / (D + 2), rel=3 * se)  # E[sum u^4] on the sphere, exactly
    other = np.random.default_rng(99).standard_normal((40_000, D))
    for n in (2, 10, 30):
        top = -np.partition(-np.abs(other), n - 1, axis=1)[:, :n]
        reference = metrics.ipr(top)
        tolerance = 4 * np.hypot(reference.std() / np.sqrt(reference.size), null[n] * se)
        assert null[n] == pytest.approx(reference.mean(), abs=tolerance)
        assert null[n] < 3 / (n + 2)  # the top of D is flatter than n random entries


def test_white_noise_low_frequency_share_follows_its_beta_law(rng):
    from scipy import stats

    shape = (12, 12)
    shares = metrics.low_frequency_share(rng.standard_normal((4000, 144)), shape)
    mean, threshold = metrics.noise_low_frequency_share(shape)
    m = round(mean * 144)
    assert stats.kstest(shares, stats.beta(m / 2, (144 - m) / 2).cdf).pvalue > 1e-3
    assert threshold == pytest.approx(stats.beta.isf(metrics.NOISE_LEVEL, m / 2, (144 - m) / 2))


def test_unit_classes_of_hand_made_dense_fields(rng):
    y, x = _grid()
    bumps = [np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / 5).ravel() for cx, cy in [(3, 4), (19, 0), (10, 10)]]
    smooth = [np.cos(2 * np.pi * (x + 2 * y) / 20).ravel(), np.exp(-((x - 10.0) ** 2) / 40).ravel()]
    noise = list(rng.standard_normal((200, 400)))
    classes = metrics.unit_class(np.stack(bumps + smooth + noise), (20, 20))
    assert classes[:3].tolist() == ["bump"] * 3
    assert classes[3:5].tolist() == ["extended"] * 2
    assert (classes[5:] == "noise").mean() >= 0.98  # the criterion's false-alarm rate is 1e-3
    # a learned bump under noise of equal norm is still learned
    mixed = bumps[0] / np.linalg.norm(bumps[0]) + 0.3 * noise[0] / np.linalg.norm(noise[0])
    assert metrics.unit_class(mixed, (20, 20)) == "bump"


# Bounded grids (images are not tori): brute force against the vectorized metrics.


def bounded_neighbours(shape):
    """Each pixel's 4-neighbours inside an H x W grid, by hand."""
    H, W = shape
    return [
        [
            (r + dr) * W + (c + dc)
            for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))
            if 0 <= r + dr < H and 0 <= c + dc < W
        ]
        for r in range(H)
        for c in range(W)
    ]


def test_bounded_centre_and_width_are_the_coordinates_mean_and_sd(rng):
    shape = (3, 5)
    weights = rng.standard_normal((4, 15)) * (rng.random((4, 15)) > 0.5)
    rf = metrics.receptive_field(weights, shape, periodic=False)
    rows, columns = np.divmod(np.arange(15), 5)
    for unit, w in enumerate(weights):
        p = w**2 / np.sum(w**2)
        for axis, coordinate in enumerate((rows, columns)):
            mean = np.sum(p * coordinate)
            assert rf["centre"][unit, axis] == pytest.approx(mean)
            assert rf["width"][unit, axis] == pytest.approx(np.sqrt(np.sum(p * (coordinate - mean) ** 2)), abs=1e-12)
    # The two corners of a row are far apart on a bounded grid, neighbours on a ring.
    corners = np.zeros((1, 15))
    corners[0, [0, 4]] = 1.0
    assert metrics.receptive_field(corners, shape, periodic=False)["width"][0, 1] == pytest.approx(2.0)
    assert metrics.receptive_field(corners, shape)["width"][0, 1] < 1.0


def test_bounded_connectivity_and_its_exact_null_by_enumeration(rng):
    import itertools

    shape = (3, 4)
    neighbours = bounded_neighbours(shape)
    masks = rng.random((20, 12)) > 0.6
    expected = [
        np.mean([any(m[j] for j in neighbours[i]) for i in np.flatnonzero(m)]) if m.any() else np.nan for m in masks
    ]
    np.testing.assert_allclose(metrics.connectivity(masks, shape, periodic=False), expected)
    for n in (2, 3, 5):
        placements = [np.isin(np.arange(12), chosen) for chosen in itertools.combinations(range(12), n)]
        average = np.mean(metrics.connectivity(np.array(placements), shape, periodic=False))
        assert metrics.connectivity_null(n, shape, periodic=False) == pytest.approx(average)
        assert metrics.connectivity_null(n, shape) != pytest.approx(average)  # the torus has more neighbours


def test_connection_distances_and_their_null_by_enumeration(rng):
    import itertools

    shape = (3, 3)
    coordinates = np.array(np.divmod(np.arange(9), 3)).T
    edges = metrics.distance_bins(shape)
    masks = rng.random((10, 9)) > 0.5
    for mask, counts in zip(masks, metrics.connection_distances(masks, shape), strict=True):
        kept = coordinates[mask]
        distances = [np.hypot(*(a - b)) for a, b in itertools.combinations(kept, 2)]
        np.testing.assert_array_equal(counts, np.histogram(distances, edges)[0])
    for n in (2, 4):
        placements = np.array([np.isin(np.arange(9), chosen) for chosen in itertools.combinations(range(9), n)])
        average = metrics.connection_distances(placements, shape).mean(axis=0)
        np.testing.assert_allclose(metrics.connection_distances_null(n, shape), average)
    local = np.zeros((1, 9), bool)
    local[0, [0, 1, 3, 4]] = True  # a 2 x 2 block: all its pairs lie within 1.41
    assert metrics.connection_distances(local, shape)[0, 0] == 6
    assert metrics.connection_distances_null(4, shape)[0] < 6


def test_the_random_placement_nulls_within_a_support_equal_brute_force():
    """Placement among the pixels a network sees (the 4 x 5 inside of a 6 x 7 image): every n-subset of a
    smaller support enumerated for the connectivity null, every pair for the distance null."""
    from itertools import combinations

    shape = (6, 7)
    support = np.zeros(shape, bool)
    support[1:5, 1:6] = True
    inside = np.flatnonzero(support.ravel())
    for n in (1, 2, 3):
        masks = np.zeros((0, 42), bool)
        for chosen in combinations(inside, n):
            row = np.zeros((1, 42), bool)
            row[0, list(chosen)] = True
            masks = np.concatenate([masks, row])
        exact = metrics.connectivity_null([n], shape, periodic=False, support=support.ravel())[0]
        assert exact == pytest.approx(metrics.connectivity(masks, shape, periodic=False).mean(), rel=1e-12)
        distances = metrics.connection_distances(masks, shape, periodic=False).mean(axis=0)
        null = metrics.connection_distances_null([n], shape, periodic=False, support=support.ravel())[0]
        np.testing.assert_allclose(null, distances, rtol=1e-12, atol=1e-12)
