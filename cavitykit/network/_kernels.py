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

    The network of member e has outputs f_c(x) = c_K sum_k r_ck sigma(lambda_k), c < C, with
    lambda_k = sum_i w_ki x_i / sqrt(D) + b_k and r = readout * readout_mask: one output (C = 1) for two
    classes, C for C > 2 classes.

    Parameters
    ----------
    weight : ndarray of float32, shape (E, K, D)
        Updated in place; entries where ``mask`` is 0 must be 0 and stay 0.
    mask : ndarray of float32, shape (E, K, D)
        1 where the weight is kept, 0 where pruned.
    bias : ndarray of float32, shape (E, K)
        Updated in place; shape (E, 0) for a network without biases.
    readout : ndarray of float32, shape (E, C, K)
        Updated in place.
    readout_mask : ndarray of float32, shape (E, C, K)
    x : ndarray of float32, shape (E, S, D)
        Member e's sample of step s.
    y : ndarray of float32, shape (E, S)
        Classes: in {0, 1} for one output, in 0..C-1 for C.
    rates : tuple of three floats
        Learning rates of the weights, the biases and the readout (0 keeps the readout fixed).
    output_scale : float
        c_K.
    activation : int
        ``ERF`` (erf(z / sqrt 2)) or ``RELU``.
    loss : int
        ``MSE`` or ``CROSS_ENTROPY`` (``_loss_and_residuals``).
    losses : ndarray of float32, shape (E, S)
        Receives each step's loss before its update.
    """
    n_members, n_units, n_inputs = weight.shape
    n_outputs = readout.shape[1]
    n_steps = x.shape[1]
    has_bias = bias.shape[1] > 0
    input_scale = 1.0 / math.sqrt(n_inputs)
    weight_rate, bias_rate, readout_rate = rates
    for e in prange(n_members):
        # field[k]: the pre-activation of unit k on this step's sample.  The next step's is
        # accumulated while this step updates the weights: one pass over them per step.
        field = np.empty(n_units)
        hidden = np.empty(n_units)  # sigma(field): computed once a step, read by the outputs and the update
        output = np.empty(n_outputs)
        residual = np.empty(n_outputs)  # dloss/df_c
        weight_step, bias_step, readout_step = np.empty(n_outputs), np.empty(n_outputs), np.empty(n_outputs)
        for k in range(n_units):
            field[k] = _dot(weight[e, k], x[e, 0]) * input_scale + (bias[e, k] if has_bias else 0.0)
        for s in range(n_steps):
            sample = x[e, s]
            following = x[e, s + 1] if s + 1 < n_steps else x[e, s]
            for k in range(n_units):
                hidden[k] = _activation(field[k], activation)
            for c in range(n_outputs):
                summed = 0.0  # float64, over units in order
                for k in range(n_units):
                    summed += readout[e, c, k] * readout_mask[e, c, k] * hidden[k]
                output[c] = summed * output_scale
            losses[e, s] = _loss_and_residuals(output, y[e, s], loss, residual)
            # Each parameter's step is its rate times dloss/df_c times c_K times the rest of its gradient.
            for c in range(n_outputs):
                weight_step[c] = weight_rate * residual[c] * output_scale
                bias_step[c] = bias_rate * residual[c] * output_scale
                readout_step[c] = readout_rate * residual[c] * output_scale
            for k in range(n_units):
                z = field[k]
                derivative = _slope(z, activation)
                # Output 0's share first, the others' added: one output's arithmetic is the sum's first term.
                kept = readout_mask[e, 0, k]
                weight_grad = weight_step[0] * readout[e, 0, k] * kept * derivative
                bias_grad = bias_step[0] * readout[e, 0, k] * kept * derivative
                readout[e, 0, k] -= readout_step[0] * hidden[k] * kept
                for c in range(1, n_outputs):
                    kept = readout_mask[e, c, k]
                    weight_grad += weight_step[c] * readout[e, c, k] * kept * derivative
                    bias_grad += bias_step[c] * readout[e, c, k] * kept * derivative
                    readout[e, c, k] -= readout_step[c] * hidden[k] * kept
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
def _loss_and_residuals(output, label, loss, residual):
    """The loss of outputs f (C,) for the class ``label``; writes dloss/df_c into ``residual`` (C,).

    One output (two classes): ``MSE`` 0.5 (f - (2y - 1))^2, ``CROSS_ENTROPY`` the logistic loss on f.
    C outputs: ``MSE`` one-vs-all, 0.5 sum_c (f_c - t_c)^2 with t_c = 1 for the label's output and -1
    for the others; ``CROSS_ENTROPY`` the softmax cross-entropy log sum_c exp(f_c) - f_y.
    """
    n_outputs = output.size
    if n_outputs == 1:
        f = output[0]
        if loss == MSE:
            residual[0] = f - (2.0 * label - 1.0)
            return 0.5 * residual[0] * residual[0]
        residual[0] = 1.0 / (1.0 + math.exp(-f)) - label
        return max(f, 0.0) - f * label + math.log1p(math.exp(-abs(f)))
    target = int(label)
    if loss == MSE:
        total = 0.0
        for c in range(n_outputs):
            residual[c] = output[c] - (1.0 if c == target else -1.0)
            total += 0.5 * residual[c] * residual[c]
        return total
    largest = output.max()
    norm = 0.0
    for c in range(n_outputs):
        residual[c] = math.exp(output[c] - largest)
        norm += residual[c]
    for c in range(n_outputs):
        residual[c] = residual[c] / norm - (1.0 if c == target else 0.0)
    return largest + math.log(norm) - output[target]


@njit(fastmath=FASTMATH, inline="always")
def _dot(row, sample):
    total = np.float32(0.0)  # float32 products and sums vectorize twice as wide
    for i in range(row.size):
        total += row[i] * sample[i]
    return total
