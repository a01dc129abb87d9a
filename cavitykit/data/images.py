"""Grayscale patches of natural images: the photographs scikit-image ships, or a user's array file.

No download ever: the default images are PNG/JPEG files inside the scikit-image
wheel.  Users with CIFAR-10 / ImageNet32 arrays load them with
``ImagePatches.from_file`` (.npy or .npz).
"""

from __future__ import annotations

import os
import zipfile
from functools import cached_property

import numpy as np

from cavitykit._extras import require
from cavitykit._validation import check_choice, check_int
from cavitykit.data._base import DTYPES, check_sample_args
from cavitykit.stats import kstats
from cavitykit.variants import SKIMAGE_PHOTOS

# Patches drawn (with a fixed seed) for the covariance and cumulant estimates.
REFERENCE_PATCHES = 20_000


def to_grayscale(images: np.ndarray, *, name: str = "images") -> np.ndarray:
    """Stack of images as float64 grayscale, unsigned integers scaled to [0, 1], others as given.

    Parameters
    ----------
    images : ndarray
        (N, H, W) grayscale, (N, H, W, 3) or (N, H, W, 4) channels-last,
        (N, 3, H, W) channels-first, or (N, 3072) CIFAR rows (3 x 32 x 32, channels first).

    Returns
    -------
    ndarray of shape (N, H, W), float64.  Colour uses the ITU-R BT.709 luma
    weights of ``skimage.color.rgb2gray``.

    Examples
    --------
    >>> import numpy as np
    >>> rgb = np.full((1, 2, 2, 3), 255, dtype=np.uint8)
    >>> to_grayscale(rgb)  # unsigned integers scaled to [0, 1]
    array([[[1., 1.],
            [1., 1.]]])
    """
    array = np.asarray(images)
    if array.dtype.kind not in "uif" or array.size == 0:
        raise ValueError(f"{name} must be a non-empty numeric image array, got {array.dtype} of shape {array.shape}")
    scale = 1.0 / np.iinfo(array.dtype).max if array.dtype.kind == "u" else 1.0
    array = array.astype(np.float64) * scale
    if array.ndim == 2 and array.shape[1] == 3 * 32 * 32:
        array = array.reshape(-1, 3, 32, 32)
    if array.ndim == 4 and array.shape[1] == 3 and array.shape[-1] not in (3, 4):
        array = np.moveaxis(array, 1, -1)
    if array.ndim == 4 and array.shape[-1] in (3, 4):
        array = array[..., :3] @ np.array([0.2125, 0.7154, 0.0721])
    if array.ndim != 3:
        raise ValueError(
            f"{name} must have shape (N, H, W), (N, H, W, 3), (N, 3, H, W) or (N, 3072), got {np.shape(images)}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf")
    return array


def load_image_array(path, *, key: str | None = None) -> np.ndarray:
    """Read a CIFAR-style image array from a .npy or .npz file, as (N, H, W) grayscale float64.

    Parameters
    ----------
    path : str or os.PathLike
        A .npy file, or a .npz archive holding the images under ``key`` (or as its only array).
    key : str, optional
        Array name inside a .npz archive with several arrays (e.g. 'data' or 'x_train').

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        The file is not a readable .npy/.npz, holds pickled objects, or its array is not an image stack.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "images.npy"
    >>> np.save(path, np.zeros((5, 32, 32, 3), dtype=np.uint8))
    >>> load_image_array(path).shape
    (5, 32, 32)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"path: no image file at {path!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"path: {path!r} is not a readable .npy/.npz array file ({error})") from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if key is None and len(names) != 1:
                raise ValueError(f"key: {path!r} holds arrays {names}; name one with key=")
            chosen = names[0] if key is None else key
            if chosen not in names:
                raise ValueError(f"key: {chosen!r} is not in {path!r} (arrays: {names})")
            try:
                loaded = loaded[chosen]
            except ValueError as error:
                raise ValueError(f"path: array {chosen!r} of {path!r} cannot be read ({error})") from None
    return to_grayscale(loaded, name=f"the array in {path!r}")


def _skimage_photos(names) -> list[np.ndarray]:
    skimage_data = require("skimage.data", "the photographs of ImagePatches")

    images = []
    for name in names:
        check_choice("images", name, SKIMAGE_PHOTOS)
        images.append(to_grayscale(getattr(skimage_data, name)()[None], name=name)[0])
    return images


def _window_sums(image: np.ndarray, size: int) -> np.ndarray:
    """Sum of ``image`` over every size x size window at offset (a, b) of the patch grid.

    Returns (size, size): entry (a, b) sums image[a + r, b + c] over all patch positions (r, c).
    """
    n_rows, n_cols = image.shape[0] - size + 1, image.shape[1] - size + 1
    integral = np.zeros((image.shape[0] + 1, image.shape[1] + 1))
    integral[1:, 1:] = image.cumsum(0).cumsum(1)
    a = np.arange(size)[:, None]
    b = np.arange(size)[None, :]
    return integral[a + n_rows, b + n_cols] - integral[a, b + n_cols] - integral[a + n_rows, b] + integral[a, b]


class ImagePatches:
    """Square grayscale patches of natural images, standardized per pixel.

    A sample is a patch at a uniformly random position of a uniformly random
    (image, position) pair.  Each pixel of the patch is standardized with its
    exact mean and standard deviation over *all* patch positions (computed with
    integral images), so every pixel has mean 0 and variance 1 under the
    sampling distribution.  ``covariance()`` and ``marginal_cumulants()`` are
    estimates from ``REFERENCE_PATCHES`` patches drawn with a fixed seed.

    Parameters
    ----------
    size : int
        Patch side (>= 2, at most the smallest image side); D = size ** 2.
    images : sequence of str or ndarray of shape (N, H, W), default ``SKIMAGE_PHOTOS``
        Names of scikit-image photographs, or grayscale images (see ``to_grayscale``).
    dtype : {'float64', 'float32'}
    source : str, optional
        Where ``images`` came from (goes into ``describe()``).

    Examples
    --------
    >>> import numpy as np
    >>> patches = ImagePatches(8)
    >>> patches.sample(100, np.random.default_rng(0)).shape
    (100, 64)
    """

    name = "image_patches"
    dim = 2

    def __init__(self, size, *, images=SKIMAGE_PHOTOS, dtype="float64", source=None):
        self.size = check_int("size", size, minimum=2)
        self.dtype = np.dtype(check_choice("dtype", np.dtype(dtype).name, DTYPES))
        if isinstance(images, np.ndarray):
            self.image_names = None
            self._images = list(to_grayscale(images))
        else:
            self.image_names = tuple(images)
            if not self.image_names:
                raise ValueError("images must name at least one image, got an empty sequence")
            self._images = _skimage_photos(self.image_names)
        self.source = source if source is not None else ("skimage.data" if self.image_names else "array")
        smallest = min(min(image.shape) for image in self._images)
        if self.size > smallest:
            raise ValueError(f"size must be at most the smallest image side {smallest}, got {self.size}")
        self._positions = np.array([(h - self.size + 1) * (w - self.size + 1) for h, w in self._shapes()])
        self.mean, self.std = self._pixel_moments()
        if np.any(self.std <= 0):
            raise ValueError("images are constant at some patch pixel: cannot standardize")

    @classmethod
    def from_file(cls, path, size, *, key=None, dtype="float64") -> ImagePatches:
        """Patches of the images in a CIFAR-style .npy/.npz file (see ``load_image_array``)."""
        return cls(size, images=load_image_array(path, key=key), dtype=dtype, source=os.fspath(path))

    def _shapes(self):
        return [image.shape for image in self._images]

    @property
    def D(self) -> int:
        return self.size**2

    @property
    def shape(self) -> tuple[int, int]:
        return (self.size, self.size)

    def _pixel_moments(self) -> tuple[np.ndarray, np.ndarray]:
        total = self._positions.sum()
        first = sum(_window_sums(image, self.size) for image in self._images) / total
        second = sum(_window_sums(image**2, self.size) for image in self._images) / total
        return first, np.sqrt(np.clip(second - first**2, 0.0, None))

    def sample(self, P, rng) -> np.ndarray:
        """P standardized patches, ndarray of shape (P, size**2), rows in C order."""
        P, rng = check_sample_args(P, rng)
        flat = rng.integers(0, self._positions.sum(), size=P)
        which = np.searchsorted(np.cumsum(self._positions), flat, side="right")
        offset = flat - np.concatenate([[0], np.cumsum(self._positions)])[which]
        out = np.empty((P, self.size, self.size), dtype=self.dtype)
        for index, image in enumerate(self._images):
            rows = which == index
            windows = np.lib.stride_tricks.sliding_window_view(image, self.shape)
            r, c = np.divmod(offset[rows], windows.shape[1])
            out[rows] = (windows[r, c] - self.mean) / self.std
        return out.reshape(P, self.D)

    @cached_property
    def _reference(self) -> np.ndarray:
        return self.sample(REFERENCE_PATCHES, np.random.default_rng(0)).astype(np.float64)

    def covariance(self) -> np.ndarray:
        """Pixel covariance, (D, D), estimated from the fixed reference patches."""
        return np.cov(self._reference, rowvar=False)

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        """k-statistics k_1..k_max of all reference pixels pooled, shape (max_order,) (an estimate)."""
        max_order = check_int("max_order", max_order, minimum=1, maximum=8)
        return kstats(self._reference.ravel(), max_order)

    def describe(self) -> dict:
        return {
            "data_model": self.name,
            "size": self.size,
            "dim": 2,
            "D": self.D,
            "dtype": self.dtype.name,
            "source": self.source,
            "images": ",".join(self.image_names) if self.image_names else f"{len(self._images)} images",
        }
