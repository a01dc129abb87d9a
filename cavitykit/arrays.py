"""Reading the user's own arrays: weights from ``.npz``/``.npy`` files or torch checkpoints, samples
from ``.npy``/``.npz`` files.  Nothing is ever unpickled: numpy files load with ``allow_pickle=False``
and torch checkpoints with ``weights_only=True`` (torch is imported only for them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cavitykit._validation import check_finite

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
            raise ValueError(
                f"{what}: {str(path)!r} holds arrays {loaded.files}; name one with key (--key or --samples-key "
                "on the command line)"
            )
        name = loaded.files[0] if key is None else key
        if name not in loaded.files:
            raise ValueError(f"{what}: {str(path)!r} has no array {name!r}; it holds {loaded.files}")
        try:
            return loaded[name]
        except ValueError:
            raise ValueError(f"{what}: array {name!r} of {str(path)!r} holds pickled data, which is refused") from None


def _from_torch_checkpoint(
    path: Path, key: str, *, bias_key: str | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Tensor ``key`` of a torch checkpoint (a state_dict or a single tensor), loaded without unpickling code,
    and the state_dict's tensor ``bias_key`` if it holds one."""
    import pickle

    import torch

    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch.load fails on a file that is no checkpoint with any of many errors
        if isinstance(error, pickle.UnpicklingError) and "Unsupported global" in str(error):
            # torch's own message is pages long and coloured: say what to save instead
            raise ValueError(
                f"weights: {str(path)!r} holds pickled Python objects (a whole model, say), which are never "
                "unpickled here; save the tensors instead, torch.save(model.state_dict(), FILE), and name the "
                "layer with --key, e.g. --key fc1.weight"
            ) from None
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        # torch's weights-only reader puts its reason after a page of advice
        at = [i for i, line in enumerate(lines) if "WeightsUnpickler error" in line]
        reason = (lines or [repr(error)])[0]
        if at:
            reason = lines[at[-1]].split("error:")[-1].strip() or lines[min(at[-1] + 1, len(lines) - 1)]
        raise ValueError(f"weights: {str(path)!r} is not a torch checkpoint of tensors ({reason})") from None
    if isinstance(loaded, torch.Tensor):
        return loaded.detach().numpy(), None
    if not isinstance(loaded, dict):
        raise ValueError(f"weights: {str(path)!r} holds a {type(loaded).__name__}, not a tensor or a state_dict")
    tensors = {name: value.detach().numpy() for name, value in loaded.items() if isinstance(value, torch.Tensor)}
    weights = _pruned_tensor(tensors, key, path)
    if weights is None:
        if key not in loaded:
            raise ValueError(f"weights: {str(path)!r} has no tensor {key!r}; it holds {sorted(loaded)}")
        raise ValueError(f"weights: {key!r} of {str(path)!r} is a {type(loaded[key]).__name__}, not a tensor")
    bias = _pruned_tensor(tensors, bias_key, path) if bias_key else None
    return weights, bias


def _pruned_tensor(tensors: dict[str, np.ndarray], key: str, path: Path) -> np.ndarray | None:
    """Tensor ``key`` of a state_dict as the model computes with it, or None when it holds none.

    ``torch.nn.utils.prune`` saves a pruned parameter as ``key_orig`` (the values before pruning) and
    ``key_mask``; the layer computes with their product, so that is what ``key`` means here.  Asking for
    ``key_orig`` itself, or an ``_orig`` without its mask, is refused: it would count pruned weights as kept.
    """
    if key.endswith("_orig") and key[: -len("_orig")] + "_mask" in tensors:
        layer = key[: -len("_orig")]
        raise ValueError(
            f"weights: {key!r} of {str(path)!r} holds the values torch.nn.utils.prune kept from before pruning; "
            f"name the layer {layer!r} and its mask {layer + '_mask'!r} is applied (pruned weights count as removed)"
        )
    if key in tensors:
        return tensors[key]
    original, mask = tensors.get(key + "_orig"), tensors.get(key + "_mask")
    if original is None:
        return None
    if mask is None:
        raise ValueError(
            f"weights: {str(path)!r} holds {key + '_orig'!r} (a parameter torch.nn.utils.prune pruned) but no "
            f"{key + '_mask'!r}: without its mask the pruned weights cannot be told apart; save the state_dict "
            "of the pruned model whole, call torch.nn.utils.prune.remove before saving, or pass --mask FILE"
        )
    if mask.shape != original.shape:
        raise ValueError(
            f"weights: {key + '_mask'!r} of {str(path)!r} has shape {mask.shape}, not that of {key + '_orig'!r} "
            f"{original.shape}"
        )
    return np.where(mask != 0, original, 0.0)


def bias_key(key: str) -> str:
    """Where a layer's bias sits beside its weights: ``fc1.weight`` -> ``fc1.bias``, ``weight`` -> ``bias``.

    Examples
    --------
    >>> bias_key("first.weight"), bias_key("w")
    ('first.bias', 'w_bias')
    """
    return key[: -len("weight")] + "bias" if key.endswith("weight") else f"{key}_bias"


def load_weights(path, *, key: str | None = None, mask=None) -> tuple[np.ndarray, np.ndarray | None]:
    """First-layer weights (K, D), and the layer's hidden biases (K,) when the file holds them.

    Pruned weights come back as exact zeros, which the cavity method treats as removed.

    Parameters
    ----------
    path : str or Path
        ``.npz`` (array ``weight``, or ``key``), ``.npy``, or a torch checkpoint (``.pt``, ``.pth``,
        ``.ckpt``: a state_dict or a tensor; ``key`` names the tensor, default ``weight``).  The bias
        is the array or tensor ``bias_key(key)`` of a ``.npz`` or state_dict (``fc1.bias`` beside
        ``fc1.weight``); a ``.npy`` file or a lone tensor has none.  A layer pruned with
        ``torch.nn.utils.prune`` and saved as its state_dict (``fc1.weight_orig`` and ``fc1.weight_mask``)
        is read by its usual key, ``fc1.weight``, as the masked weights the model computes with.
    key : str, optional
    mask : str or Path, optional
        A mask saved by another tool, ``FILE`` or ``FILE:KEY`` (.npy, .npz or a torch checkpoint), of the
        weights' shape: zero (or False) marks a pruned weight.

    Returns
    -------
    weights : ndarray of float64, shape (K, D)
    bias : ndarray of float64, shape (K,), or None

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        A missing key, pickled objects, an array that is not 2-D and real, a bias of another length,
        or a NaN or infinite value.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.npz")
    >>> np.savez(path, weight=np.ones((3, 4)), bias=np.zeros(3))
    >>> weights, bias = load_weights(path)
    >>> weights.shape, bias.shape
    ((3, 4), (3,))
    """
    path = _existing(path, "weights")
    name = key or "weight"
    if path.suffix in TORCH_SUFFIXES:
        weights, bias = _from_torch_checkpoint(path, name, bias_key=bias_key(name))
    elif path.suffix == ".npz":
        weights = _from_numpy_file(path, name, "weights")
        with np.load(path, allow_pickle=False) as loaded:
            has_bias = bias_key(name) in loaded.files
        bias = _from_numpy_file(path, bias_key(name), "weights") if has_bias else None
    else:
        weights, bias = _from_numpy_file(path, key, "weights"), None
    if weights.ndim != 2 or weights.dtype.kind not in "fiu" or 0 in weights.shape:
        raise ValueError(
            f"weights in {str(path)!r} must be a real array of shape (K, D), got {weights.dtype} {weights.shape}"
        )
    weights = check_finite("weights", weights.astype(np.float64), source=str(path))
    if mask is not None:
        weights = np.where(_load_mask(mask, weights.shape), weights, 0.0)
    if bias is not None:
        if bias.shape != (weights.shape[0],) or bias.dtype.kind not in "fiu":
            raise ValueError(
                f"the bias beside the weights in {str(path)!r} must be real of shape ({weights.shape[0]},), "
                f"got {bias.dtype} {bias.shape}"
            )
        bias = check_finite("bias", bias.astype(np.float64), source=str(path))
    return weights, bias


def _load_mask(spec, shape: tuple[int, int]) -> np.ndarray:
    """The boolean mask of ``FILE`` or ``FILE:KEY``, checked against the weights' shape."""
    spec = str(spec)
    path, _, key = spec.rpartition(":") if ":" in spec and not Path(spec).is_file() else (spec, "", "")
    path = _existing(path, "mask")
    if path.suffix in TORCH_SUFFIXES:
        mask, _ = _from_torch_checkpoint(path, key or "weight_mask")
    else:
        mask = _from_numpy_file(path, key or None, "mask")
    if mask.shape != shape or mask.dtype.kind not in "biuf":
        raise ValueError(
            f"mask {spec!r} must be a numeric or boolean array of the weights' shape {shape}, got "
            f"{mask.dtype} {mask.shape}"
        )
    return mask != 0


def load_samples(path, n_inputs: int, *, key: str | None = None, against: str = "the weights") -> np.ndarray:
    """Inputs (P, D) from a .npy file, or a .npz holding one array (or ``key``).

    Parameters
    ----------
    path : str or Path
    n_inputs : int
        D, which the file's second axis must match.
    key : str, optional
        The array of a .npz that holds several.
    against : str
        What the samples must meet, for the message of a mismatch (e.g. ``"weights in 'W.npy' of shape (16, 50)"``).

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
    loaded = _from_numpy_file(_existing(path, "samples"), key, "samples")
    if loaded.ndim != 2 or loaded.dtype.kind not in "fiu" or 0 in loaded.shape:
        raise ValueError(
            f"samples in {str(path)!r} must be a numeric array of shape (P, D), got {loaded.dtype} {loaded.shape}"
        )
    if loaded.shape[1] != n_inputs:
        raise ValueError(
            f"samples in {str(path)!r} of shape {loaded.shape} do not match {against}: D = {loaded.shape[1]} "
            f"inputs against {n_inputs}"
        )
    return check_finite("samples", loaded.astype(np.float64), source=str(path))
