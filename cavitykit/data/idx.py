"""MNIST-format idx files: the images and labels of MNIST, Fashion-MNIST and their kin.

An idx file is a 4-byte magic number (two zero bytes, a type code, the number of dimensions), each
dimension as a big-endian 32-bit integer, then the values in C order; the four files of a data set are
``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte`` and
``t10k-labels-idx1-ubyte``, each possibly gzipped (``.gz``).  On Debian and Ubuntu,
``apt-get install dataset-fashion-mnist`` puts Fashion-MNIST in ``FASHION_MNIST``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from cavitykit.variants import FASHION_MNIST

# The type codes of the idx format and the big-endian dtypes they name.
IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
# The four files of a data set: (split, kind) -> the file's name without ".gz".
IDX_FILES = {
    ("train", "images"): "train-images-idx3-ubyte",
    ("train", "labels"): "train-labels-idx1-ubyte",
    ("test", "images"): "t10k-images-idx3-ubyte",
    ("test", "labels"): "t10k-labels-idx1-ubyte",
}
HOW_TO_GET = (
    "on Debian or Ubuntu `apt-get install dataset-fashion-mnist` installs Fashion-MNIST in "
    f"{FASHION_MNIST}; or give data.path, any folder with the four MNIST-format files (MNIST too): "
    + ", ".join(f"{name}[.gz]" for name in IDX_FILES.values())
)


def idx_files(folder) -> dict[tuple[str, str], Path]:
    """The four files of the idx data set in ``folder``, plain or gzipped (the plain one where both are).

    Raises
    ------
    FileNotFoundError
        A file is missing: one line that says how to get them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.is_file() else "does not exist"
        raise FileNotFoundError(f"data.path: {str(folder)!r} {what}; {HOW_TO_GET}")
    found = {}
    for key, name in IDX_FILES.items():
        candidates = [folder / name, folder / f"{name}.gz"]
        present = [path for path in candidates if path.is_file()]
        if not present:
            raise FileNotFoundError(f"data.path: no {name}[.gz] in {str(folder)!r}; {HOW_TO_GET}")
        found[key] = present[0]
    return found


def _open(path: Path):
    with open(path, "rb") as handle:
        gzipped = handle.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rb") if gzipped else open(path, "rb")


def idx_header(path, ndim: int) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape an idx file declares, read from its header alone.

    Parameters
    ----------
    path : str or Path
    ndim : int
        The dimensions it must have: 3 for images (N, H, W), 1 for labels (N,).

    Raises
    ------
    ValueError
        Not an idx file of ``ndim`` dimensions (one line naming the file).
    """
    with _open(Path(path)) as handle:
        return _header(handle, Path(path), ndim)


def _header(handle, path: Path, ndim: int) -> tuple[np.dtype, tuple[int, ...]]:
    try:
        magic = handle.read(4)
    except (OSError, EOFError) as error:
        raise ValueError(f"{str(path)!r} is not a readable idx file: {error}") from None
    if len(magic) < 4 or magic[:2] != b"\0\0" or magic[2] not in IDX_TYPES:
        raise ValueError(f"{str(path)!r} is not an idx file: its header starts {magic.hex() or 'empty'}")
    if magic[3] != ndim:
        raise ValueError(f"{str(path)!r} holds an idx array of {magic[3]} dimensions, expected {ndim}")
    dims = handle.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise ValueError(f"{str(path)!r} is cut short inside its header")
    return np.dtype(IDX_TYPES[magic[2]]), tuple(int(n) for n in np.frombuffer(dims, dtype=">u4"))


def read_idx(path, ndim: int) -> np.ndarray:
    """The array an idx file holds, in its native byte order.

    Parameters
    ----------
    path : str or Path
        A plain or gzipped idx file.
    ndim : int
        The dimensions it must have: 3 for images (N, H, W), 1 for labels (N,).

    Returns
    -------
    ndarray of the declared shape

    Raises
    ------
    ValueError
        A corrupt header, or a file cut short or with bytes left over (one line naming the file).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "labels-idx1-ubyte"
    >>> _ = path.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 3, 7, 2, 9]))
    >>> read_idx(path, 1)
    array([7, 2, 9], dtype=uint8)
    """
    path = Path(path)
    with _open(path) as handle:
        dtype, shape = _header(handle, path, ndim)
        expected = int(np.prod(shape)) * dtype.itemsize
        try:
            body = handle.read(expected + 1)
        except (OSError, EOFError) as error:
            raise ValueError(f"{str(path)!r} is cut short or corrupt: {error}") from None
    if len(body) != expected:
        what = "is cut short" if len(body) < expected else "has bytes beyond its declared shape"
        raise ValueError(
            f"{str(path)!r} {what}: its header declares {' x '.join(map(str, shape))} values of {dtype.itemsize} "
            f"byte(s), {expected} bytes, and it holds {'more' if len(body) > expected else len(body)}"
        )
    return np.frombuffer(body, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, values: np.ndarray) -> Path:
    """Write ``values`` as an idx file (gzipped when ``path`` ends in .gz): for tests and small data sets.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x-idx3-ubyte.gz"
    >>> images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    >>> bool((read_idx(write_idx(path, images), 3) == images).all())
    True
    """
    path = Path(path)
    values = np.asarray(values)
    code = {np.dtype(dtype).newbyteorder("="): key for key, dtype in IDX_TYPES.items()}.get(values.dtype)
    if code is None:
        raise ValueError(f"values: an idx file holds {sorted(set(IDX_TYPES.values()))}, got dtype {values.dtype}")
    header = bytes([0, 0, code, values.ndim]) + np.asarray(values.shape, dtype=">u4").tobytes()
    body = values.astype(np.dtype(IDX_TYPES[code])).tobytes()
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as handle:
        handle.write(header + body)
    return path


def idx_image_counts(folder) -> dict[str, tuple[int, ...]]:
    """The shape, (N, H, W), of the training and of the test images of the idx data set in ``folder``, from
    the headers alone."""
    files = idx_files(folder)
    return {split: idx_header(files[(split, "images")], 3)[1] for split in ("train", "test")}


def read_idx_set(folder) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The training and test images and labels of the idx data set in ``folder``.

    Returns
    -------
    dict
        ``{'train': (images (N, H, W), labels (N,)), 'test': (...)}``.

    Raises
    ------
    FileNotFoundError
        A file is missing (how to get them, in one line).
    ValueError
        A corrupt or truncated file, labels that are not integers, images and labels of different
        counts, or test images of another size than the training images.
    """
    files = idx_files(folder)
    out = {}
    for split in ("train", "test"):
        images, labels = read_idx(files[(split, "images")], 3), read_idx(files[(split, "labels")], 1)
        if labels.dtype.kind not in "iu":
            raise ValueError(f"{str(files[(split, 'labels')])!r} holds {labels.dtype} labels: labels must be integers")
        if len(images) != len(labels):
            raise ValueError(
                f"{str(files[(split, 'images')])!r} holds {len(images)} images but "
                f"{str(files[(split, 'labels')])!r} {len(labels)} labels"
            )
        out[split] = (images, labels)
    if out["train"][0].shape[1:] != out["test"][0].shape[1:]:
        raise ValueError(
            f"the test images in {str(folder)!r} are {out['test'][0].shape[1:]}, the training images "
            f"{out['train'][0].shape[1:]}"
        )
    return out
