"""Which weights a network keeps: one ``Mask`` per network (or stack of members), layer by layer.

The first layer's mask, those of any deeper hidden layers and the readout's are held together, the
readout's all true when the readout is not prunable, so a network never has a missing readout mask.  The
readout's mask has the readout's shape: (K,) for the one output of a two-class network, (C, K) for a
readout of C outputs, K the last hidden layer's width.  Pruning
strategies see the prunable layers as a list (``layers``) and hand back what they remove in the same
form (``without``, ``split``); the ensemble takes its float32 torch copies from here (``keep``), and
``cavitykit.io`` writes the two arrays as the round file's ``mask`` and ``readout_mask`` flags.
Importing this module loads no torch.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Mask:
    """True where a weight is kept.

    Parameters
    ----------
    weight : ndarray of bool, shape (..., K, D)
        The first layer's mask; leading dims (e.g. ensemble members) allowed.
    readout : ndarray of bool, shape (..., K) or (..., C, K), optional
        The readout's mask, of one output or of C; by default all true, of one output.  K is the last
        hidden layer's width.
    prunes_readout : bool
        Whether the readout is a prunable layer (``network.prune_readout``).
    deep : tuple of ndarray of bool, shapes (..., K_l, K_(l-1))
        The masks of hidden layers 2..L of a deeper network (always prunable); () for one hidden layer.

    Examples
    --------
    >>> mask = Mask.dense(2, 3, prunes_readout=True)
    >>> [layer.shape for layer in mask.layers()]  # the prunable layers, as strategies see them
    [(2, 3), (1, 2)]
    >>> removed = [np.array([[True, False, False], [False, False, False]]), np.array([[False, True]])]
    >>> smaller = mask.without(removed)
    >>> int(smaller.weight.sum()), smaller.readout.tolist(), round(smaller.sparsity, 3)
    (5, [True, False], 0.167)
    """

    weight: np.ndarray
    readout: np.ndarray | None = None
    prunes_readout: bool = False
    deep: tuple[np.ndarray, ...] = ()

    def __post_init__(self):
        weight = np.asarray(self.weight)
        deep = tuple(np.asarray(layer) for layer in self.deep)
        below = weight
        for layer in deep:
            if layer.dtype != bool or layer.shape[:-2] != weight.shape[:-2] or layer.shape[-1] != below.shape[-2]:
                raise ValueError(
                    f"a deeper layer's mask must be boolean of shape (..., K_l, K_(l-1)) on the layer below, got "
                    f"{layer.dtype} {layer.shape} on {below.shape}"
                )
            below = layer
        readout = np.ones(below.shape[:-1], dtype=bool) if self.readout is None else np.asarray(self.readout)
        if weight.dtype != bool or readout.dtype != bool:
            raise ValueError(f"a mask must be boolean, got weight {weight.dtype} and readout {readout.dtype}")
        one_output = readout.shape == below.shape[:-1]
        outputs = readout.ndim == below.ndim and readout.shape[:-2] + readout.shape[-1:] == below.shape[:-1]
        if weight.ndim < 2 or not (one_output or outputs):
            raise ValueError(
                f"a mask's weight must have shape (..., K, D) and its readout (..., K) or (..., C, K), "
                f"got {weight.shape} and {readout.shape}"
            )
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "readout", readout)
        object.__setattr__(self, "deep", deep)

    @classmethod
    def dense(cls, width, n_inputs: int, *, n_outputs: int = 1, prunes_readout: bool = False) -> Mask:
        """Every weight of a network of ``width`` units (or a tuple of hidden widths, first to last) on
        ``n_inputs`` inputs and ``n_outputs`` outputs kept (a readout of shape (K,) for one output, (C, K)
        for more)."""
        widths = (width,) if isinstance(width, int | np.integer) else tuple(width)
        last = widths[-1]
        readout = np.ones((last,) if n_outputs == 1 else (n_outputs, last), dtype=bool)
        deep = tuple(np.ones((out, below), dtype=bool) for below, out in itertools.pairwise(widths))
        return cls(np.ones((widths[0], n_inputs), dtype=bool), readout, prunes_readout=prunes_readout, deep=deep)

    @classmethod
    def stack(cls, masks: list[Mask]) -> Mask:
        """The masks of several networks along a new leading (member) axis."""
        return cls(
            np.stack([m.weight for m in masks]),
            np.stack([m.readout for m in masks]),
            prunes_readout=masks[0].prunes_readout,
            deep=tuple(np.stack(layers) for layers in zip(*(m.deep for m in masks), strict=True)),
        )

    @property
    def n_outputs(self) -> int:
        """The number of outputs the readout feeds: 1, or C for a readout of shape (..., C, K)."""
        return 1 if self.readout.ndim < self.weight.ndim else self.readout.shape[-2]

    @property
    def sparsity(self) -> float:
        """The fraction of first-layer weights pruned."""
        return 1.0 - float(np.mean(self.weight))

    def layers(self) -> list[np.ndarray]:
        """The prunable layers' masks: the first layer (K, D), any deeper hidden layers (K_l, K_(l-1)), then
        the readout as (C, K), C = 1 for one output, if prunable."""
        readout = [self.readout.reshape(-1, self.readout.shape[-1])] if self.prunes_readout else []
        return [self.weight, *self.deep, *readout]

    def split(self, per_layer: list[np.ndarray]) -> tuple[np.ndarray, tuple[np.ndarray, ...], np.ndarray | None]:
        """The first-layer, deeper-layer and readout parts of arrays given per prunable layer (as
        ``layers``); the readout part None when the readout is not prunable."""
        deep = tuple(per_layer[1 : 1 + len(self.deep)])
        readout = per_layer[1 + len(self.deep)].reshape(self.readout.shape) if self.prunes_readout else None
        return per_layer[0], deep, readout

    def without(self, removed: list[np.ndarray]) -> Mask:
        """This mask less the weights ``removed`` (boolean arrays per prunable layer, as ``layers``)."""
        weight, deep, readout = self.split(removed)
        return Mask(
            self.weight & ~weight,
            self.readout if readout is None else self.readout & ~readout,
            prunes_readout=self.prunes_readout,
            deep=tuple(kept & ~gone for kept, gone in zip(self.deep, deep, strict=True)),
        )

    def keep(self, device) -> tuple:
        """The masks as float32 torch tensors on ``device``, which multiply the parameters after every
        step: the first layer's (..., K, D), the readout's (..., K) or (..., C, K) (None when it is not
        prunable) and the deeper layers' (a tuple, empty for one hidden layer)."""
        import torch

        def tensor(flags):
            return torch.tensor(flags, dtype=torch.float32, device=device)

        readout = tensor(self.readout) if self.prunes_readout else None
        return tensor(self.weight), readout, tuple(tensor(layer) for layer in self.deep)
