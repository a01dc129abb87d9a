"""Run configuration: a validated dataclass tree loaded from TOML; what determines the trained weights
(``RunConfig.identity``) names the run directory.

Presets ship as TOML files in ``cavitykit/presets/`` (``quick.toml``, ``paper.toml``); copy one to
start your own.  Every key is documented in ``docs/runs.md``.  This module sits below the IMP
engine: reading a config never imports torch.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import difflib
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from cavitykit._toml import toml_value
from cavitykit._validation import check_choice, check_int, check_real
from cavitykit.branches import CONTROLS as CONTROL_BRANCHES
from cavitykit.branches import branch_tables, ranks_on_heldout, without_controls
from cavitykit.network.formulas import ACTIVATION_NAMES, BIAS_INITS, ODD_ACTIVATIONS
from cavitykit.network.parameterization import PARAMETERIZATION_NAMES
from cavitykit.variants import DEFAULT_VARIANTS, FASHION_MNIST, IMAGE_VARIANTS, RING_ONLY, SKIMAGE_PHOTOS, VARIANTS

PRESET_DIR = Path(__file__).with_name("presets")
# Keys added after runs were first stored: at their default they are left out of the stored config
# and its hash, so a run directory made before they existed keeps its name and resumes.
LATER = {"added_later": True}
# Whether a data table reads its files' headers when built: ``stored_config`` and ``load_preset(...,
# check_files=False)`` build one without, so that a run, its weights file and its report open where the
# data are not (a stored idx table keeps the shape the headers gave).
_CHECKS_FILES = contextvars.ContextVar("checks_files", default=True)


@contextlib.contextmanager
def _files_unchecked():
    token = _CHECKS_FILES.set(False)
    try:
        yield
    finally:
        _CHECKS_FILES.reset(token)


@dataclass(frozen=True)
class SyntheticData:
    """The two-class synthetic task: class c ~ model(xi[c]) on a ring (dim=1) or torus (dim=2) of L sites
    (``data.source = "synthetic"``, the default).

    Parameters
    ----------
    L : int
        Sites per side; inputs have D = L**dim pixels.
    dim : {1, 2}
        A ring (1) or a torus of L x L pixels (2).
    xi : tuple of two floats
        Correlation length of class 0 and of class 1, in pixels.
    gain : float
        The NLGP's gain g (0: Gaussian, large: sign-like).  The Ising variants (ring only)
        take the temperature whose infinite-chain correlation length is xi[c].
    n_train, n_test : int
        Samples of the fixed training set (minibatch mode) and of the test set.
    source : 'synthetic'
        The source, the default: the NLGP and Ising models and their Gaussian clones.

    Examples
    --------
    >>> SyntheticData(L=20, dim=2, xi=(2.0, 10.0)).D
    400
    >>> [type(model).__name__ for model in SyntheticData(L=10).models("gaussian_clone")]
    ['GaussianClone', 'GaussianClone']
    """

    L: int = 40
    dim: int = 1
    xi: tuple[float, float] = (1.0, 3.0)
    gain: float = 3.0
    n_train: int = 8000
    n_test: int = 4000
    source: str = field(default="synthetic", metadata=LATER)

    def __post_init__(self):
        _check_source(self, "synthetic")
        check_int("data.L", self.L, minimum=2)
        if self.dim not in (1, 2):
            raise ValueError(f"data.dim must be 1 or 2, got {self.dim!r}")
        if len(self.xi) != 2:
            raise ValueError(f"data.xi must hold two correlation lengths, got {self.xi!r}")
        for value in self.xi:
            check_real("data.xi", value, positive=True)
        check_real("data.gain", self.gain, nonnegative=True)
        check_int("data.n_train", self.n_train, minimum=2)
        check_int("data.n_test", self.n_test, minimum=2)

    @property
    def D(self) -> int:
        """Pixels per input: L^dim."""
        return math.prod(self.grid)

    @property
    def grid(self) -> tuple[int, ...]:
        """The pixel grid, periodic: (L,) or (L, L)."""
        return (self.L,) * self.dim

    @property
    def periodic(self) -> bool:
        """The grid wraps around (a ring or torus)."""
        return True

    @property
    def class_count(self) -> int:
        """C = 2."""
        return 2

    def describe(self) -> str:
        """The task in words.

        Examples
        --------
        >>> SyntheticData(L=20, dim=2).describe()
        'a 20 x 20 torus, correlation lengths xi = 1, 3, gain g = 3'
        """
        grid = f"a ring of {self.L} pixels" if self.dim == 1 else f"a {self.L} x {self.L} torus"
        return f"{grid}, correlation lengths xi = {', '.join(f'{x:g}' for x in self.xi)}, gain g = {self.gain:g}"

    def files(self) -> list[Path]:
        """None: the models are sampled."""
        return []

    def dropped_pixels(self):
        """(D,) bool: no pixel of the synthetic models is left out."""
        import numpy as np

        return np.zeros(self.D, dtype=bool)

    def models(self, variant: str) -> tuple:
        """The data models of class 0 and class 1 of a synthetic variant, in float32
        (``cavitykit.data.tasks.synthetic_models``)."""
        from cavitykit.data.tasks import synthetic_models

        return synthetic_models(variant, self.L, self.dim, self.xi, self.gain)


class _Images:
    """What the two image sources share: a C >= 2 class task of (H, W) images read into
    ``LabelledImages`` (``load_images``), its variants 'images' (each class's test images) and
    'images_clone' (each class's Gaussian clone)."""

    def _check_images(self):
        # a group of labels read from TOML is a list: kept as a tuple, as every other list
        object.__setattr__(self, "classes", tuple(tuple(c) if isinstance(c, list | tuple) else c for c in self.classes))
        check_choice("data.constant_pixels", self.constant_pixels, ("drop", "refuse"))

    def _check_shape(self):
        if len(self.shape) != 2:
            raise ValueError(f"data.shape must give the images' height and width, got {list(self.shape)!r}")
        for side in self.shape:
            check_int("data.shape", side, minimum=2)

    @property
    def D(self) -> int:
        """Pixels per input: H W."""
        return math.prod(self.grid)

    @property
    def grid(self) -> tuple[int, ...]:
        """The images' (H, W), a bounded grid."""
        return tuple(self.shape)

    @property
    def periodic(self) -> bool:
        """Images have edges."""
        return False

    @property
    def class_count(self) -> int:
        """C: a class per group of ``classes``, or (arrays without ``classes``) a class per label of the file."""
        return len(self.classes) if self.classes else self.images().n_classes

    def images(self):
        """The task's ``LabelledImages``, read once per process and again when a file changes
        (``cavitykit.data.labelled.task_images``)."""
        from cavitykit.data.labelled import task_images

        return task_images(self)

    def dropped_pixels(self):
        """(D,) bool: the pixels constant over the training images, left out of the inputs
        (``LabelledImages.dropped``)."""
        return self.images().dropped

    def models(self, variant: str) -> tuple:
        """Each class's model of an image variant: its test images ('images'), drawn without repeats, or its
        Gaussian clone ('images_clone')."""
        images = self.images()
        return tuple(images.class_models("test") if variant == "images" else images.gaussian_clone())


@dataclass(frozen=True)
class ArraysData(_Images):
    """A researcher's own labelled images (``data.source = "arrays"``).

    Parameters
    ----------
    source : 'arrays'
        The source: variants 'images' and 'images_clone'.
    path : str
        A .npz holding the images and labels, or a folder of ``<key>.npy`` files
        (``cavitykit.data.read_labelled``).  ``load_config`` reads a relative path (and ``test_path``)
        from the config file's folder; ``config_from_dict`` from the working directory.
    images_key, labels_key : str
        The arrays' names.
    test_path : str
        A test set in the same form; or
    test_fraction : float
        the share of each class's images held out for testing (a fixed draw).
    classes : list of labels or label groups
        The C >= 2 classes, e.g. ``[[0, 1, 8, 9], [2, 3, 4, 5, 6, 7]]`` (CIFAR-10 vehicles against
        animals); by default a class per label of the file.  Two classes train a network of one output;
        C > 2 a readout of C outputs.
    shape : list of two ints
        The images' height and width, by default read from the file (given, the file must match).
    constant_pixels : {'drop', 'refuse'}
        What to do with pixels constant over the training images (the blank border of handwritten
        digits).  'drop' leaves them out: they are 0 in every input, the networks start without weights
        on them, pruning rates count the other weights, and maps show them blank.  'refuse' stops with an
        error naming the first.

    Examples
    --------
    >>> ArraysData(path="mine.npz", shape=(24, 32), test_fraction=0.2).grid
    (24, 32)
    """

    # The keys that give the task more test images.
    test_set_keys: ClassVar[str] = "data.test_fraction or data.test_path"

    source: str = "arrays"
    path: str = field(default="", metadata=LATER)
    images_key: str = field(default="X", metadata=LATER)
    labels_key: str = field(default="y", metadata=LATER)
    test_path: str = field(default="", metadata=LATER)
    test_fraction: float = field(default=0.0, metadata=LATER)
    classes: tuple = field(default=(), metadata=LATER)
    shape: tuple[int, ...] = field(default=(), metadata=LATER)
    constant_pixels: str = field(default="drop", metadata=LATER)

    def __post_init__(self):
        _check_source(self, "arrays")
        self._check_images()
        if not self.path:
            raise ValueError('data.source = "arrays" needs data.path, the .npz file (or folder) of images and labels')
        if not self.shape:
            from cavitykit.data.labelled import stored_image_shape  # the file's header alone

            object.__setattr__(self, "shape", stored_image_shape(self.path, self.images_key))
        self._check_shape()
        if bool(self.test_path) == bool(self.test_fraction):
            raise ValueError(
                'data.source = "arrays" needs a test set: data.test_path or data.test_fraction (one of them), '
                f"got test_path = {self.test_path!r} and test_fraction = {self.test_fraction!r}"
            )
        if self.test_fraction and not 0 < check_real("data.test_fraction", self.test_fraction) < 1:
            raise ValueError(f"data.test_fraction must lie in (0, 1), got {self.test_fraction}")
        if self.classes and len(self.classes) < 2:
            raise ValueError(f"data.classes must name two or more classes, got {list(self.classes)!r}")

    def describe(self) -> str:
        """The task in words."""
        return f"{' x '.join(str(side) for side in self.shape)} images from {Path(self.path).name}"

    def files(self) -> list[Path]:
        """The files the task reads: the images and labels, and the test set's."""
        files = []
        for given in (self.path, self.test_path):
            if given:
                path = Path(given)
                keys = (self.images_key, self.labels_key)
                files += [path / f"{key}.npy" for key in keys] if path.is_dir() else [path]
        return files

    def load_images(self):
        """The labelled images, read from the files and checked against ``shape`` (no cache: ``images``)."""
        from cavitykit.data.labelled import LabelledImages

        images = LabelledImages.load(
            self.path,
            images_key=self.images_key,
            labels_key=self.labels_key,
            classes=self.classes or None,
            test_path=self.test_path or None,
            test_fraction=self.test_fraction or None,
            constant_pixels=self.constant_pixels,
        )
        if images.shape != tuple(self.shape):
            raise ValueError(
                f"data.shape is {list(self.shape)}, but the images in {self.path!r} are {list(images.shape)}"
            )
        return images


@dataclass(frozen=True)
class PhotosData(_Images):
    """Patches of the photographs scikit-image ships (``data.source = "photos"``,
    ``cavitykit.data.SKIMAGE_PHOTOS``): a class per group of photographs, training and test patches cut
    from disjoint regions of each photograph.

    Parameters
    ----------
    n_train, n_test : int
        Patches in all, for training and for testing.
    source : 'photos'
        The source: variants 'images' and 'images_clone'.
    classes : list of groups of photograph names
        A class each, e.g. ``[["astronaut", "rocket"], ["coffee", "brick"]]``.
    shape : list of two ints
        The patches' height and width.
    constant_pixels : {'drop', 'refuse'}
        As for ``ArraysData``.

    Examples
    --------
    >>> PhotosData(classes=(("astronaut",), ("coffee",), ("brick",)), shape=(8, 8)).class_count
    3
    """

    test_set_keys: ClassVar[str] = "data.n_test"

    n_train: int = 8000
    n_test: int = 4000
    source: str = "photos"
    classes: tuple = field(default=(), metadata=LATER)
    shape: tuple[int, ...] = field(default=(), metadata=LATER)
    constant_pixels: str = field(default="drop", metadata=LATER)

    def __post_init__(self):
        _check_source(self, "photos")
        check_int("data.n_train", self.n_train, minimum=2)
        check_int("data.n_test", self.n_test, minimum=2)
        self._check_images()
        self._check_shape()
        groups = [group if isinstance(group, tuple) else (group,) for group in self.classes]
        if len(groups) < 2 or not all(groups):
            raise ValueError(
                'data.source = "photos" needs data.classes, two or more groups of photographs, e.g. '
                f'[["astronaut", "rocket"], ["coffee", "brick"]]; got {list(self.classes)!r}'
            )
        for name in (name for group in groups for name in group):
            check_choice("data.classes", name, SKIMAGE_PHOTOS)

    def describe(self) -> str:
        """The task in words.

        Examples
        --------
        >>> PhotosData(classes=(("astronaut", "rocket"), ("coffee",)), shape=(16, 16)).describe()
        '16 x 16 patches of photographs (astronaut + rocket against coffee)'
        """
        groups = " against ".join(" + ".join(group) for group in self.classes)
        return f"{' x '.join(str(side) for side in self.shape)} patches of photographs ({groups})"

    def files(self) -> list[Path]:
        """None: the photographs ship with scikit-image."""
        return []

    def load_images(self):
        """The patches (``cavitykit.data.labelled.photo_task``; no cache: ``images``)."""
        from cavitykit.data.labelled import photo_task

        return photo_task(self.classes, tuple(self.shape), self.n_train, self.n_test)


@dataclass(frozen=True)
class IdxData(_Images):
    """MNIST-format idx files (``data.source = "idx"``): Fashion-MNIST, MNIST or one's own, the four files
    ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
    ``t10k-labels-idx1-ubyte`` (each possibly gzipped) of a folder (``cavitykit.data.idx``).

    Parameters
    ----------
    source : 'idx'
        The source: variants 'images' and 'images_clone'.
    path : str
        The folder; by default where ``apt-get install dataset-fashion-mnist`` puts Fashion-MNIST on
        Debian and Ubuntu.  A missing file is refused in one line that says how to get them.
    classes : list of labels or label groups
        The C >= 2 classes, e.g. ``[[0, 2, 4, 6], [5, 7, 9]]`` (Fashion-MNIST's tops against footwear); by
        default a class per label (10).
    shape : list of two ints
        The images' height and width, by default read from the training images' header.
    n_train, n_test : int
        The first this many training and test images of the files (0: all of them), counted before the
        images of labels outside ``classes`` are left out.
    constant_pixels : {'drop', 'refuse'}
        As for ``ArraysData``.
    """

    test_set_keys: ClassVar[str] = "data.n_test (0: the whole test file)"

    source: str = "idx"
    path: str = FASHION_MNIST
    classes: tuple = ()
    shape: tuple[int, ...] = ()
    n_train: int = 0
    n_test: int = 0
    constant_pixels: str = "drop"

    def __post_init__(self):
        _check_source(self, "idx")
        self._check_images()
        check_int("data.n_train", self.n_train, minimum=0)
        check_int("data.n_test", self.n_test, minimum=0)
        if self.shape and not _CHECKS_FILES.get():
            self._check_shape()
            return
        from cavitykit.data.idx import idx_image_counts  # the headers alone

        stored = idx_image_counts(self.path)
        if not self.shape:
            object.__setattr__(self, "shape", stored["train"][1:])
        self._check_shape()
        if tuple(self.shape) != stored["train"][1:]:
            raise ValueError(
                f"data.shape is {list(self.shape)}, but the images in {self.path!r} are {list(stored['train'][1:])}"
            )
        for split, n in (("train", self.n_train), ("test", self.n_test)):
            if n > stored[split][0]:
                raise ValueError(f"data.n_{split} = {n} exceeds the {stored[split][0]} {split} images in {self.path!r}")
        if self.classes and len(self.classes) < 2:
            raise ValueError(f"data.classes must name two or more classes, got {list(self.classes)!r}")

    def describe(self) -> str:
        """The task in words."""
        return f"{' x '.join(str(side) for side in self.shape)} idx images from {self.path}"

    def files(self) -> list[Path]:
        """The four idx files."""
        from cavitykit.data.idx import idx_files

        return list(idx_files(self.path).values())

    def load_images(self):
        """The labelled images of the four files, the first ``n_train`` and ``n_test`` of each split
        (no cache: ``images``)."""
        from cavitykit.data.idx import read_idx_set
        from cavitykit.data.labelled import LabelledImages

        sets = read_idx_set(self.path)
        (train_x, train_y), (test_x, test_y) = (
            (x[:n], y[:n]) if n else (x, y)
            for (x, y), n in ((sets["train"], self.n_train), (sets["test"], self.n_test))
        )
        return LabelledImages.from_arrays(
            train_x,
            train_y,
            classes=self.classes or None,
            test=(test_x, test_y),
            source=f"idx {self.path}",
            constant_pixels=self.constant_pixels,
        )


# The data sources: ``data.source`` picks the table's class, which holds only that source's keys.
DATA_SOURCES = {"synthetic": SyntheticData, "arrays": ArraysData, "photos": PhotosData, "idx": IdxData}
DataConfig = SyntheticData | ArraysData | PhotosData | IdxData
# The keys of the data table each source reads, besides ``source`` itself (its class's fields).
SOURCE_KEYS = {
    name: tuple(item.name for item in dataclasses.fields(cls) if item.name != "source")
    for name, cls in DATA_SOURCES.items()
}


def _check_source(data, source: str) -> None:
    """A data table built directly must carry its own source's name."""
    if data.source != source:
        raise ValueError(f'{type(data).__name__} is data.source = "{source}", got data.source = {data.source!r}')


def _foreign_data_key(source: str, keys) -> str | None:
    """The message that refuses the first of ``keys`` that ``source`` does not read (None if all apply)."""
    foreign = [key for key in keys if key != "source" and key not in SOURCE_KEYS[source]]
    if not foreign:
        return None
    key = foreign[0]
    owners = " or ".join(f'"{name}"' for name, keys in SOURCE_KEYS.items() if key in keys)
    return f'data.{key} does not apply to data.source = "{source}", which reads {", ".join(SOURCE_KEYS[source])}' + (
        f"; it belongs to data.source = {owners}" if owners else ""
    )


def data_config(values: dict | None = None, **keys) -> DataConfig:
    """The data table of its source: ``SyntheticData``, ``ArraysData`` or ``PhotosData``, as
    ``data.source`` (default 'synthetic') names.

    Parameters
    ----------
    values : dict, optional
        The table's keys (from TOML), or give them as keyword arguments.

    Raises
    ------
    ValueError
        An unknown source, a key of another source (named in one line with the source it belongs to),
        or a value out of range.

    Examples
    --------
    >>> data_config(source="photos", shape=(8, 8), classes=[["astronaut"], ["coffee"]]).class_count
    2
    >>> data_config(source="photos", gain=3.0)
    Traceback (most recent call last):
    ...
    ValueError: data.gain does not apply to data.source = "photos", ...; it belongs to data.source = "synthetic"
    """
    values = dict(values or {}) | keys
    source = values.get("source", "synthetic")
    check_choice("data.source", source, tuple(DATA_SOURCES))
    message = _foreign_data_key(source, values)  # at its default too, which the dataclass cannot see
    if message:
        raise ValueError(message)
    cls = DATA_SOURCES[source]
    kwargs = {key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ValueError(f"data: {error}") from None


@dataclass(frozen=True)
class NetworkConfig:
    """The two-layer network f(x) = c_K sum_k v_k sigma(w_k . x / sqrt(D) + b_k), or a deeper one.

    Parameters
    ----------
    width : int
        K hidden units (of the first hidden layer).
    hidden : tuple of int
        The widths of every hidden layer, e.g. ``[300, 100]`` (LeNet-300-100): layer l computes
        sigma(W_l h_(l-1) / sqrt(K_(l-1)) + b_l) from the layer below, and the readout reads the last.  Its
        first entry is ``width`` (given alone, it sets ``width``); empty or one entry: one hidden layer.
        A deeper network trains on the torch route with the 'standard' parameterization, without
        snapshots; the statistics and cavity effects are those of its first layer.
    activation : {'erf', 'relu'}
        sigma; 'erf' is erf(z / sqrt 2).
    bias : bool
        Trainable hidden biases b_k.
    bias_init : {'zero', 'split'}
        Initial biases: zero, or +1 on the first half of the units and -1 on the second
        (Ingrosso-Goldt; it breaks the x -> -x symmetry of an odd activation).
    init_scale : float
        Standard deviation of the initial weights (and of a trained readout).
    prune_readout : bool
        Let IMP prune the readout v too.
    parameterization : {'standard', 'two_layer', 'committee', 'lazy', 'mean_field'}
        Output scale c_K, trained or fixed readout, and the learning rate of each kind of
        parameter (``cavitykit.network.parameterization``): 'standard' is c_K = 1/sqrt(K) with
        everything trained at the one rate; the others are the Ingrosso-Goldt modes, e.g.
        'mean_field' is the committee f = (1/K) sum_k sigma(lambda_k) whose first layer learns
        at K times the rate and its biases at K/D times.
    batch_norm : bool
        Batch normalization of every layer's input, the pixels' included, as in Pellegrini and Biroli's
        networks: x_hat = gamma (x - mean) / sqrt(var + eps) + beta per input feature, gamma and beta
        trained (not pruned; rewound with the weights), each training batch normalized by its own
        statistics and evaluation by the training set's, fitted after each round's training.  The
        statistics and cavity effects are then those of the pre-activation the network evaluates
        (``Normalization.fold``).  Batch training (batches of 2 or more) with the 'standard'
        parameterization, without snapshots.

    Examples
    --------
    >>> NetworkConfig(width=100, activation="erf", bias_init="split").bias
    True
    """

    width: int = 8
    activation: str = "erf"
    bias: bool = True
    bias_init: str = "split"
    init_scale: float = 1.0
    prune_readout: bool = False
    parameterization: str = field(default="standard", metadata=LATER)
    hidden: tuple[int, ...] = field(default=(), metadata=LATER)
    batch_norm: bool = field(default=False, metadata=LATER)

    def __post_init__(self):
        if not isinstance(self.hidden, tuple):
            raise ValueError(f"network.hidden must be a list of widths, got {self.hidden!r}")
        for width in self.hidden:
            check_int("network.hidden", width, minimum=1)
        check_int("network.width", self.width, minimum=1)
        if self.hidden and self.hidden[0] != self.width:
            raise ValueError(
                f"network.hidden starts with {self.hidden[0]} units but network.width is {self.width}: the first "
                "hidden layer is network.width (give one of the two)"
            )
        if len(self.hidden) == 1:  # one hidden layer: the network of network.width alone, and its hash
            object.__setattr__(self, "hidden", ())
        check_choice("network.parameterization", self.parameterization, PARAMETERIZATION_NAMES)
        check_choice("network.activation", self.activation, ACTIVATION_NAMES)
        check_choice("network.bias_init", self.bias_init, BIAS_INITS)
        check_real("network.init_scale", self.init_scale, positive=True)
        if self.depth > 1 and self.parameterization != "standard":
            raise ValueError(
                f"network.hidden = {list(self.hidden)} trains with the 'standard' parameterization only, got "
                f"network.parameterization = {self.parameterization!r}"
            )
        if not isinstance(self.batch_norm, bool):
            raise ValueError(f"network.batch_norm must be true or false, got {self.batch_norm!r}")
        if self.batch_norm and self.parameterization != "standard":
            raise ValueError(
                "network.batch_norm = true trains with the 'standard' parameterization only, got "
                f"network.parameterization = {self.parameterization!r}"
            )

    @property
    def widths(self) -> tuple[int, ...]:
        """The width of every hidden layer, first to last."""
        return self.hidden or (self.width,)

    @property
    def depth(self) -> int:
        """The number of hidden layers."""
        return len(self.widths)


@dataclass(frozen=True)
class TrainingConfig:
    """How each round trains.

    Parameters
    ----------
    mode : {'online', 'batch'}
        'online': ``batch_size`` fresh samples per step (Ingrosso-Goldt: 1); 'batch':
        minibatches drawn from the fixed training set.
    optimizer : {'sgd', 'adam'}
    learning_rate : float
        The rate eta; each kind of parameter learns at the multiple of it that
        ``network.parameterization`` gives.
    steps : int
        Optimizer steps of round 0 (later rounds train ``steps - imp.rewind_step``).
    batch_size : int
        Samples per step.
    loss : {'mse', 'cross_entropy'}
        'mse' is 0.5 (f - (2y - 1))^2; 'cross_entropy' is the logistic loss on f.
    snapshots : int
        Keep the weights at this many log-spaced training times t = steps / D from 0.1 to the end
        of round 0's training, and at t = 0 (``snapshot_steps``); 0 keeps none.
    order : {'random', 'epochs'}
        How minibatches ('batch' mode) take the training set: each sample drawn independently (with
        replacement), or epochs, every sample once per pass in a fresh random order (a round's first
        epoch starts with the round).

    Examples
    --------
    >>> TrainingConfig(mode="online", batch_size=1, steps=1000).optimizer
    'sgd'
    """

    mode: str = "batch"
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    steps: int = 1000
    batch_size: int = 64
    loss: str = "mse"
    snapshots: int = field(default=0, metadata=LATER)
    order: str = field(default="random", metadata=LATER)

    def __post_init__(self):
        check_choice("training.mode", self.mode, ("online", "batch"))
        check_choice("training.order", self.order, ("random", "epochs"))
        if self.order == "epochs" and self.mode != "batch":
            raise ValueError(
                'training.order = "epochs" passes over a fixed training set: it needs training.mode = "batch"'
            )
        check_choice("training.optimizer", self.optimizer, ("sgd", "adam"))
        check_real("training.learning_rate", self.learning_rate, positive=True)
        check_int("training.steps", self.steps, minimum=1)
        check_int("training.batch_size", self.batch_size, minimum=1)
        check_choice("training.loss", self.loss, ("mse", "cross_entropy"))
        check_int("training.snapshots", self.snapshots, minimum=0)
        if self.snapshots == 1:
            raise ValueError("training.snapshots must be 0 (none) or at least 2 (a first and a last time), got 1")


STRATEGIES = ("magnitude", "random", "one_shot", "dense", "cavity")
# The control branches a magnitude-pruning run can also train from its dense round (``cavitykit.branches``).
CONTROLS = tuple(CONTROL_BRANCHES)


@dataclass(frozen=True)
class IMPConfig:
    """IMP rounds: train, prune ``prune_fraction`` of the remaining weights, rewind, repeat.

    Parameters
    ----------
    rounds : int
        Trainings (round 0 is the dense network).
    prune_fraction : float
        Fraction p of the remaining weights each round removes, in (0, 1).
    layer_fractions : tuple of float
        The fractions of the prunable layers after the first (the hidden layers 2..L, then the readout
        when ``network.prune_readout``), e.g. ``[0.2, 0.1]`` for LeNet-300-100 (Frankle and Carbin prune
        the output layer at half the rate); empty: every layer at ``prune_fraction``.
    scope : {'layer', 'global'}
        One magnitude threshold per layer, or one across the prunable layers.
    rewind_step : int
        0 rewinds to the initialization (lottery tickets); k > 0 to the weights after k
        steps of round 0 (late rewinding).
    target_sparsity : float
        If > 0, overrides ``rounds``: stop at the first round that reaches it.
    strategy : {'magnitude', 'random', 'one_shot', 'dense', 'cavity'}
        'magnitude' is IMP; 'random' removes as many weights chosen at random; 'one_shot'
        trains dense and prunes to the final sparsity at once; 'dense' never prunes;
        'cavity' removes as many weights as IMP, those whose exact removal most raises the
        |excess kurtosis| of their unit (mean over classes, held-out inputs): the causal test
        of whether non-Gaussianity drives localization.
    controls : tuple of {'random', 'one_shot', 'cavity', 'reinit'}
        Control branches of a 'magnitude' run, as open_lth's branches (``cavitykit.branches``): each
        of 'random', 'one_shot' and 'cavity' prunes the same dense (round-0) networks by its strategy
        and trains its own rounds, round for round a run of that strategy; 'reinit' trains each round's
        IMP mask from a fresh random initialization (Frankle and Carbin's control of the lottery ticket),
        as many steps as IMP's round.  They are stored in the same run under ``controls/<name>/``, leave
        the main branch as it is and are not part of the run's hash: adding one to an existing run
        trains only the branch.

    Examples
    --------
    >>> IMPConfig(rounds=20, prune_fraction=0.2).strategy
    'magnitude'
    """

    rounds: int = 8
    prune_fraction: float = 0.3
    scope: str = "layer"
    rewind_step: int = 0
    target_sparsity: float = 0.0
    strategy: str = "magnitude"
    controls: tuple[str, ...] = field(default=(), metadata=LATER)
    layer_fractions: tuple[float, ...] = field(default=(), metadata=LATER)

    def __post_init__(self):
        check_int("imp.rounds", self.rounds, minimum=1)
        if not isinstance(self.layer_fractions, tuple):
            raise ValueError(f"imp.layer_fractions must be a list of fractions, got {self.layer_fractions!r}")
        given = [("imp.prune_fraction", self.prune_fraction)]
        for key, fraction in given + [("imp.layer_fractions", value) for value in self.layer_fractions]:
            if not 0 < check_real(key, fraction) < 1:
                raise ValueError(f"{key} must be in (0, 1), got {fraction}")
        check_choice("imp.scope", self.scope, ("layer", "global"))
        check_int("imp.rewind_step", self.rewind_step, minimum=0)
        target = check_real("imp.target_sparsity", self.target_sparsity)
        if not 0 <= target < 1:
            raise ValueError(f"imp.target_sparsity must be in [0, 1), got {target}")
        check_choice("imp.strategy", self.strategy, STRATEGIES)
        if not isinstance(self.controls, tuple) or len(set(self.controls)) != len(self.controls):
            raise ValueError(f"imp.controls must be a list of distinct strategies, got {list(self.controls)!r}")
        for control in self.controls:
            check_choice("imp.controls", control, CONTROLS)
        if self.controls and self.strategy != "magnitude":
            raise ValueError(
                f"imp.controls branch from a magnitude-pruning (IMP) run; imp.strategy is {self.strategy!r}: "
                'set imp.strategy = "magnitude" or imp.controls = []'
            )

    def fractions(self, n_layers: int) -> tuple[float, ...]:
        """The pruning fraction of each of ``n_layers`` prunable layers: ``prune_fraction``, then
        ``layer_fractions`` (or ``prune_fraction`` again where it is empty).

        Examples
        --------
        >>> IMPConfig(prune_fraction=0.2, layer_fractions=(0.2, 0.1)).fractions(3)
        (0.2, 0.2, 0.1)
        """
        return (self.prune_fraction, *(self.layer_fractions or (self.prune_fraction,) * (n_layers - 1)))

    @property
    def n_trainings(self) -> int:
        """Number of rounds (trainings) the strategy runs."""
        if self.strategy == "dense":
            return 1
        rounds = self.rounds
        if self.target_sparsity > 0:
            rounds = 1 + math.ceil(math.log(1 - self.target_sparsity) / math.log(1 - self.prune_fraction))
        return 2 if self.strategy == "one_shot" else rounds


# The fewest held-out inputs of a class behind its statistics (a class of images may have fewer test
# images than analysis.n_heldout asks for, never fewer than this).
MIN_HELDOUT = 8


@dataclass(frozen=True)
class AnalysisConfig:
    """Per-round statistics on held-out samples of each class.

    Parameters
    ----------
    n_heldout : int
        Held-out samples per class behind the cumulants and cavity effects.
    cavity : bool
        Compute exact cavity effects (and their expansions) every round.
    expansion_orders : tuple of int
        Truncation orders (1..8) of the cavity expansion stored beside the exact effects.

    Examples
    --------
    >>> AnalysisConfig(n_heldout=5000).expansion_orders
    (1, 2, 3)
    """

    n_heldout: int = 20_000
    cavity: bool = True
    expansion_orders: tuple[int, ...] = (1, 2, 3)

    def __post_init__(self):
        check_int("analysis.n_heldout", self.n_heldout, minimum=MIN_HELDOUT)
        for order in self.expansion_orders:
            check_int("analysis.expansion_orders", order, minimum=1, maximum=8)


@dataclass(frozen=True)
class RunConfig:
    """A whole IMP run: what is trained on what, how, and what is measured.

    Frozen and validated on construction: a bad value raises ``ValueError`` naming its key.
    What determines the trained weights (``identity``: all but the name, the control branches and the
    analysis settings) names the run directory, so one directory always holds one training; the whole
    config's ``hash`` is stored in every file, which a run re-measured under other analysis settings
    rewrites.

    Parameters
    ----------
    name : str
        Prefix of the run directory ``<name>-<identity[:12]>``; a label, not part of the identity.
    seed : int
        Root of every random draw (``cavitykit.variants.seed``).
    replicates : int
        Independent initializations and data draws.
    variants : tuple of str
        Data variants (``cavitykit.variants.VARIANTS``), each trained separately.
    data : SyntheticData, ArraysData or PhotosData
        The data table of its source (``data_config``).
    network, training, imp, analysis
        The sections ``NetworkConfig``, ``TrainingConfig``, ``IMPConfig``, ``AnalysisConfig``.

    Examples
    --------
    >>> config = config_from_dict({"name": "demo", "imp": {"rounds": 3}})
    >>> config.imp.rounds, config.data.D, len(config.hash)
    (3, 40, 64)
    >>> config_from_dict(config.to_dict()) == config
    True
    """

    name: str = "run"
    seed: int = 0
    replicates: int = 1
    variants: tuple[str, ...] = DEFAULT_VARIANTS
    data: DataConfig = field(default_factory=SyntheticData)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    imp: IMPConfig = field(default_factory=IMPConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def __post_init__(self):
        check_int("seed", self.seed, minimum=0)
        check_int("replicates", self.replicates, minimum=1)
        if not self.variants or len(set(self.variants)) != len(self.variants):
            raise ValueError(f"variants must be distinct and non-empty, got {self.variants!r}")
        for variant in self.variants:
            check_choice("variants", variant, VARIANTS)
            if (variant in IMAGE_VARIANTS) == self.data.periodic:
                wanted = tuple(set(VARIANTS) - set(IMAGE_VARIANTS)) if self.data.periodic else IMAGE_VARIANTS
                raise ValueError(
                    f"variants: {variant!r} does not train on data.source = {self.data.source!r}, whose variants are "
                    f"{sorted(wanted)}"
                )
            if variant in RING_ONLY and self.data.dim != 1:
                raise ValueError(
                    f"variant {variant!r} needs data.dim = 1 (its temperature comes from xi through the exact "
                    f"1D correlation length), got data.dim = {self.data.dim}"
                )
        if self.network.activation in ODD_ACTIVATIONS and not self.network.bias:
            # Every variant's classes are symmetric under x -> -x; an odd network has f(-x) = -f(x),
            # so its output has the same law under both classes: it cannot beat chance.
            raise ValueError(
                f"network.activation = {self.network.activation!r} with network.bias = false gives a network odd "
                "in x, which cannot tell apart classes that are symmetric under x -> -x (every variant's are); "
                'set network.bias = true with network.bias_init = "split", or network.activation = "relu"'
            )
        strategies = (self.imp.strategy, *(CONTROL_BRANCHES[name].strategy for name in self.imp.controls))
        cavity_pruning = any(ranks_on_heldout(strategy) for strategy in strategies)
        self._check_depth(cavity_pruning)
        self._check_batch_norm()
        if cavity_pruning and (not self.analysis.cavity or self.network.prune_readout):
            raise ValueError(
                'imp.strategy = "cavity" (or the cavity control) ranks weights by their exact cavity effects: '
                "it needs analysis.cavity = true "
                f"(got {str(self.analysis.cavity).lower()}) and a first layer only, network.prune_readout = false "
                f"(got {str(self.network.prune_readout).lower()})"
            )
        if not self.data.periodic and self.training.mode != "batch":
            raise ValueError(
                f"data.source = {self.data.source!r} trains on fixed training images: training.mode must be "
                f'"batch", got {self.training.mode!r}'
            )
        if self.imp.rewind_step >= self.training.steps:
            raise ValueError(
                f"imp.rewind_step must be below training.steps={self.training.steps}, got {self.imp.rewind_step}"
            )

    def _check_depth(self, cavity_pruning: bool) -> None:
        """What a network of several hidden layers does not (yet) do, and a fraction for every prunable layer."""
        net = self.network
        after_first = net.depth - 1 + int(net.prune_readout)
        if self.imp.layer_fractions and len(self.imp.layer_fractions) != after_first:
            raise ValueError(
                f"imp.layer_fractions gives {len(self.imp.layer_fractions)} fraction(s); the network has {after_first} "
                f"prunable layer(s) after the first ({net.depth - 1} more hidden, "
                f"{'and' if net.prune_readout else 'not'} the readout)"
            )
        if net.depth == 1:
            return
        refused = [
            ("training.snapshots", self.training.snapshots > 0),
            ('imp.strategy = "cavity" or the cavity control', cavity_pruning),
        ]
        for key, given in refused:
            if given:
                raise ValueError(
                    f"{key} is not available for network.hidden = {list(net.hidden)} (one hidden layer only)"
                )

    def _check_batch_norm(self) -> None:
        """Batch normalization needs batches of several samples and a training set to fit its statistics on."""
        if not self.network.batch_norm:
            return
        refused = [
            (f'training.mode = "{self.training.mode}"', self.training.mode != "batch"),
            (f"training.batch_size = {self.training.batch_size}", self.training.batch_size < 2),
            (f"training.snapshots = {self.training.snapshots}", self.training.snapshots > 0),
        ]
        for key, given in refused:
            if given:
                raise ValueError(
                    f"{key} does not go with network.batch_norm = true, which normalizes each training batch "
                    'by its own statistics and evaluates by the training set\'s (training.mode = "batch", '
                    "training.batch_size of 2 or more, no snapshots)"
                )

    def snapshot_steps(self) -> tuple[int, ...]:
        """The steps at which training keeps the weights: 0, then ``training.snapshots`` log-spaced
        training times t = steps / D from 0.1 to the end of round 0, rounded to steps (duplicates
        dropped); () without snapshots.

        A round started from a rewind point at step k keeps those at or after k, counted from the
        start of round 0, so every round shares one time axis.

        Examples
        --------
        >>> config = config_from_dict({"data": {"L": 10}, "training": {"steps": 10_000, "snapshots": 5}})
        >>> config.snapshot_steps()  # t = 0, 0.1, 1, 10, 100, 1000 with D = 10
        (0, 1, 10, 100, 1000, 10000)
        """
        count = self.training.snapshots
        if count == 0:
            return ()
        first, last = math.log10(0.1 * self.data.D), math.log10(self.training.steps)
        spaced = (round(10 ** (first + j * (last - first) / (count - 1))) for j in range(count))
        return tuple(sorted({0, *(min(max(step, 1), self.training.steps) for step in spaced)}))

    def to_dict(self) -> dict:
        """The config as nested dicts (sections are tables), without later keys left at their default; the
        data table holds its source's keys only."""
        return _without_later_defaults(self)

    def to_toml(self) -> str:
        """The config as TOML (what is stored in the run and hashed)."""
        lines = []
        tables = []
        for key, value in self.to_dict().items():
            if isinstance(value, dict):
                tables.append((key, value))
            else:
                lines.append(f"{key} = {toml_value(value)}")
        for table, values in tables:
            lines.append(f"\n[{table}]")
            lines.extend(f"{key} = {toml_value(value)}" for key, value in values.items())
        return "\n".join(lines) + "\n"

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON of the config without ``imp.controls``, stored in every file the
        run writes: control branches do not change the main branch's files."""
        return _sha256(without_controls(self.to_dict()))

    @property
    def identity(self) -> str:
        """sha256 of what determines the trained weights, which names the run directory: the config without
        its name, control branches and analysis settings; with the cavity strategy, which ranks weights on
        the held-out inputs, ``analysis.n_heldout`` stays.

        Runs that differ only in name or analysis share their training: the runner re-measures the stored
        rounds under the new analysis settings instead of training again.

        Examples
        --------
        >>> config = config_from_dict({"name": "a"})
        >>> renamed = config_from_dict({"name": "b", "analysis": {"n_heldout": 4000}})
        >>> renamed.identity == config.identity, renamed.hash == config.hash
        (True, False)
        """
        values = without_controls(self.to_dict())
        del values["name"], values["analysis"]
        if ranks_on_heldout(self.imp.strategy):
            values["imp"]["ranked_on_heldout"] = self.analysis.n_heldout
        return _sha256(values)

    def branch(self, strategy: str) -> RunConfig:
        """The config of the control branch ``strategy``: this run with that strategy and no controls.

        Examples
        --------
        >>> config = config_from_dict({"imp": {"controls": ["random"]}})
        >>> config.branch("random").imp.strategy, config.branch("random").imp.controls
        ('random', ())
        """
        check_choice("strategy", strategy, self.imp.controls)
        with _files_unchecked():  # this config's data table is the branch's, checked (or stored) already
            return config_from_dict(branch_tables(self.to_dict(), strategy))


def _sha256(values: dict) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of ``values``."""
    return hashlib.sha256(json.dumps(values, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _without_later_defaults(instance) -> dict:
    values = {}
    for item in dataclasses.fields(instance):
        value = getattr(instance, item.name)
        if item.metadata.get("added_later") and value == item.default:
            continue
        values[item.name] = _without_later_defaults(value) if dataclasses.is_dataclass(value) else value
    return values


_SECTIONS = {
    "data": data_config,
    "network": NetworkConfig,
    "training": TrainingConfig,
    "imp": IMPConfig,
    "analysis": AnalysisConfig,
}


def _build(cls, values: dict, where: str):
    if not isinstance(values, dict):
        raise ValueError(f"{where or 'config'} must be a table, got {values!r}")
    if cls is data_config:
        known = {key for keys in SOURCE_KEYS.values() for key in keys} | {"source"}
        _refuse_unknown(values, known, where)
        return data_config(values)
    known = {f.name: f for f in dataclasses.fields(cls)}
    _refuse_unknown(values, known, where)
    kwargs = {}
    for key, value in values.items():
        if key in _SECTIONS and not where:
            kwargs[key] = _build(_SECTIONS[key], value, key)
        elif isinstance(value, list):
            kwargs[key] = tuple(value)
        else:
            kwargs[key] = value
    if cls is NetworkConfig and isinstance(kwargs.get("hidden"), tuple) and kwargs["hidden"] and "width" not in kwargs:
        kwargs["width"] = kwargs["hidden"][0]  # network.hidden alone sets the first layer's width
    try:
        return cls(**kwargs)
    except TypeError as error:  # a wrong type: the checks name its dotted key; anything else gets the table's
        message = str(error)
        raise ValueError(message if not where or where in message else f"{where}: {message}") from None


def _refuse_unknown(values: dict, known, where: str) -> None:
    """Refuse the keys of a table that no field takes, each with the closest known key."""
    unknown = sorted(set(values) - set(known))
    if not unknown:
        return
    prefix = f"{where}." if where else ""
    names = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        names.append(prefix + key + (f" (did you mean {prefix + close[0]}?)" if close else ""))
    raise ValueError(f"unknown config key(s) {', '.join(names)}; known: {sorted(known)}")


def config_from_dict(values: dict) -> RunConfig:
    """Build and validate a RunConfig from nested dicts (the tables of a TOML file).

    Parameters
    ----------
    values : dict
        Top-level keys and section tables; missing keys take their defaults.

    Returns
    -------
    RunConfig

    Raises
    ------
    ValueError
        An unknown key, a section that is not a table, or a value out of range.

    Examples
    --------
    >>> config = config_from_dict({"name": "mine", "data": {"gain": 1.0}})
    >>> config.data.gain, config.imp.rounds
    (1.0, 8)
    >>> config_from_dict({"data": {"gian": 1.0}})
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    return _build(RunConfig, values, "")


def stored_values(values: dict) -> dict:
    """A stored config's tables as this version reads them: data keys of another source than the run's,
    which runs stored before each source kept only its own, left out.

    Examples
    --------
    >>> stored_values({"data": {"source": "photos", "gain": 3.0, "shape": [8, 8]}})
    {'data': {'source': 'photos', 'shape': [8, 8]}}
    """
    data = values.get("data")
    if not isinstance(data, dict) or data.get("source", "synthetic") not in SOURCE_KEYS:
        return values
    own = ("source", *SOURCE_KEYS[data.get("source", "synthetic")])
    return values | {"data": {key: value for key, value in data.items() if key in own}}


def stored_config(values: dict) -> RunConfig:
    """The RunConfig of a stored config's tables (a run's ``config.toml``, a file's ``config`` attribute), as
    ``stored_values`` reads them, built without reading the data files (which training alone needs).

    Examples
    --------
    >>> stored = {"data": {"source": "idx", "path": "/nowhere", "shape": [28, 28]}, "variants": ["images"]}
    >>> stored_config(stored).data.D
    784
    """
    with _files_unchecked():
        return config_from_dict(stored_values(values))


def load_stored_config(path) -> RunConfig:
    """The config a run directory stores (``config.toml``), as ``stored_config`` builds it."""
    return stored_config(read_toml(path))


def read_toml(path, what: str = "config") -> dict:
    """The tables of a TOML file; a missing or malformed file is an error naming ``what`` and the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
    >>> _ = path.write_text('name = "mine"\\n[data]\\ngain = 1.0\\n')
    >>> read_toml(path)
    {'name': 'mine', 'data': {'gain': 1.0}}
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {str(path)!r} does not exist")
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{what} file {str(path)!r} is not valid TOML: {error}") from None


def load_config(path) -> RunConfig:
    """Read and validate a TOML config file; its relative ``data.path`` and ``data.test_path`` are read from
    the file's folder (and stored resolved).

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    RunConfig

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Malformed TOML or an invalid config.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "run.toml"
    >>> _ = path.write_text('name = "mine"\\n[imp]\\nrounds = 3\\n')
    >>> load_config(path).imp.rounds
    3
    """
    values = read_toml(path)
    data = values.get("data")
    if isinstance(data, dict):
        folder = Path(path).resolve().parent
        for key in ("path", "test_path"):
            given = data.get(key)
            if isinstance(given, str) and given:
                written = Path(given).expanduser()
                data[key] = str(written if written.is_absolute() else folder / written)
    return config_from_dict(values)


def presets() -> list[str]:
    """Names of the shipped presets (``cavitykit/presets/*.toml``), sorted.

    Examples
    --------
    >>> {"quick", "paper"} <= set(presets())
    True
    """
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml"))


def load_preset(name: str, *, check_files: bool = True) -> RunConfig:
    """A shipped preset's config.

    Parameters
    ----------
    name : str
        One of ``presets()``.
    check_files : bool
        Read the data files' headers as a new run does (False: a preset that names its data's shape
        loads where its data are not, e.g. to compare its identity with a published run's).

    Returns
    -------
    RunConfig

    Examples
    --------
    >>> load_preset("quick").name
    'quick'
    """
    check_choice("preset", name, tuple(presets()))
    if check_files:
        return load_config(PRESET_DIR / f"{name}.toml")
    with _files_unchecked():
        return load_config(PRESET_DIR / f"{name}.toml")
