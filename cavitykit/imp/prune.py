"""Pruning rules: which of the remaining weights a round removes, and the registry of strategies.

Kept counts follow round(N (1 - p)^r) exactly (one rounding per round, not
accumulated), so after r rounds each layer keeps (1 - p)^r of its weights to within one.
A strategy (``STRATEGIES``) says how many prunings each round has had and which weights go; the
runner asks it by name, so a new strategy is one small class here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cavitykit import metrics


def kept_count(n_weights: int, prune_fraction: float, n_rounds: int) -> int:
    """Weights a layer keeps after ``n_rounds`` prunings: round(N (1 - p)^r), at least 1.

    Examples
    --------
    >>> kept_count(1000, 0.2, 3)  # round(1000 * 0.8^3)
    512
    """
    return max(1, round(n_weights * (1.0 - prune_fraction) ** n_rounds))


def _smallest(scores: np.ndarray, candidates: np.ndarray, n_remove: int) -> np.ndarray:
    """Boolean array marking the ``n_remove`` candidates of smallest score (ties by position)."""
    removed = np.zeros(scores.shape, dtype=bool)
    if n_remove <= 0:
        return removed
    index = np.flatnonzero(candidates)
    order = np.argsort(scores.ravel()[index], kind="stable")[:n_remove]
    removed.ravel()[index[order]] = True
    return removed


def magnitude_prune(layers, masks, n_remove, *, scope="layer"):
    """Remove the smallest-magnitude remaining weights.

    Parameters
    ----------
    layers : list of ndarray
        Weights of each prunable layer.
    masks : list of ndarray of bool
        Current masks (True = kept), same shapes.
    n_remove : list of int
        Weights to remove per layer (scope 'layer'); with scope 'global' their total
        is removed under one threshold across layers.

    Returns
    -------
    list of ndarray of bool: the weights removed in each layer.

    Examples
    --------
    >>> import numpy as np
    >>> w = [np.array([[0.1, -2.0, 0.5, 3.0]])]
    >>> magnitude_prune(w, [np.ones((1, 4), bool)], [2])[0]  # the two smallest |w|
    array([[ True, False,  True, False]])
    """
    if scope == "layer":
        return [_smallest(np.abs(w), m, n) for w, m, n in zip(layers, masks, n_remove, strict=True)]
    scores = np.concatenate([np.abs(w).ravel() for w in layers])
    candidates = np.concatenate([m.ravel() for m in masks])
    removed = _smallest(scores, candidates, sum(n_remove))
    return _split_like(removed, layers)


def random_prune(masks, n_remove, rng: np.random.Generator):
    """Remove ``n_remove[l]`` remaining weights of layer l chosen uniformly at random.

    Examples
    --------
    >>> import numpy as np
    >>> removed = random_prune([np.ones((2, 5), bool)], [3], np.random.default_rng(0))
    >>> int(removed[0].sum())
    3
    """
    return [_smallest(rng.random(m.shape), m, n) for m, n in zip(masks, n_remove, strict=True)]


def _split_like(flat: np.ndarray, layers):
    out, start = [], 0
    for layer in layers:
        out.append(flat[start : start + layer.size].reshape(layer.shape))
        start += layer.size
    return out


def cavity_prune(raises: np.ndarray, mask: np.ndarray, n_remove: int) -> np.ndarray:
    """Remove the ``n_remove`` remaining weights whose removal raises |excess kurtosis| most.

    Parameters
    ----------
    raises : ndarray of shape (K, D)
        Each weight's Delta|excess kurtosis| of its unit on removal (NaN where pruned).
    mask : ndarray of bool, shape (K, D)
    n_remove : int

    Returns
    -------
    ndarray of bool, shape (K, D): the weights removed.

    Examples
    --------
    >>> import numpy as np
    >>> raises = np.array([[0.3, -0.1, 0.5, np.nan]])
    >>> cavity_prune(raises, np.array([[True, True, True, False]]), 2)
    array([[ True, False,  True, False]])
    """
    return _smallest(-np.nan_to_num(raises, nan=-np.inf), mask, n_remove)


@dataclass(frozen=True)
class Strategy:
    """Iterative magnitude pruning: after round r the next round has had r + 1 prunings, each removing
    the smallest-magnitude remaining weights (per layer, or under one threshold with scope 'global')."""

    name: str = "magnitude"

    def prunings(self, rounds: int, round_index: int) -> int:
        """How many prunings the round after ``round_index`` has had, of a run of ``rounds`` rounds."""
        return round_index + 1

    def remove(self, weights, masks, n_remove, *, scope: str, seed: int, statistics: dict | None):
        """The weights removed in each prunable layer (boolean arrays shaped as ``masks``).

        Parameters
        ----------
        weights, masks : list of ndarray
            Each prunable layer's trained weights and current mask (``Network.layers``).
        n_remove : list of int
            Weights to remove per layer.
        scope : {'layer', 'global'}
        seed : int
            The round's pruning seed (random strategies).
        statistics : dict, optional
            The round's statistics (``round_statistics``), for strategies that rank by them.
        """
        return magnitude_prune(weights, masks, n_remove, scope=scope)


@dataclass(frozen=True)
class OneShot(Strategy):
    """Magnitude pruning of the dense network straight to the last round's sparsity, then one retraining."""

    name: str = "one_shot"

    def prunings(self, rounds: int, round_index: int) -> int:
        return rounds - 1 if round_index == 0 else round_index + 1


@dataclass(frozen=True)
class Dense(Strategy):
    """No pruning: the run trains once; what one IMP round would remove is recorded all the same."""

    name: str = "dense"

    def prunings(self, rounds: int, round_index: int) -> int:
        return 1


@dataclass(frozen=True)
class Random(Strategy):
    """The same per-round sparsity as IMP, the weights chosen uniformly at random (seeded per round)."""

    name: str = "random"

    def remove(self, weights, masks, n_remove, *, scope: str, seed: int, statistics: dict | None):
        return random_prune(masks, n_remove, np.random.default_rng(seed))


@dataclass(frozen=True)
class Cavity(Strategy):
    """The same per-round sparsity as IMP, removing the first-layer weights whose exact removal most raises
    their unit's |excess kurtosis| (mean over classes): the causal test of claim 3."""

    name: str = "cavity"

    def remove(self, weights, masks, n_remove, *, scope: str, seed: int, statistics: dict | None):
        raises = metrics.abs_kurtosis_change(
            statistics["preact_excess_kurtosis"][..., None], statistics["cavity_exact"]
        )  # (label, neuron, input)
        return [cavity_prune(raises.mean(axis=0), masks[0], n_remove[0])]


# Every strategy by its name in ``imp.strategy`` (the names ``cavitykit.config.STRATEGIES`` accepts).
STRATEGIES = {strategy.name: strategy for strategy in (Strategy(), Random(), OneShot(), Dense(), Cavity())}
