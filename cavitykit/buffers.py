"""Buffers kept between calls for large temporaries.

A fresh array is a page fault per 4 KiB page the first time it is written; for the large float64
copies of held-out images and their pre-activations, made network after network, those faults can cost
more than the products written into them (``docs/performance.md`` has the measurements).
"""

from __future__ import annotations

import math
import mmap

import numpy as np


class Scratch:
    """Named float64 buffers, each reused by the next request of its name (and grown when too small).

    Examples
    --------
    >>> scratch = Scratch()
    >>> a = scratch.array("x", (2, 3))
    >>> b = scratch.array("x", (1, 3))  # the same memory, reused
    >>> np.shares_memory(a, b), b.shape
    (True, (1, 3))
    """

    def __init__(self):
        self.storage: dict[str, np.ndarray] = {}

    def array(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialized float64 array in the memory of the last request of that ``name``.

        Parameters
        ----------
        name : str
            Which buffer; a request overwrites what the previous one of that name held.
        shape : tuple of int

        Returns
        -------
        ndarray of shape ``shape``, float64, C-contiguous.
        """
        size = math.prod(shape)
        if name not in self.storage or self.storage[name].size < size:
            # Anonymous memory, not np.empty: numpy advises huge pages for large arrays, whose first
            # writes cost far more system time in a long run (docs/performance.md).
            self.storage[name] = np.frombuffer(mmap.mmap(-1, max(size, 1) * 8), dtype=np.float64)
        return self.storage[name][:size].reshape(shape)

    def copy(self, name: str, array: np.ndarray) -> np.ndarray:
        """A float64 copy of ``array`` in the buffer ``name`` (as ``array(name, ...)``, then filled).

        Examples
        --------
        >>> scratch = Scratch()
        >>> scratch.copy("x", np.array([[1, 2]], dtype=np.float32))
        array([[1., 2.]])
        """
        out = self.array(name, array.shape)
        np.copyto(out, array)
        return out
