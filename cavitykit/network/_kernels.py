"""Numba kernel of the ensemble trainer (private): online SGD with batch 1, a block of steps per call.

Batch-1 SGD on a CPU is bound by per-call overhead, not arithmetic: one Python call per step costs
more than the step's 2 K D multiply-adds.  This kernel runs a whole block of steps for every member
in one call (members in parallel), so the overhead is paid once per block.  The activations' scalar
versions beside it are the twins of ``cavitykit.network.ensemble.ACTIVATIONS``.  Its naive twin is in
``tests/network/test_kernels.py``.
"""

import math

import numpy as np
from numba import njit, prange

# Reassociation lets the dot products vectorize; no nnan/ninf (they would break isnan).
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}
ERF, RELU = 0, 1
MSE, CROSS_ENTROPY = 0, 1
_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)


@njit(fastmath=FASTMATH, inline="always")
def _activation(z, kind):
    if kind == ERF:
        return math.erf(z * _SQRT_HALF)
    return max(z, 0.0)


@njit(fastmath=FASTMATH, inline="always")
def _slope(z, kind):
    if kind == ERF:  # d/dz erf(z / sqrt 2) = sqrt(2 / pi) exp(-z^2 / 2)
        return _SQRT_TWO_OVER_PI * math.exp(-0.5 * z * z)
    return 1.0 if z > 0.0 else 0.0


@njit(parallel=True, fastmath=FASTMATH, cache=True)
def sgd_online_block(weight, mask, bias, readout, readout_mask, x, y, rates, output_scale, activation, loss, losses):
    """Run ``x.shape[1]`` batch-1 SGD steps of every member in place.

    The network of member e is f(x) = c_K sum_k r_k sigma(lambda_k) with
    lambda_k = sum_i w_ki x_i / sqrt(D) + b_k and r = readout * readout_mask.

    Parameters
    ----------
    weight : ndarray of float32, shape (E, K, D)
        Updated in place; entries where ``mask`` is 0 must be 0 and stay 0.
    mask : ndarray of float32, shape (E, K, D)
        1 where the weight is kept, 0 where pruned.
    bias : ndarray of float32, shape (E, K)
        Updated in place; shape (E, 0) for a network without biases.
    readout : ndarray of float32, shape (E, K)
        Updated in place.
    readout_mask : ndarray of float32, shape (E, K)
    x : ndarray of float32, shape (E, S, D)
        Member e's sample of step s.
    y : ndarray of float32, shape (E, S)
        Labels in {0, 1}.
    rates : tuple of three floats
        Learning rates of the weights, the biases and the readout (0 keeps the readout fixed).
    output_scale : float
        c_K.
    activation : int
        ``ERF`` (erf(z / sqrt 2)) or ``RELU``.
    loss : int
        ``MSE`` (0.5 (f - (2y - 1))^2) or ``CROSS_ENTROPY`` (logistic loss on f).
    losses : ndarray of float32, shape (E, S)
        Receives each step's loss before its update.
    """
    n_members, n_units, n_inputs = weight.shape
    n_steps = x.shape[1]
    has_bias = bias.shape[1] > 0
    input_scale = 1.0 / math.sqrt(n_inputs)
    weight_rate, bias_rate, readout_rate = rates
    for e in prange(n_members):
        # field[k]: the pre-activation of unit k on this step's sample.  The next step's is
        # accumulated while this step updates the weights: one pass over them per step.
        field = np.empty(n_units)
        hidden = np.empty(n_units)  # sigma(field): computed once a step, read by the output and the update
        for k in range(n_units):
            field[k] = _dot(weight[e, k], x[e, 0]) * input_scale + (bias[e, k] if has_bias else 0.0)
        for s in range(n_steps):
            sample = x[e, s]
            following = x[e, s + 1] if s + 1 < n_steps else x[e, s]
            output = 0.0
            for k in range(n_units):
                hidden[k] = _activation(field[k], activation)
                output += readout[e, k] * readout_mask[e, k] * hidden[k]
            output *= output_scale
            if loss == MSE:
                residual = output - (2.0 * y[e, s] - 1.0)
                losses[e, s] = 0.5 * residual * residual
            else:
                residual = 1.0 / (1.0 + math.exp(-output)) - y[e, s]
                losses[e, s] = max(output, 0.0) - output * y[e, s] + math.log1p(math.exp(-abs(output)))
            # Each parameter's step is its rate times dloss/df times c_K times the rest of its gradient.
            weight_step = weight_rate * residual * output_scale
            bias_step = bias_rate * residual * output_scale
            readout_step = readout_rate * residual * output_scale
            for k in range(n_units):
                z = field[k]
                kept = readout_mask[e, k]
                derivative = _slope(z, activation)
                weight_grad = weight_step * readout[e, k] * kept * derivative
                bias_grad = bias_step * readout[e, k] * kept * derivative
                readout[e, k] -= readout_step * hidden[k] * kept
                if has_bias:
                    bias[e, k] -= bias_grad
                scale = np.float32(weight_grad * input_scale)
                row = weight[e, k]
                keep = mask[e, k]
                total = np.float32(0.0)
                for i in range(n_inputs):
                    updated = row[i] - scale * sample[i] * keep[i]
                    row[i] = updated
                    total += updated * following[i]
                field[k] = total * input_scale + (bias[e, k] if has_bias else 0.0)


@njit(fastmath=FASTMATH, inline="always")
def _dot(row, sample):
    total = np.float32(0.0)  # float32 products and sums vectorize twice as wide
    for i in range(row.size):
        total += row[i] * sample[i]
    return total
