"""Argument checks shared across the package: each error names the argument and its value."""

from __future__ import annotations

import numbers

import numpy as np

NAN_POLICIES = ("propagate", "raise", "omit")


def check_int(name: str, value, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """Return ``value`` as an int, or raise naming ``name`` and the allowed range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        if maximum is None:
            bounds = f"at least {minimum}"
        elif minimum is None:
            bounds = f"at most {maximum}"
        else:
            bounds = f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be {bounds}, got {value}")
    return value


def check_hidden_layer(name: str, value, widths) -> int:
    """Return ``value`` as an int if it numbers a hidden layer (1..L) of a network of hidden ``widths``, or
    raise naming ``name``, the value and the network's layers.

    Examples
    --------
    >>> check_hidden_layer("layer", 2, (300, 100))
    2
    >>> check_hidden_layer("layer", 2, (8,))
    Traceback (most recent call last):
    ...
    ValueError: layer must be a hidden layer of the run, 1..1 (one hidden layer); got 2
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= len(widths):
        held = f"network.hidden = {list(widths)}" if len(widths) > 1 else "one hidden layer"
        raise ValueError(f"{name} must be a hidden layer of the run, 1..{len(widths)} ({held}); got {value!r}")
    return int(value)


def check_real(name: str, value, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Return ``value`` as a finite float, or raise naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def as_real_array(name: str, value) -> np.ndarray:
    """Numeric array in float32 or float64 (integers and booleans become float64)."""
    array = np.asarray(value)
    if array.dtype.kind in "iub":
        return array.astype(np.float64)
    if array.dtype.kind != "f":
        raise TypeError(f"{name} must be a real numeric array, got dtype {array.dtype}")
    if array.dtype.itemsize < 4:
        return array.astype(np.float32)
    if array.dtype.itemsize > 8:
        return array.astype(np.float64)
    return array


def check_finite(name: str, array: np.ndarray, *, source: str | None = None) -> np.ndarray:
    """``array`` if it holds no NaN or infinity; else a ValueError naming it, its source and a bad entry."""
    bad = ~np.isfinite(array)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        origin = f" (from {source!r})" if source else ""
        raise ValueError(
            f"{name}{origin} holds {int(bad.sum())} non-finite value(s), e.g. {float(array[where])} at index {where}"
        )
    return array


def check_layer_inputs(weights: np.ndarray, samples: np.ndarray) -> None:
    """Weights (K, D) and samples (P, D) that can meet: both 2-D and non-empty, the same D, every value finite."""
    for name, array, shape in (("weights", weights, "(K, D)"), ("samples", samples, "(P, D)")):
        if array.ndim != 2 or 0 in array.shape:
            raise ValueError(f"{name} must be a non-empty array of shape {shape}, got shape {array.shape}")
    if weights.shape[1] != samples.shape[1]:
        raise ValueError(
            f"weights of shape {weights.shape} and samples of shape {samples.shape} "
            f"do not match: D = {weights.shape[1]} inputs against {samples.shape[1]}"
        )
    check_finite("weights", weights)
    check_finite("samples", samples)


def normalize_axis(name: str, axis, ndim: int) -> int:
    axis = check_int(name, axis)
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for an array of {ndim} dimension(s)")
    return axis % ndim


def check_generator(name: str, rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{name} must be a numpy.random.Generator (np.random.default_rng(seed)), got {type(rng).__name__}"
        )
    return rng
