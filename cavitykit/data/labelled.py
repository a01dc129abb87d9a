"""A researcher's own labelled images, and the Gaussian clone of any labelled data set.

``read_labelled`` reads images and labels from a ``.npz`` file (or a folder of two ``.npy`` files);
``LabelledImages`` groups the labels into classes, splits off a test set (given, or a stated fraction
of each class), and standardizes every pixel with the training set's mean and standard deviation.
No whitening: it would erase the pixel covariance that the clone keeps.  Each class is a data model
(``class_models``: draws from its images) beside its Gaussian clone (``gaussian_clone``: a Gaussian
with the class's empirical mean and covariance, drawn exactly), as ``GaussianClone`` is beside NLGP.
Images may be of any H x W, square or not; they are a bounded grid, not a torus.

A pixel that is constant over the training images (the blank border of handwritten digits) carries no
information and cannot be standardized.  By default it is dropped (``constant_pixels="drop"``): it is 0
in every standardized image, training and test alike, and ``LabelledImages.dropped`` marks it, so that
the runner starts its networks without weights on it.  ``constant_pixels="refuse"`` stops instead.
"""

from __future__ import annotations

import functools
import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cavitykit._validation import check_choice, check_real
from cavitykit.data._base import check_sample_args
from cavitykit.data.images import _skimage_photos, to_grayscale
from cavitykit.data.nlgp import cumulants_from_raw_moments
from cavitykit.stats import kstats

# Images smaller than this along either side have no spatial structure to localize on.
MIN_SIDE = 2
# What ``LabelledImages.from_arrays`` does with pixels constant over the training images.
CONSTANT_PIXELS = ("drop", "refuse")
# The share of each photograph's columns (its right-hand part) that gives the test patches of ``photo_task``.
TEST_SHARE = 0.3


def _open_arrays(path: Path, keys: tuple[str, str]) -> dict[str, np.ndarray]:
    """The arrays named ``keys`` from a .npz file, or from ``<key>.npy`` files in a folder."""
    if path.is_dir():
        found = {}
        for key in keys:
            file = path / f"{key}.npy"
            if not file.is_file():
                present = sorted(p.stem for p in path.glob("*.npy"))
                raise ValueError(f"data.path: {str(path)!r} holds no {key}.npy (it has {present})")
            found[key] = _load(file)
        return found
    if not path.is_file():
        raise ValueError(f"data.path: no file or folder at {str(path)!r}")
    loaded = _load(path)
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"data.path: {str(path)!r} holds one array; give a .npz with images and labels, or a folder")
    with loaded:
        for key in keys:
            if key not in loaded.files:
                raise ValueError(f"data.path: {str(path)!r} has no array {key!r} (it has {sorted(loaded.files)})")
        try:
            return {key: loaded[key] for key in keys}
        except ValueError as error:  # pickled objects
            raise ValueError(f"data.path: {str(path)!r} cannot be read without pickle ({error})") from None


def _load(file: Path):
    try:
        return np.load(file, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as error:
        raise ValueError(f"data.path: {str(file)!r} is not a readable .npy/.npz file ({error})") from None


def _header_shape(handle, where: str) -> tuple[int, ...]:
    """The shape in a .npy header, read from an open binary ``handle``."""
    try:
        version = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        return read(handle)[0]
    except ValueError as error:
        raise ValueError(f"data.path: {where} is not a readable .npy array ({error})") from None


def stored_image_shape(path, images_key: str = "X") -> tuple[int, int]:
    """(H, W) of the images in a file, read from the array's header alone (nothing else is loaded).

    Parameters
    ----------
    path : str or Path
        A ``.npz`` file or a folder of ``.npy`` files, as ``read_labelled`` takes.
    images_key : str

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "digits.npz"
    >>> np.savez_compressed(path, X=np.zeros((5, 8, 6)), y=np.arange(5))
    >>> stored_image_shape(path)
    (8, 6)
    """
    path = Path(os.fspath(path))
    where, name = f"{images_key!r} in {str(path)!r}", f"{images_key}.npy"
    if path.is_dir() and (path / name).is_file():
        with open(path / name, "rb") as handle:
            shape = _header_shape(handle, where)
    elif path.is_file() and zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            if name not in archive.namelist():
                _open_arrays(path, (images_key,))  # the error that lists the arrays the file has
            with archive.open(name) as handle:
                shape = _header_shape(handle, where)
    else:
        _open_arrays(path, (images_key,))  # a missing file or key, or a single array: its own error
        raise ValueError(f"data.path: {str(path)!r} is not a .npz file or a folder of .npy files")
    if len(shape) not in (3, 4) or (len(shape) == 4 and shape[-1] != 3):
        raise ValueError(f"data.images_key: {where} must have shape (P, H, W) or (P, H, W, 3), got {shape}")
    return int(shape[1]), int(shape[2])


def read_labelled(path, *, images_key: str = "X", labels_key: str = "y") -> tuple[np.ndarray, np.ndarray]:
    """Images and their integer labels from a file, as grayscale float64.

    Parameters
    ----------
    path : str or Path
        A ``.npz`` file holding both arrays, or a folder holding ``<images_key>.npy`` and ``<labels_key>.npy``.
    images_key, labels_key : str
        The arrays' names.  Images are (P, H, W) or (P, H, W, 3) of any numeric dtype (colour becomes
        grayscale with the BT.709 luma weights, unsigned integers are scaled to [0, 1]); labels are (P,)
        integers.

    Returns
    -------
    images : ndarray of shape (P, H, W), float64
    labels : ndarray of shape (P,), int64

    Raises
    ------
    ValueError
        One line naming the file, the key and the value: a missing file or key, pickled data, labels
        that are not integers or do not match the images in number, NaN or inf, images smaller than
        2 x 2.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "mine.npz"
    >>> np.savez(path, X=np.zeros((4, 3, 5, 3), np.uint8), y=np.array([0, 1, 0, 1]))
    >>> images, labels = read_labelled(path)
    >>> images.shape, labels.tolist()
    ((4, 3, 5), [0, 1, 0, 1])
    """
    path = Path(os.fspath(path))
    arrays = _open_arrays(path, (images_key, labels_key))
    raw_images, labels = arrays[images_key], np.asarray(arrays[labels_key])
    where = f"{images_key!r} in {str(path)!r}"
    if raw_images.ndim not in (3, 4) or (raw_images.ndim == 4 and raw_images.shape[-1] != 3):
        raise ValueError(f"data.images_key: {where} must have shape (P, H, W) or (P, H, W, 3), got {raw_images.shape}")
    if raw_images.dtype.kind in "f" and not np.isfinite(raw_images).all():
        bad = np.argwhere(~np.isfinite(raw_images))[0]
        raise ValueError(f"data.images_key: {where} holds NaN or inf (first at index {tuple(bad.tolist())})")
    images = to_grayscale(raw_images, name=where)
    if min(images.shape[1:]) < MIN_SIDE:
        raise ValueError(
            f"data.images_key: {where} are {images.shape[1]} x {images.shape[2]} images; each side needs at least "
            f"{MIN_SIDE} pixels"
        )
    where = f"{labels_key!r} in {str(path)!r}"
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise ValueError(f"data.labels_key: {where} must be integers of shape (P,), got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(
            f"data.labels_key: {where} holds {len(labels)} labels for {len(images)} images in {images_key!r}"
        )
    return images, labels.astype(np.int64)


def class_groups(classes, labels: np.ndarray) -> tuple[tuple[int, ...], ...]:
    """The label groups that form the classes: ``classes`` checked against the labels present.

    Parameters
    ----------
    classes : sequence of int or of sequences of int, or None
        Class c holds the labels of entry c (an int is a group of one).  None: each distinct label is
        its own class.  Labels in no group are left out.
    labels : ndarray of int

    Examples
    --------
    >>> class_groups([[0, 1, 8, 9], [2, 3, 4, 5, 6, 7]], np.arange(10))  # CIFAR-10: vehicles, animals
    ((0, 1, 8, 9), (2, 3, 4, 5, 6, 7))
    >>> class_groups(None, np.array([3, 1, 3]))
    ((1,), (3,))
    """
    present = set(np.unique(labels).tolist())
    if classes is not None:  # as written in a config: lists, however it was read
        classes = [list(entry) if isinstance(entry, list | tuple | np.ndarray) else entry for entry in classes]
    if classes is None:
        groups = tuple((label,) for label in sorted(present))
    else:
        groups = tuple(tuple(entry) if isinstance(entry, list | tuple | np.ndarray) else (entry,) for entry in classes)
    flat = [label for group in groups for label in group]
    if any(isinstance(label, bool) or not isinstance(label, int | np.integer) for label in flat):
        raise ValueError(f"data.classes must hold integer labels or lists of them, got {classes!r}")
    if len(groups) < 2:
        raise ValueError(f"data.classes: a task needs at least two classes; the labels give {len(groups)} ({groups})")
    if any(not group for group in groups):
        raise ValueError(f"data.classes: every class needs at least one label, got {classes!r}")
    if len(set(flat)) != len(flat):
        raise ValueError(f"data.classes: a label may belong to one class only, got {classes!r}")
    missing = sorted(set(flat) - present)
    if missing:
        raise ValueError(f"data.classes: labels {missing} of {classes!r} are not among the labels {sorted(present)}")
    return tuple(tuple(int(label) for label in group) for group in groups)


def _class_index(labels: np.ndarray, groups) -> np.ndarray:
    """Each label's class (its group's position), -1 for labels in no group."""
    index = np.full(len(labels), -1, dtype=np.int64)
    for c, group in enumerate(groups):
        index[np.isin(labels, group)] = c
    return index


@dataclass(frozen=True)
class LabelledImages:
    """A labelled image set ready to train on: classes, a training and a test split, standardized pixels.

    Attributes
    ----------
    train, test : tuple of ndarray
        (x of shape (n, D), float64, standardized; y of shape (n,), the class 0..C-1), images in C order.
    shape : tuple of int
        (H, W).
    groups : tuple of tuple of int
        The original labels of each class.
    pixel_mean, pixel_std : ndarray of shape (D,)
        The training set's statistics that standardized every pixel (NaN for dropped pixels).
    source : str
        Where the images came from.
    dropped : ndarray of bool, shape (D,)
        Pixels constant over the training images, 0 in every standardized image (none by default).
    """

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    shape: tuple[int, int]
    groups: tuple[tuple[int, ...], ...]
    pixel_mean: np.ndarray
    pixel_std: np.ndarray
    source: str = "arrays"
    dropped: np.ndarray | None = None

    def __post_init__(self):
        if self.dropped is None:
            object.__setattr__(self, "dropped", np.zeros(self.D, dtype=bool))

    @classmethod
    def from_arrays(
        cls,
        images,
        labels,
        *,
        classes=None,
        test=None,
        test_fraction=None,
        seed: int = 0,
        source: str = "arrays",
        constant_pixels: str = "drop",
    ) -> LabelledImages:
        """Group, split and standardize images (P, H, W) and their labels (P,) (as ``read_labelled`` gives).

        Parameters
        ----------
        images : ndarray of shape (P, H, W)
        labels : ndarray of int, shape (P,)
        classes : optional
            ``class_groups``.
        test : tuple of ndarray, optional
            Test images and labels, grouped alike.
        test_fraction : float, optional
            Without ``test``: this fraction of each class's images (a seeded draw) is the test set.
        seed : int
            The draw of the test split.
        source : str
            Named in messages.
        constant_pixels : {'drop', 'refuse'}
            What to do with pixels constant over the training images: drop them (0 in every
            standardized image, marked in ``dropped``) or stop with an error naming the first.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> data = LabelledImages.from_arrays(rng.random((40, 3, 4)), np.arange(40) % 2, test_fraction=0.25)
        >>> data.train[0].shape, data.test[0].shape, data.shape, data.n_classes
        ((30, 12), (10, 12), (3, 4), 2)

        A blank border, as in handwritten digits, is dropped:

        >>> framed = np.pad(rng.random((40, 2, 2)), ((0, 0), (1, 1), (1, 1)))
        >>> bordered = LabelledImages.from_arrays(framed, np.arange(40) % 2, test_fraction=0.25)
        >>> bordered.dropped.reshape(4, 4).astype(int)
        array([[1, 1, 1, 1],
               [1, 0, 0, 1],
               [1, 0, 0, 1],
               [1, 1, 1, 1]])
        """
        check_choice("data.constant_pixels", constant_pixels, CONSTANT_PIXELS)
        groups = class_groups(classes, labels)
        index = _class_index(labels, groups)
        if test is None:
            if test_fraction is None:
                raise ValueError(f"{source}: give a test set (data.test_path) or data.test_fraction")
            check_real("data.test_fraction", test_fraction, positive=True)
            if test_fraction >= 1:
                raise ValueError(f"data.test_fraction must lie in (0, 1), got {test_fraction}")
            rng = np.random.default_rng(seed)
            is_test = np.zeros(len(labels), dtype=bool)
            for c in range(len(groups)):
                members = rng.permutation(np.flatnonzero(index == c))
                is_test[members[: round(test_fraction * len(members))]] = True
            train_x, train_y = images[(index >= 0) & ~is_test], index[(index >= 0) & ~is_test]
            test_x, test_y = images[is_test], index[is_test]
        else:
            test_images, test_labels = test
            if test_images.shape[1:] != images.shape[1:]:
                raise ValueError(
                    f"data.test_path: test images are {test_images.shape[1:]}, training images {images.shape[1:]}"
                )
            test_index = _class_index(test_labels, groups)
            train_x, train_y = images[index >= 0], index[index >= 0]
            test_x, test_y = test_images[test_index >= 0], test_index[test_index >= 0]
        for split, y, least in (("training", train_y, 2), ("test", test_y, 1)):
            counts = np.bincount(y, minlength=len(groups))
            if counts.min() < least:
                c = int(np.argmin(counts))
                raise ValueError(
                    f"{source}: class {c} (labels {list(groups[c])}) has {counts[c]} {split} images; it needs {least}"
                )
        flat_train = train_x.reshape(len(train_x), -1)
        mean, std = flat_train.mean(axis=0), flat_train.std(axis=0)
        dropped = std == 0
        if dropped.any() and (constant_pixels == "refuse" or dropped.all()):
            constant = int(np.argmax(dropped))
            row, column = np.unravel_index(constant, images.shape[1:])
            which = "every pixel is" if dropped.all() else f"pixel (row {row}, column {column}) is"
            raise ValueError(
                f"{source}: {which} constant ({flat_train[0, constant]:g}) over the {len(train_x)} training "
                "images: it cannot be standardized"
                + ("" if dropped.all() else ' (data.constant_pixels = "drop" leaves such pixels out)')
            )
        mean[dropped], std[dropped] = np.nan, np.nan

        def standardized(x):
            flat = x.reshape(len(x), -1)
            out = np.zeros(flat.shape)
            out[:, ~dropped] = (flat[:, ~dropped] - mean[~dropped]) / std[~dropped]
            return out

        return cls(
            (standardized(train_x), train_y),
            (standardized(test_x), test_y),
            tuple(int(side) for side in images.shape[1:]),
            groups,
            mean,
            std,
            source,
            dropped,
        )

    @classmethod
    def load(
        cls,
        path,
        *,
        images_key="X",
        labels_key="y",
        classes=None,
        test_path=None,
        test_fraction=None,
        seed=0,
        constant_pixels="drop",
    ) -> LabelledImages:
        """``read_labelled`` then ``from_arrays``; a test file takes the same keys.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> folder = pathlib.Path(tempfile.mkdtemp())
        >>> rng = np.random.default_rng(1)
        >>> np.save(folder / "X.npy", rng.random((20, 4, 6))); np.save(folder / "y.npy", np.arange(20) % 4)
        >>> data = LabelledImages.load(folder, classes=[[0, 1], [2, 3]], test_fraction=0.2)
        >>> data.groups, data.D
        (((0, 1), (2, 3)), 24)
        """
        images, labels = read_labelled(path, images_key=images_key, labels_key=labels_key)
        test = None if test_path is None else read_labelled(test_path, images_key=images_key, labels_key=labels_key)
        return cls.from_arrays(
            images,
            labels,
            classes=classes,
            test=test,
            test_fraction=test_fraction,
            seed=seed,
            source=str(path),
            constant_pixels=constant_pixels,
        )

    @property
    def n_classes(self) -> int:
        return len(self.groups)

    @property
    def D(self) -> int:
        return self.shape[0] * self.shape[1]

    def class_models(self, split: str = "test") -> list[EmpiricalImages]:
        """Each class's images of ``split`` ('train' or 'test') as a data model that draws among them."""
        x, y = {"train": self.train, "test": self.test}[split]
        return [
            EmpiricalImages(x[y == c], self.shape, name=f"{self.source} class {c}", dropped=self.dropped)
            for c in range(self.n_classes)
        ]

    def gaussian_clone(self) -> list[GaussianImages]:
        """Each class's Gaussian clone: its training images' mean and covariance, drawn exactly."""
        return list(self._clones)

    @functools.cached_property
    def _clones(self) -> tuple[GaussianImages, ...]:
        # One covariance and eigendecomposition per class (D x D), however many members and spectra ask.
        x, y = self.train
        return tuple(GaussianImages.of(x[y == c], self.shape, dropped=self.dropped) for c in range(self.n_classes))


def photo_task(groups, shape, n_train: int, n_test: int, *, seed: int = 0) -> LabelledImages:
    """``patch_task`` on the photographs scikit-image ships (``cavitykit.variants.SKIMAGE_PHOTOS``), read
    offline from its wheel.

    Examples
    --------
    >>> task = photo_task([["astronaut"], ["coffee"]], (8, 12), 400, 100)  # doctest: +SKIP
    >>> task.train[0].shape, task.test[0].shape  # doctest: +SKIP
    ((400, 96), (100, 96))
    """
    names = [name for group in groups for name in group]
    return patch_task(dict(zip(names, _skimage_photos(names), strict=True)), groups, shape, n_train, n_test, seed=seed)


def patch_task(photos: dict, groups, shape, n_train: int, n_test: int, *, seed: int = 0) -> LabelledImages:
    """A task of photograph patches: class c holds patches of the photographs of ``groups[c]``.

    Each photograph gives its training patches from its left-hand ``1 - TEST_SHARE`` of columns and its
    test patches from the rest, so no test patch shares a pixel with a training patch.  Every photograph of
    a class gives an equal share of the class's patches, the classes equal shares of ``n_train`` and
    ``n_test``; positions are uniform (a seeded draw).

    Parameters
    ----------
    photos : dict of str to ndarray
        Grayscale photographs (rows, columns) by name.
    groups : sequence of sequences of str
        The names of each class's photographs.
    shape : (H, W)
        Patch shape.
    n_train, n_test : int
        Patches in all.
    seed : int

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> photos = {"a": rng.random((20, 40)), "b": rng.random((30, 30))}
    >>> task = patch_task(photos, [["a"], ["b"]], (4, 6), 200, 50)
    >>> task.train[0].shape, np.bincount(task.test[1]).tolist()
    ((200, 24), [25, 25])
    """
    rng = np.random.default_rng(seed)
    parts = {"train": ([], []), "test": ([], [])}
    for label, group in enumerate(groups):
        for name in group:
            image = photos[name]
            split = round(image.shape[1] * (1 - TEST_SHARE))
            for part, total, region in (("train", n_train, image[:, :split]), ("test", n_test, image[:, split:])):
                if region.shape[0] < shape[0] or region.shape[1] < shape[1]:
                    where = f"the {part} region {list(region.shape)} of {name!r}"
                    raise ValueError(f"data.shape: {list(shape)} patches do not fit {where}")
                count = total // (len(groups) * len(group))
                windows = np.lib.stride_tricks.sliding_window_view(region, shape)
                rows = rng.integers(0, windows.shape[0], count)
                columns = rng.integers(0, windows.shape[1], count)
                parts[part][0].append(windows[rows, columns])
                parts[part][1].append(np.full(count, label))
    (train_x, train_y), (test_x, test_y) = (
        (np.concatenate(x), np.concatenate(y)) for x, y in (parts["train"], parts["test"])
    )
    source = "photos " + " against ".join("+".join(group) for group in groups)
    return LabelledImages.from_arrays(train_x, train_y, test=(test_x, test_y), source=source)


def data_digest(data) -> str:
    """sha256 of the files a run's image task reads (``data.files()``), in a fixed order: what the run
    trained on, beyond the paths its config names."""
    digest = hashlib.sha256()
    for file in data.files():
        with open(file, "rb") as handle:
            for block in iter(lambda handle=handle: handle.read(1 << 24), b""):
                digest.update(block)
    return digest.hexdigest()


def task_images(data) -> LabelledImages:
    """The labelled images of a run's image task (``data.load_images()``), read once per process and again
    when a file changes (its size or modification time).

    Parameters
    ----------
    data : cavitykit.config.ArraysData or cavitykit.config.PhotosData
    """
    stamps = tuple((file.stat().st_size, file.stat().st_mtime_ns) for file in data.files() if file.is_file())
    return _task_images(data, stamps)


@functools.lru_cache(maxsize=4)
def _task_images(data, stamps: tuple) -> LabelledImages:
    """``task_images`` for files in the state ``stamps`` (the cache's key)."""
    return data.load_images()


def _live(dropped, D: int) -> np.ndarray:
    """The pixels not ``dropped`` (all of them when None), shape (D,)."""
    return np.ones(D, dtype=bool) if dropped is None else ~np.asarray(dropped, dtype=bool)


class EmpiricalImages:
    """A class of images as a data model: ``sample`` draws distinct images among them, uniformly.

    Parameters
    ----------
    images : ndarray of shape (n, D)
    shape : tuple of int
        (H, W).
    name : str
    dropped : ndarray of bool, shape (D,), optional
        Pixels left out of the images (``LabelledImages.dropped``): not pooled in ``marginal_cumulants``.

    Examples
    --------
    >>> model = EmpiricalImages(np.arange(12.0).reshape(6, 2), (1, 2))
    >>> sorted(model.sample(6, np.random.default_rng(0))[:, 0].tolist())  # every image once
    [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
    """

    def __init__(self, images: np.ndarray, shape: tuple[int, int], *, name: str = "images", dropped=None):
        self.images, self.shape, self.name = np.asarray(images, dtype=np.float64), tuple(shape), name
        self.dtype = self.images.dtype
        self.live = _live(dropped, self.D)

    @property
    def D(self) -> int:
        return self.images.shape[1]

    def sample(self, P, rng) -> np.ndarray:
        """(P, D): P distinct images in a uniformly random order, without replacement, so that no image
        counts twice in a statistic.

        Raises
        ------
        ValueError
            P exceeds the number of images.
        """
        P, rng = check_sample_args(P, rng)
        if P > len(self.images):
            raise ValueError(f"{self.name}: {P} distinct images were asked for; it has {len(self.images)}")
        return self.images[rng.permutation(len(self.images))[:P]]

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        """k-statistics k_1..k_max_order of a pixel drawn at random from a random image (every pixel not
        dropped, pooled), shape (max_order,): the single pixel law the independent-input theory takes."""
        return kstats(self.images[:, self.live].ravel(), max_order)

    def describe(self) -> dict:
        return {"model": "images", "source": self.name, "n_images": len(self.images), "shape": list(self.shape)}


class GaussianImages:
    """The Gaussian clone of a set of images: N(mean, covariance) of their empirical moments, drawn exactly.

    x = mean + U sqrt(Lambda) z with covariance = U Lambda U^T and z standard normal: every sample has
    exactly the clone's law (eigenvalues below rounding are taken as zero).

    Parameters
    ----------
    mean : ndarray of shape (D,)
    covariance : ndarray of shape (D, D)
        Symmetric positive semi-definite.
    shape : tuple of int
        (H, W).
    dropped : ndarray of bool, shape (D,), optional
        Pixels left out of the images (``LabelledImages.dropped``): not pooled in ``marginal_cumulants``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> images = rng.exponential(size=(5000, 4)) * [1.0, 2.0, 3.0, 4.0]
    >>> clone = GaussianImages.of(images, (2, 2))
    >>> draws = clone.sample(200_000, rng)
    >>> bool(np.allclose(np.cov(draws.T), clone.covariance, atol=0.1))  # same covariance, Gaussian law
    True
    """

    def __init__(self, mean: np.ndarray, covariance: np.ndarray, shape: tuple[int, int], *, dropped=None):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.covariance = np.asarray(covariance, dtype=np.float64)
        self.shape = tuple(shape)
        self.live = _live(dropped, len(self.mean))
        self.dtype = np.dtype(np.float64)
        eigenvalues, vectors = np.linalg.eigh(self.covariance)
        if eigenvalues.min() < -1e-8 * max(eigenvalues.max(), 1.0):
            raise ValueError(f"covariance must be positive semi-definite, smallest eigenvalue {eigenvalues.min():g}")
        rounding = len(eigenvalues) * np.finfo(np.float64).eps * max(eigenvalues.max(), 0.0)
        eigenvalues = np.where(eigenvalues > rounding, eigenvalues, 0.0)  # directions the images do not span
        self.factor = vectors * np.sqrt(eigenvalues)  # (D, D): covariance = factor factor^T

    @classmethod
    def of(cls, images: np.ndarray, shape: tuple[int, int], *, dropped=None) -> GaussianImages:
        """The clone of images (n, D): their mean and their covariance (normalized by n - 1)."""
        images = np.asarray(images, dtype=np.float64)
        covariance = np.cov(images, rowvar=False).reshape(images.shape[1], -1)
        return cls(images.mean(axis=0), covariance, shape, dropped=dropped)

    @property
    def D(self) -> int:
        return len(self.mean)

    def sample(self, P, rng) -> np.ndarray:
        """(P, D) exact draws."""
        P, rng = check_sample_args(P, rng)
        return self.mean + rng.standard_normal((P, self.D)) @ self.factor.T

    def marginal_cumulants(self, max_order: int = 8) -> np.ndarray:
        """Exact cumulants kappa_1..kappa_max_order of a pixel drawn at random (every pixel not dropped,
        pooled): the equal mixture of the pixels' Gaussian laws N(mean_i, covariance_ii), shape (max_order,)."""
        mean, variance = self.mean[self.live], np.diag(self.covariance)[self.live]
        raw = np.zeros((max_order + 1, len(mean)))
        raw[0], raw[1] = 1.0, mean
        for r in range(2, max_order + 1):  # E[x^r] = mean E[x^(r-1)] + (r - 1) variance E[x^(r-2)]
            raw[r] = mean * raw[r - 1] + (r - 1) * variance * raw[r - 2]
        return cumulants_from_raw_moments(raw.mean(axis=1))

    def describe(self) -> dict:
        return {"model": "gaussian_clone_of_images", "shape": list(self.shape)}
