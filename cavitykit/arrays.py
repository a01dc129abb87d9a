"""Reading the user's own arrays: weights from ``.npz``/``.npy`` files or torch checkpoints, samples
from ``.npy``/``.npz`` files.  Nothing is ever unpickled: numpy files load with ``allow_pickle=False``
and torch checkpoints with ``weights_only=True`` (torch is imported only for them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

TORCH_SUFFIXES = (".pt", ".pth", ".ckpt")


def _existing(path, what: str) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no file at {str(path)!r}")
    return path


def _from_numpy_file(path: Path, key: str | None, what: str) -> np.ndarray:
    """The array of a .npy file, or array ``key`` of a .npz (its only array when ``key`` is None)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise ValueError(
                f"{what}: {str(path)!r} is not a plain .npy/.npz array (pickled data is refused)"
            ) from None
        raise ValueError(f"{what}: {str(path)!r} is not a readable .npy/.npz array ({error})") from None
    except (OSError, EOFError) as error:
        raise ValueError(f"{what}: {str(path)!r} is not a readable .npy/.npz array ({error})") from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        return loaded
    with loaded:
        if key is None and len(loaded.files) != 1:
            raise ValueError(f"{what}: {str(path)!r} holds arrays {loaded.files}; name one with key")
        name = loaded.files[0] if key is None else key
        if name not in loaded.files:
            raise ValueError(f"{what}: {str(path)!r} has no array {name!r}; it holds {loaded.files}")
        try:
            return loaded[name]
        except ValueError:
            raise ValueError(f"{what}: array {name!r} of {str(path)!r} holds pickled data, which is refused") from None


def _from_torch_checkpoint(path: Path, key: str) -> np.ndarray:
    """Tensor ``key`` of a torch checkpoint (a state_dict or a single tensor), loaded without unpickling code."""
    import pickle

    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError) as error:
        raise ValueError(
            f"weights: {str(path)!r} is not a torch checkpoint of tensors (loaded with weights_only=True: "
            f"pickled objects are refused): {str(error).splitlines()[0]}"
        ) from None
    if isinstance(loaded, torch.Tensor):
        return loaded.detach().numpy()
    if not isinstance(loaded, dict):
        raise ValueError(f"weights: {str(path)!r} holds a {type(loaded).__name__}, not a tensor or a state_dict")
    if key not in loaded:
        raise ValueError(f"weights: {str(path)!r} has no tensor {key!r}; it holds {sorted(loaded)}")
    if not isinstance(loaded[key], torch.Tensor):
        raise ValueError(f"weights: {key!r} of {str(path)!r} is a {type(loaded[key]).__name__}, not a tensor")
    return loaded[key].detach().numpy()


def load_weights(path, *, key: str | None = None) -> np.ndarray:
    """First-layer weights (K, D) from a file.

    Parameters
    ----------
    path : str or Path
        ``.npz`` (array ``weight``, or ``key``), ``.npy``, or a torch checkpoint (``.pt``, ``.pth``,
        ``.ckpt``: a state_dict or a tensor; ``key`` names the tensor, default ``weight``).
    key : str, optional

    Returns
    -------
    ndarray of float64, shape (K, D)

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A missing key, pickled objects, or an array that is not 2-D and real.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(path, weight=np.ones((3, 4)), bias=np.zeros(3))
    >>> load_weights(path).shape
    (3, 4)
    """
    path = _existing(path, "weights")
    if path.suffix in TORCH_SUFFIXES:
        weights = _from_torch_checkpoint(path, key or "weight")
    else:
        default = "weight" if path.suffix == ".npz" and key is None else key
        weights = _from_numpy_file(path, default, "weights")
    if weights.ndim != 2 or weights.dtype.kind not in "fiu" or 0 in weights.shape:
        raise ValueError(f"weights must be a real array of shape (K, D), got {weights.dtype} {weights.shape}")
    return weights.astype(np.float64)


def load_samples(path, n_inputs: int) -> np.ndarray:
    """Inputs (P, D) from a .npy file, or a .npz holding one array.

    Parameters
    ----------
    path : str or Path
    n_inputs : int
        D, which the file's second axis must match.

    Returns
    -------
    ndarray of float64, shape (P, D)

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
    >>> np.save(path, np.zeros((100, 5)))
    >>> load_samples(path, 5).shape
    (100, 5)
    >>> load_samples(path, 6)
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    loaded = _from_numpy_file(_existing(path, "samples"), None, "samples")
    if loaded.ndim != 2 or loaded.shape[1] != n_inputs or loaded.dtype.kind not in "fiu":
        raise ValueError(f"samples must be numeric of shape (P, {n_inputs}), got {loaded.dtype} {loaded.shape}")
    return loaded.astype(np.float64)
