"""The network's formulas: pre-activation and readout against loops, and the in-place variant."""

import math

import numpy as np
import pytest
import torch

from cavitykit.network.formulas import preactivation, readout_sum


def test_preactivation_is_the_scaled_dot_product_plus_bias(rng):
    x, w, b = rng.standard_normal((5, 7)), rng.standard_normal((3, 7)), rng.standard_normal(3)
    loops = [[sum(w[k, i] * x[p, i] for i in range(7)) / math.sqrt(7) + b[k] for k in range(3)] for p in range(5)]
    np.testing.assert_allclose(preactivation(x, w, b), loops, rtol=1e-12)


def test_readout_sum_is_the_scaled_readout(rng):
    hidden, readout = rng.standard_normal((4, 6)), rng.standard_normal(6)
    loops = [sum(readout[k] * hidden[p, k] for k in range(6)) / math.sqrt(6) for p in range(4)]
    np.testing.assert_allclose(readout_sum(hidden, readout, 1 / math.sqrt(6)), loops, rtol=1e-12)


@pytest.mark.parametrize("library", ["numpy", "torch"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_out_gives_the_same_bits_in_the_buffer(rng, library, with_bias):
    """Members (E, P, D) x (E, K, D) with biases (E, 1, K): written in place, equal bit for bit."""
    x, w, b = rng.standard_normal((2, 50, 9)), rng.standard_normal((2, 4, 9)), rng.standard_normal((2, 1, 4))
    if library == "torch":
        x, w, b = torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b)
    bias = b if with_bias else None
    buffer = (
        np.full((2, 50, 4), np.nan) if library == "numpy" else torch.full((2, 50, 4), math.nan, dtype=torch.float64)
    )
    result = preactivation(x, w, bias, out=buffer)
    assert result is buffer
    expected = preactivation(x, w, bias)
    assert np.array_equal(np.asarray(buffer), np.asarray(expected))
