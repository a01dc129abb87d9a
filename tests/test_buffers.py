"""Named buffers: reused by name, grown when too small, and filled by copy."""

import numpy as np

from cavitykit.buffers import Scratch


def test_a_copy_is_float64_in_the_named_buffer_and_reused():
    scratch = Scratch()
    source = np.arange(6, dtype=np.float32).reshape(2, 3)
    first = scratch.copy("inputs", source)
    assert first.dtype == np.float64 and first.flags.c_contiguous
    np.testing.assert_array_equal(first, source)
    second = scratch.copy("inputs", source[:1] + 10)
    assert np.shares_memory(first, second)  # the same memory, reused
    np.testing.assert_array_equal(second, [[10.0, 11.0, 12.0]])
    grown = scratch.copy("inputs", np.ones((4, 3)))
    assert grown.shape == (4, 3) and not np.shares_memory(first, grown)  # too small: a new buffer
