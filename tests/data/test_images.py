"""Natural-image patches: exact per-pixel standardization, the array-file loader and its errors."""

import numpy as np
import pytest

from cavitykit.data import SKIMAGE_PHOTOS, GaussianClone, ImagePatches, load_image_array


@pytest.fixture
def small_images(rng):
    return rng.integers(0, 256, size=(3, 9, 11), dtype=np.uint8)


def test_standardization_is_exact_over_all_patch_positions(small_images):
    model = ImagePatches(4, images=small_images)
    images = small_images / 255.0
    patches = np.array([image[r : r + 4, c : c + 4] for image in images for r in range(9 - 3) for c in range(11 - 3)])
    np.testing.assert_allclose(model.mean, patches.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(model.std, patches.std(axis=0), rtol=1e-10)


def test_samples_are_patches_with_zero_mean_unit_variance(rng, small_images):
    model = ImagePatches(4, images=small_images)
    X = model.sample(40_000, rng)
    assert X.shape == (40_000, 16)
    np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=5 / np.sqrt(len(X)))
    np.testing.assert_allclose(X.var(axis=0), 1.0, atol=0.05)
    raw = X[0].reshape(4, 4) * model.std + model.mean
    windows = np.lib.stride_tricks.sliding_window_view(small_images / 255.0, (4, 4), axis=(1, 2))
    assert np.isclose(windows, raw).all(axis=(-1, -2)).any()  # a real patch of one of the images


def test_skimage_photographs_load_without_download(rng):
    model = ImagePatches(8, images=SKIMAGE_PHOTOS[:2])
    X = model.sample(500, rng)
    assert X.shape == (500, 64) and np.isfinite(X).all()
    assert model.describe()["images"] == "camera,astronaut"
    assert model.describe()["data_model"] == "image_patches"
    clone = GaussianClone(model)
    assert clone.sample(10, rng).shape == (10, 64)


def test_same_seed_same_samples(small_images):
    model = ImagePatches(3, images=small_images, dtype="float32")
    first = model.sample(100, np.random.default_rng(7))
    assert first.dtype == np.float32
    np.testing.assert_array_equal(first, model.sample(100, np.random.default_rng(7)))


def test_cifar_layouts_give_the_same_grayscale(tmp_path, rng):
    channels_last = rng.integers(0, 256, size=(5, 32, 32, 3), dtype=np.uint8)
    cifar_rows = np.moveaxis(channels_last, -1, 1).reshape(5, 3072)
    np.save(tmp_path / "last.npy", channels_last)
    np.savez(tmp_path / "rows.npz", data=cifar_rows, labels=np.arange(5))
    expected = channels_last / 255.0 @ np.array([0.2125, 0.7154, 0.0721])
    np.testing.assert_allclose(load_image_array(tmp_path / "last.npy"), expected)
    np.testing.assert_allclose(load_image_array(tmp_path / "rows.npz", key="data"), expected)
    model = ImagePatches.from_file(tmp_path / "rows.npz", 8, key="data")
    assert model.describe()["source"].endswith("rows.npz")


def test_bad_files_give_clear_errors(tmp_path, rng):
    with pytest.raises(FileNotFoundError, match="no image file"):
        load_image_array(tmp_path / "missing.npy")
    (tmp_path / "garbage.npy").write_bytes(b"not an array")
    with pytest.raises(ValueError, match="not a readable"):
        load_image_array(tmp_path / "garbage.npy")
    np.savez(tmp_path / "two.npz", a=np.zeros((2, 8, 8)), b=np.zeros(3))
    with pytest.raises(ValueError, match=r"key: .* holds arrays"):
        load_image_array(tmp_path / "two.npz")
    with pytest.raises(ValueError, match="'c' is not in"):
        load_image_array(tmp_path / "two.npz", key="c")
    np.save(tmp_path / "flat.npy", np.zeros((4, 10)))
    with pytest.raises(ValueError, match="must have shape"):
        load_image_array(tmp_path / "flat.npy")
    np.save(tmp_path / "objects.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValueError, match="not a readable"):
        load_image_array(tmp_path / "objects.npy")


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"size": 1}, ValueError, "size must be"),
        ({"size": 40}, ValueError, "at most the smallest image side"),
        ({"size": 4, "images": ("nonexistent",)}, ValueError, "images must be one of"),
        ({"size": 4, "images": ()}, ValueError, "at least one image"),
        ({"size": 4, "images": np.ones((2, 8, 8))}, ValueError, "constant"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    if "images" not in kwargs:
        kwargs["images"] = np.random.default_rng(0).random((2, 20, 30))
    with pytest.raises(error, match=message):
        ImagePatches(**kwargs)
