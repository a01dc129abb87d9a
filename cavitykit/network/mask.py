"""Which weights a network keeps: one ``Mask`` per network (or stack of members), layer by layer.

The first layer's mask and the readout's are held together, the readout's all true when the readout is
not prunable, so a network never has a missing readout mask.  The readout's mask has the readout's
shape: (K,) for the one output of a two-class network, (C, K) for a readout of C outputs.  Pruning
strategies see the prunable layers as a list (``layers``) and hand back what they remove in the same
form (``without``, ``split``); the ensemble takes its float32 torch copies from here (``keep``), and
``cavitykit.io`` writes the two arrays as the round file's ``mask`` and ``readout_mask`` flags.
Importing this module loads no torch.
"""

from __future__ import annotations

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
        The readout's mask, of one output or of C; by default all true, of one output.
    prunes_readout : bool
        Whether the readout is a prunable layer (``network.prune_readout``).

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

    def __post_init__(self):
        weight = np.asarray(self.weight)
        readout = np.ones(weight.shape[:-1], dtype=bool) if self.readout is None else np.asarray(self.readout)
        if weight.dtype != bool or readout.dtype != bool:
            raise ValueError(f"a mask must be boolean, got weight {weight.dtype} and readout {readout.dtype}")
        one_output = readout.shape == weight.shape[:-1]
        outputs = readout.ndim == weight.ndim and readout.shape[:-2] + readout.shape[-1:] == weight.shape[:-1]
        if weight.ndim < 2 or not (one_output or outputs):
            raise ValueError(
                f"a mask's weight must have shape (..., K, D) and its readout (..., K) or (..., C, K), "
                f"got {weight.shape} and {readout.shape}"
            )
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "readout", readout)

    @classmethod
    def dense(cls, width: int, n_inputs: int, *, n_outputs: int = 1, prunes_readout: bool = False) -> Mask:
        """Every weight of a network of ``width`` units on ``n_inputs`` inputs and ``n_outputs`` outputs kept
        (a readout of shape (K,) for one output, (C, K) for more)."""
        readout = np.ones((width,) if n_outputs == 1 else (n_outputs, width), dtype=bool)
        return cls(np.ones((width, n_inputs), dtype=bool), readout, prunes_readout=prunes_readout)

    @classmethod
    def stack(cls, masks: list[Mask]) -> Mask:
        """The masks of several networks along a new leading (member) axis."""
        return cls(
            np.stack([m.weight for m in masks]),
            np.stack([m.readout for m in masks]),
            prunes_readout=masks[0].prunes_readout,
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
        """The prunable layers' masks: the first layer (K, D), then the readout as (C, K), C = 1 for one
        output, if prunable."""
        return [self.weight, self.readout.reshape(-1, self.weight.shape[-2])] if self.prunes_readout else [self.weight]

    def split(self, per_layer: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """The first-layer and readout parts of arrays given per prunable layer (as ``layers``); the
        readout part None when the readout is not prunable."""
        return per_layer[0], per_layer[1].reshape(self.readout.shape) if self.prunes_readout else None

    def without(self, removed: list[np.ndarray]) -> Mask:
        """This mask less the weights ``removed`` (boolean arrays per prunable layer, as ``layers``)."""
        weight, readout = self.split(removed)
        return Mask(
            self.weight & ~weight,
            self.readout if readout is None else self.readout & ~readout,
            prunes_readout=self.prunes_readout,
        )

    def keep(self, device) -> tuple:
        """The masks as float32 torch tensors on ``device``, which multiply the parameters after every
        step: the first layer's (..., K, D), and the readout's (..., K) or (..., C, K), None when it is not
        prunable."""
        import torch

        weight = torch.tensor(self.weight, dtype=torch.float32, device=device)
        readout = torch.tensor(self.readout, dtype=torch.float32, device=device) if self.prunes_readout else None
        return weight, readout
