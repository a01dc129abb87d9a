"""A researcher's own labelled images: reading, classes, splits, standardization, every bad input refused,
and the Gaussian clone of a labelled data set."""

import numpy as np
import pytest

from cavitykit.data.labelled import (
    EmpiricalImages,
    GaussianImages,
    LabelledImages,
    class_groups,
    read_labelled,
    stored_image_shape,
)
from cavitykit.stats import kstat_variance, kstats


def saved(tmp_path, name="mine.npz", **arrays):
    path = tmp_path / name
    np.savez(path, **arrays)
    return path


def test_colour_non_square_images_become_bt709_grayscale(tmp_path):
    rgb = np.zeros((2, 3, 5, 3), np.uint8)
    rgb[0, 1, 2] = [255, 0, 0]
    rgb[1, 0, 4] = [0, 255, 255]
    images, labels = read_labelled(saved(tmp_path, X=rgb, y=np.array([7, 9], np.uint8)))
    assert images.shape == (2, 3, 5) and labels.dtype == np.int64
    assert images[0, 1, 2] == pytest.approx(0.2125) and images[1, 0, 4] == pytest.approx(0.7154 + 0.0721)
    assert images.sum() == pytest.approx(0.2125 + 0.7154 + 0.0721)


def test_a_folder_of_two_npy_files_and_other_keys(tmp_path):
    np.save(tmp_path / "images.npy", np.arange(24.0).reshape(2, 3, 4))
    np.save(tmp_path / "targets.npy", np.array([0, 1]))
    images, labels = read_labelled(tmp_path, images_key="images", labels_key="targets")
    np.testing.assert_array_equal(images, np.arange(24.0).reshape(2, 3, 4))
    assert labels.tolist() == [0, 1]


def good_images(rng, n=40):
    return rng.random((n, 3, 4)), np.arange(n) % 2


@pytest.mark.parametrize(
    ("arrays", "kwargs", "message"),
    [
        ({"X": np.zeros((4, 3, 3))}, {}, r"data.path: .*mine.npz' has no array 'y' \(it has \['X'\]\)"),
        ({"X": np.zeros((4, 3, 3)), "y": np.arange(4)}, {"images_key": "images"}, r"has no array 'images'"),
        ({"X": np.zeros((4, 3, 3)), "y": np.arange(3)}, {}, r"'y' in .* holds 3 labels for 4 images in 'X'"),
        (
            {"X": np.zeros((4, 3, 3)), "y": np.arange(4) + 0.5},
            {},
            r"'y' in .* must be integers of shape \(P,\), got float64",
        ),
        (
            {"X": np.full((4, 3, 3), np.nan), "y": np.arange(4)},
            {},
            r"'X' in .* holds NaN or inf \(first at index \(0, 0, 0\)\)",
        ),
        ({"X": np.zeros((4, 1, 5)), "y": np.arange(4)}, {}, r"are 1 x 5 images; each side needs at least 2 pixels"),
        (
            {"X": np.zeros((4, 3, 3, 2)), "y": np.arange(4)},
            {},
            r"must have shape \(P, H, W\) or \(P, H, W, 3\), got \(4, 3, 3, 2\)",
        ),
        ({"X": np.array([None] * 4), "y": np.arange(4)}, {}, r"cannot be read without pickle"),
    ],
)
def test_bad_files_are_refused_naming_the_file_key_and_value(tmp_path, arrays, kwargs, message):
    path = tmp_path / "mine.npz"
    np.savez(path, **arrays)  # an object array is pickled by savez
    with pytest.raises(ValueError, match=message):
        read_labelled(path, **kwargs)


def test_a_missing_file_or_npy_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"data.path: no file or folder at .*nowhere"):
        read_labelled(tmp_path / "nowhere.npz")
    np.save(tmp_path / "X.npy", np.zeros((2, 3, 3)))
    with pytest.raises(ValueError, match=r"holds no y.npy \(it has \['X'\]\)"):
        read_labelled(tmp_path)
    with pytest.raises(ValueError, match=r"holds one array; give a .npz with images and labels"):
        read_labelled(tmp_path / "X.npy")


def test_the_image_shape_is_read_from_the_header_of_a_npz_a_compressed_npz_or_a_folder(tmp_path):
    colour = np.zeros((3, 5, 7, 3), np.uint8)
    np.savez(tmp_path / "plain.npz", X=np.zeros((3, 5, 7)), y=np.arange(3))
    np.savez_compressed(tmp_path / "packed.npz", images=colour, y=np.arange(3))
    np.save(tmp_path / "X.npy", np.zeros((2, 4, 9), np.float32))
    assert stored_image_shape(tmp_path / "plain.npz") == (5, 7)
    assert stored_image_shape(tmp_path / "packed.npz", "images") == (5, 7)
    assert stored_image_shape(tmp_path) == (4, 9)
    with pytest.raises(ValueError, match=r"has no array 'X' \(it has \['images', 'y'\]\)"):
        stored_image_shape(tmp_path / "packed.npz")
    with pytest.raises(ValueError, match=r"data.path: no file or folder at .*nowhere"):
        stored_image_shape(tmp_path / "nowhere.npz")
    with pytest.raises(ValueError, match=r"holds one array"):
        stored_image_shape(tmp_path / "X.npy")
    np.savez(tmp_path / "flat.npz", X=np.zeros((3, 35)))
    with pytest.raises(ValueError, match=r"must have shape \(P, H, W\) or \(P, H, W, 3\), got \(3, 35\)"):
        stored_image_shape(tmp_path / "flat.npz")


@pytest.mark.parametrize(
    ("labels", "classes", "message"),
    [
        (np.zeros(40, int), None, r"at least two classes; the labels give 1"),
        (np.arange(40) % 2, [[0, 1]], r"at least two classes"),
        (np.arange(40) % 2, [0, 5], r"labels \[5\] of \[0, 5\] are not among the labels \[0, 1\]"),
        (np.arange(40) % 3, [[0, 1], [1, 2]], r"a label may belong to one class only"),
        (np.arange(40) % 2, [0, 1.5], r"must hold integer labels or lists of them"),
        (np.arange(40) % 2, [[0], []], r"every class needs at least one label"),
    ],
)
def test_bad_class_groupings_are_refused(rng, labels, classes, message):
    with pytest.raises(ValueError, match=message):
        LabelledImages.from_arrays(rng.random((40, 3, 4)), labels, classes=classes, test_fraction=0.25)


def test_a_constant_pixel_is_refused_when_asked_and_missing_splits_always(rng):
    images, labels = good_images(rng)
    images[:, 2, 1] = 0.5
    with pytest.raises(ValueError, match=r"pixel \(row 2, column 1\) is constant \(0.5\) over the 30 training images"):
        LabelledImages.from_arrays(images, labels, test_fraction=0.25, constant_pixels="refuse")
    with pytest.raises(ValueError, match=r"every pixel is constant \(0\)"):
        LabelledImages.from_arrays(np.zeros_like(images), labels, test_fraction=0.25)
    with pytest.raises(ValueError, match=r"data.constant_pixels must be one of .* got 'keep'"):
        LabelledImages.from_arrays(images, labels, test_fraction=0.25, constant_pixels="keep")
    images, labels = good_images(rng)
    with pytest.raises(ValueError, match=r"give a test set \(data.test_path\) or data.test_fraction"):
        LabelledImages.from_arrays(images, labels)
    with pytest.raises(ValueError, match=r"data.test_fraction must lie in \(0, 1\), got 1.0"):
        LabelledImages.from_arrays(images, labels, test_fraction=1.0)
    with pytest.raises(ValueError, match=r"class 1 \(labels \[1\]\) has 0 test images; it needs 1"):
        LabelledImages.from_arrays(images, labels, test=(images[:4], np.zeros(4, int)))


def test_constant_border_pixels_are_dropped_from_every_split_and_from_the_pooled_pixel_law(rng):
    """8 x 8 images whose border is blank in the training images (as handwritten digits'); one border pixel
    varies in a test image only: it is dropped too, since the training images say nothing about it."""
    inner = rng.exponential(size=(60, 6, 6))
    images, labels = np.pad(inner, ((0, 0), (1, 1), (1, 1))), np.arange(60) % 2
    test = (images[:10].copy(), labels[:10])
    test[0][3, 0, 5] = 7.0
    data = LabelledImages.from_arrays(images, labels, test=test)
    border = np.ones((8, 8), bool)
    border[1:7, 1:7] = False
    np.testing.assert_array_equal(data.dropped, border.ravel())
    assert (data.train[0][:, border.ravel()] == 0).all() and (data.test[0][:, border.ravel()] == 0).all()
    np.testing.assert_allclose(data.train[0][:, ~border.ravel()].std(axis=0), 1)
    assert np.isnan(data.pixel_std[border.ravel()]).all()
    # The pooled pixel law of a class and of its clone leave the 28 blank pixels out.
    model, clone = data.class_models("test")[0], data.gaussian_clone()[0]
    live = data.test[0][data.test[1] == 0][:, ~border.ravel()]
    np.testing.assert_allclose(model.marginal_cumulants(4), kstats(live.ravel(), 4))
    assert abs(clone.marginal_cumulants(2)[0]) < 0.2 and clone.marginal_cumulants(2)[1] > 0.8


def test_classes_splits_and_standardization(rng):
    images, labels = rng.random((100, 3, 5)) * 10 + 3, np.arange(100) % 10
    data = LabelledImages.from_arrays(images, labels, classes=[[0, 1, 8, 9], [2, 3]], test_fraction=0.25, seed=4)
    train_x, train_y = data.train
    test_x, test_y = data.test
    assert np.bincount(train_y).tolist() == [30, 15] and np.bincount(test_y).tolist() == [10, 5]  # stratified
    np.testing.assert_allclose(train_x.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train_x.std(axis=0), 1)
    # Every image appears once, in one split, standardized with the training set's own statistics.
    chosen = images[np.isin(labels, [0, 1, 8, 9, 2, 3])].reshape(-1, 15)
    restored = np.concatenate([train_x, test_x]) * data.pixel_std + data.pixel_mean
    assert sorted(map(tuple, np.round(restored, 10))) == sorted(map(tuple, np.round(chosen, 10)))
    np.testing.assert_allclose(data.pixel_mean, restored[: len(train_x)].mean(axis=0))


def test_a_given_test_set_is_grouped_and_standardized_alike(rng):
    images, labels = good_images(rng)
    test_images, test_labels = rng.random((10, 3, 4)), np.array([0, 1, 2] * 3 + [1])
    data = LabelledImages.from_arrays(images, labels, test=(test_images, test_labels))
    assert len(data.train[1]) == 40 and data.test[1].tolist() == [0, 1] * 3 + [1]  # label 2 is in no class
    kept = test_images[test_labels != 2].reshape(-1, 12)
    np.testing.assert_allclose(data.test[0], (kept - data.pixel_mean) / data.pixel_std)


def test_class_models_draw_their_own_images_each_at_most_once(rng):
    data = LabelledImages.from_arrays(*good_images(rng), test_fraction=0.25)
    model = data.class_models("test")[1]
    assert isinstance(model, EmpiricalImages) and model.D == 12
    pool = data.test[0][data.test[1] == 1]
    draws = model.sample(len(pool), rng)
    assert sorted(map(tuple, draws)) == sorted(map(tuple, pool))  # every image once, nothing else
    assert len({tuple(row) for row in model.sample(3, rng)}) == 3
    with pytest.raises(ValueError, match=rf"{len(pool) + 1} distinct images were asked for; it has {len(pool)}"):
        model.sample(len(pool) + 1, rng)


def test_the_gaussian_clone_has_each_class_mean_and_covariance_and_no_higher_cumulant(rng):
    images = rng.exponential(size=(4000, 2, 3)) ** 2  # strongly non-Gaussian pixels
    labels = np.arange(4000) % 2
    data = LabelledImages.from_arrays(images, labels, test_fraction=0.1)
    clones = data.gaussian_clone()
    x, y = data.train
    for c, clone in enumerate(clones):
        np.testing.assert_allclose(clone.mean, x[y == c].mean(axis=0))
        np.testing.assert_allclose(clone.covariance, np.cov(x[y == c].T))
    P = 400_000
    draws = clones[0].sample(P, rng)
    w = rng.standard_normal(6)
    projection = draws @ w
    k = kstats(projection, 4)
    exact = np.array([w @ clones[0].mean, w @ clones[0].covariance @ w, 0.0, 0.0])
    gaussian = np.array([exact[0], exact[1], 0, 0, 0, 0, 0, 0])  # its cumulants up to 8
    sd = np.sqrt([exact[1] / P, *(kstat_variance(gaussian, n, P) for n in (2, 3, 4))])
    assert np.all(np.abs(k - exact) < 5 * sd), (k, exact, sd)
    real = kstats(x[y == 0] @ w, 4)
    assert abs(real[3] / real[1] ** 2) > 1  # the images themselves are far from Gaussian


def test_a_clone_of_fewer_images_than_pixels_stays_in_their_span(rng):
    images = rng.random((5, 12))
    clone = GaussianImages.of(images, (3, 4))
    draws = clone.sample(1000, rng)
    centred_images = images - images.mean(axis=0)
    basis = np.linalg.svd(centred_images)[2][:4]  # the 4 directions the 5 images span
    residual = (draws - clone.mean) - (draws - clone.mean) @ basis.T @ basis
    assert np.abs(residual).max() < 1e-10
    with pytest.raises(ValueError, match="positive semi-definite"):
        GaussianImages(np.zeros(2), np.array([[1.0, 0.0], [0.0, -1.0]]), (1, 2))


def test_class_groups_by_hand():
    assert class_groups([3, [1, 2]], np.array([1, 2, 3])) == ((3,), (1, 2))


def test_photo_patches_come_from_disjoint_regions_of_each_photograph():
    from cavitykit.data.labelled import TEST_SHARE, patch_task

    # Each pixel holds its own column index (plus a row term that keeps every pixel non-constant).
    photos = {name: np.add.outer(np.arange(rows) * 1e-3, np.arange(40.0)) for name, rows in (("a", 20), ("b", 25))}
    task = patch_task(photos, [["a"], ["b"]], (3, 5), 400, 100, seed=1)
    split = round(40 * (1 - TEST_SHARE))
    train = task.train[0] * task.pixel_std + task.pixel_mean  # back to the photographs' values
    test = task.test[0] * task.pixel_std + task.pixel_mean
    assert np.floor(train).max() <= split - 1 and np.floor(test + 1e-9).min() >= split  # no shared column
    assert np.bincount(task.train[1]).tolist() == [200, 200] and np.bincount(task.test[1]).tolist() == [50, 50]
    with pytest.raises(ValueError, match=r"data.shape: \[3, 20\] patches do not fit the test region \[20, 12\] of 'a'"):
        patch_task(photos, [["a"], ["b"]], (3, 20), 400, 100)


@pytest.mark.slow
def test_the_photo_task_reads_the_photographs_offline():
    pytest.importorskip("skimage")
    from cavitykit.data.labelled import photo_task

    task = photo_task([["rocket"], ["coffee", "astronaut"]], (8, 12), 4000, 1000)
    assert task.shape == (8, 12) and task.train[0].shape == (4000, 96) and task.test[0].shape == (1000, 96)
    # A photograph is far from Gaussian: a random filter's excess kurtosis on its patches is large.
    x, y = task.train
    k = kstats(x[y == 0] @ np.random.default_rng(0).standard_normal(96), 4)
    assert k[3] / k[1] ** 2 > 2.0
