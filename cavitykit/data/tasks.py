"""Two-class discrimination tasks built from two data models, and the models behind each data variant."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from cavitykit._validation import check_generator, check_int
from cavitykit.data.ising import Ising, ising_temperature
from cavitykit.data.nlgp import NLGP, GaussianClone
from cavitykit.variants import source_model


def _check_models(model0, model1) -> None:
    if model0.D != model1.D:
        raise ValueError(f"model0 and model1 must have the same input dimension, got D={model0.D} and D={model1.D}")


def two_class(model0, model1, P, rng) -> tuple[np.ndarray, np.ndarray]:
    """A balanced, shuffled two-class data set.

    Parameters
    ----------
    model0, model1 : data models with ``sample(P, rng)`` and the same ``D``
        Class 0 and class 1 (e.g. NLGP with xi_0 and xi_1, or their Gaussian clones).
    P : int
        Number of samples (>= 2); class 0 gets the extra one when P is odd.
    rng : numpy.random.Generator

    Returns
    -------
    X : ndarray of shape (P, D)
    y : ndarray of shape (P,), int64 labels in {0, 1}

    Examples
    --------
    >>> import numpy as np
    >>> from cavitykit.data import NLGP
    >>> X, y = two_class(NLGP(20, 1.0, 3.0), NLGP(20, 5.0, 3.0), 100, np.random.default_rng(0))
    >>> X.shape, int(y.sum())  # balanced labels 0 and 1
    ((100, 20), 50)
    """
    _check_models(model0, model1)
    P = check_int("P", P, minimum=2)
    rng = check_generator("rng", rng)
    n1 = P // 2
    X = np.concatenate([model0.sample(P - n1, rng), model1.sample(n1, rng)])
    y = np.concatenate([np.zeros(P - n1, dtype=np.int64), np.ones(n1, dtype=np.int64)])
    order = rng.permutation(P)
    return X[order], y[order]


def two_class_batches(model0, model1, batch_size, rng) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Endless stream of fresh balanced batches for online SGD (batch_size=1: one sample a step).

    Each batch's labels are drawn as fair coin flips, so the stream is balanced
    in expectation at any batch size, and every sample is new.

    Yields
    ------
    X : ndarray of shape (batch_size, D)
    y : ndarray of shape (batch_size,), int64

    Examples
    --------
    >>> import numpy as np
    >>> from cavitykit.data import NLGP
    >>> batches = two_class_batches(NLGP(20, 1.0, 3.0), NLGP(20, 5.0, 3.0), 8, np.random.default_rng(0))
    >>> X, y = next(batches)
    >>> X.shape, y.shape
    ((8, 20), (8,))
    """
    _check_models(model0, model1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    rng = check_generator("rng", rng)
    while True:
        y = rng.integers(0, 2, size=batch_size)
        X = np.empty((batch_size, model0.D), dtype=np.result_type(model0.dtype, model1.dtype))
        for label, model in enumerate((model0, model1)):
            count = int(np.sum(y == label))
            if count:
                X[y == label] = model.sample(count, rng)
        yield X, y


def synthetic_models(variant: str, L: int, dim: int, xi, gain: float) -> tuple:
    """The data models of class 0 and class 1 of a synthetic variant, in float32.

    Parameters
    ----------
    variant : str
        One of ``cavitykit.variants.VARIANTS`` but the image variants.
    L, dim : int
        A ring (dim 1) or torus (dim 2) of L sites per side.
    xi : two floats
        Class c has correlation length ``xi[c]``: NLGP variants with gain ``gain``; Ising variants (ring
        only) at the temperature whose infinite-chain correlation length is ``xi[c]``.
    gain : float

    Returns
    -------
    tuple of two data models
        Each with ``sample(P, rng)`` -> array of shape (P, L**dim).

    Examples
    --------
    >>> [type(m).__name__ for m in synthetic_models("gaussian_clone", 10, 1, (1.0, 3.0), 3.0)]
    ['GaussianClone', 'GaussianClone']
    """
    source = source_model(variant)
    if source == "nlgp":
        models = [NLGP(L, length, gain, dim=dim, dtype="float32") for length in xi]
    else:
        # Single-spin dynamics relax in about xi^2 sweeps: burn in and thin in proportion.
        models = [
            Ising(
                L,
                ising_temperature(length),
                burn_in=max(1000, math.ceil(10 * length**2)),
                thin=max(10, math.ceil(length**2 / 2)),
                dtype="float32",
            )
            for length in xi
        ]
    return tuple(models) if variant == source else tuple(GaussianClone(model) for model in models)
