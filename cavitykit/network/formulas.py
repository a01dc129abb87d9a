"""The two-layer network's defining formulas, for numpy arrays and torch tensors alike.

f(x) = c_K sum_k v_k sigma(lambda_k) with the pre-activation lambda_k = w_k . x / sqrt(D) + b_k
(Ingrosso-Goldt scaling; ``docs/cavity.md``) and the output scale c_K of the parameterization
(``cavitykit.network.parameterization``: 1/sqrt(K), 1/K or 1).  A network of C > 2 classes has C
outputs f_c(x) = c_K sum_k v_ck sigma(lambda_k), one per class.  The ensemble trainer, the runner's
statistics, the cumulant spectra and the cavity method all compute lambda (and f) here, and the batch
normalization of a layer's input (``Normalization``), which folds into its weights at evaluation; this
module imports neither torch nor the IMP engine.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np

from cavitykit._validation import check_choice

# sigma by name: 'erf' is erf(z / sqrt 2) (a sigmoid of unit slope at 0), 'relu' is max(z, 0).
ACTIVATION_NAMES = ("erf", "relu")
# Odd activations: with no bias the network is odd in x (f(-x) = -f(x)).
ODD_ACTIVATIONS = ("erf",)
# Initial hidden biases: all zero, or +1 / -1 on the two halves of the units.
BIAS_INITS = ("zero", "split")


# How a layer's weights W enter its pre-activation: 'scaled' (the runs' convention, Ingrosso-Goldt) or
# 'linear' (torch.nn.Linear, no 1/sqrt(D)).
PREACTIVATION_CONVENTIONS = {"scaled": "w . x / sqrt(D) + b", "linear": "x . W^T + b (torch.nn.Linear)"}


def preactivation_formula(convention: str, *, with_bias: bool) -> str:
    """The pre-activation of ``convention`` as text, for the attributes of what is computed from it.

    Examples
    --------
    >>> preactivation_formula("scaled", with_bias=True), preactivation_formula("linear", with_bias=False)
    ('w . x / sqrt(D) + b', 'x . W^T (torch.nn.Linear) (no bias)')
    """
    formula = PREACTIVATION_CONVENTIONS[check_choice("convention", convention, tuple(PREACTIVATION_CONVENTIONS))]
    return formula if with_bias else f"{formula.replace(' + b', '')} (no bias)"


def as_scaled(weights: np.ndarray, convention: str) -> np.ndarray:
    """Weights of shape (K, D) in the 'scaled' convention that give the same pre-activations as
    ``weights`` in ``convention`` (``PREACTIVATION_CONVENTIONS``): W sqrt(D) for 'linear'.

    Cumulants of the pre-activation, and the change of any of them when a weight is removed, are the
    same whichever convention describes the layer once its weights are converted.

    Examples
    --------
    >>> import numpy as np
    >>> W, x = np.array([[1.0, -2.0, 0.5, 0.0]]), np.ones((1, 4))
    >>> preactivation(x, as_scaled(W, "linear")), x @ W.T  # nn.Linear's pre-activation
    (array([[-0.5]]), array([[-0.5]]))
    """
    check_choice("convention", convention, tuple(PREACTIVATION_CONVENTIONS))
    return weights * math.sqrt(weights.shape[-1]) if convention == "linear" else weights


def as_linear(weights: np.ndarray) -> np.ndarray:
    """Scaled weights w of shape (..., D) as the coefficients of x in the pre-activation, w / sqrt(D):
    the 'linear' convention's weights (``as_scaled``'s inverse).

    Examples
    --------
    >>> import numpy as np
    >>> W, x = np.array([[2.0, -4.0, 0.0, 1.0]]), np.ones((1, 4))
    >>> x @ as_linear(W).T, preactivation(x, W)
    (array([[-0.5]]), array([[-0.5]]))
    """
    return weights / math.sqrt(weights.shape[-1])


def preactivation(inputs, weights, bias=None, *, out=None):
    """lambda = x w^T / sqrt(D) (+ b) of every sample and unit.

    Parameters
    ----------
    inputs : ndarray or torch.Tensor of shape (..., P, D)
    weights : ndarray or torch.Tensor of shape (..., K, D)
        Pruned weights must already be zero.  Leading dims (e.g. ensemble members) broadcast.
    bias : ndarray, torch.Tensor or float, optional
        Broadcastable to (..., P, K): shape (K,), (E, 1, K) for members, or a scalar.
    out : ndarray or torch.Tensor of shape (..., P, K), optional
        Written in place and returned (same library and dtype as the operands), with the values a
        call without it returns, bit for bit: a buffer kept between calls spares the page faults
        of a fresh large array.

    Returns
    -------
    ndarray or torch.Tensor of shape (..., P, K)
        Same library and dtype as the operands.

    Examples
    --------
    >>> import numpy as np
    >>> preactivation(np.ones((2, 4)), np.array([[1.0, 1.0, 0.0, 0.0]]), bias=np.array([0.5]))
    array([[1.5],
           [1.5]])
    >>> buffer = np.empty((2, 1))
    >>> preactivation(np.ones((2, 4)), np.ones((1, 4)), out=buffer) is buffer
    True
    """
    scale = 1.0 / math.sqrt(weights.shape[-1])
    if out is None:
        out = inputs @ weights.swapaxes(-1, -2) * scale
        return out if bias is None else out + bias
    # numpy's matmul for arrays, torch's for tensors (torch is loaded when a tensor is passed)
    matmul = np.matmul if isinstance(out, np.ndarray) else sys.modules["torch"].matmul
    matmul(inputs, weights.swapaxes(-1, -2), out=out)
    out *= scale
    if bias is not None:
        out += bias
    return out


# The variance floor of batch normalization (torch.nn.BatchNorm1d's default eps).
NORM_EPSILON = 1e-5


@dataclass(frozen=True)
class Normalization:
    """Batch normalization of one layer's input x (n features), as a network evaluates it: per feature
    x_hat = scale (x - mean) / sqrt(var + ``NORM_EPSILON``) + shift.

    ``scale`` and ``shift`` (gamma and beta) are trained; ``mean`` and ``var`` are the input's statistics
    over the training set, fitted after training (training itself normalizes each batch by its own).
    Arrays of shape (..., n), numpy or torch alike; leading dims (ensemble members) broadcast.

    Examples
    --------
    >>> norm = Normalization(np.array([2.0]), np.array([1.0]), np.array([3.0]), np.array([4.0 - NORM_EPSILON]))
    >>> norm.apply(np.array([[5.0]]))  # 2 (5 - 3) / 2 + 1
    array([[3.]])
    >>> weight, bias = norm.fold(np.array([[1.0]]), None)  # the same pre-activation from the raw input
    >>> preactivation(np.array([[5.0]]), weight, bias), preactivation(norm.apply(np.array([[5.0]])), np.array([[1.0]]))
    (array([[3.]]), array([[3.]]))
    """

    scale: object
    shift: object
    mean: object
    var: object

    def factor(self):
        """scale / sqrt(var + eps): what each feature is multiplied by."""
        return self.scale / (self.var + NORM_EPSILON) ** 0.5

    def apply(self, inputs):
        """x_hat of inputs (..., P, n) (with members: parameters (E, n), inputs (E, P, n))."""
        if getattr(self.scale, "ndim", 1) > 1:
            return (inputs - self.mean[..., None, :]) * self.factor()[..., None, :] + self.shift[..., None, :]
        return (inputs - self.mean) * self.factor() + self.shift

    def fold(self, weight: np.ndarray, bias: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The weights (K, n) and biases (K,) that give, from the raw input, the pre-activation
        ``preactivation(apply(x), weight, bias)``: W scale / sqrt(var + eps) and b + W (shift - mean
        scale / sqrt(var + eps)) / sqrt(n) (a zero bias for None)."""
        factor = self.factor()
        offset = weight @ (self.shift - self.mean * factor) / math.sqrt(weight.shape[-1])
        return weight * factor, offset if bias is None else bias + offset


def folded_layers(norm, weights, biases) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Hidden layers 1..L as evaluation computes them from the raw layer below: each layer's weights (K_l, n)
    and biases (K_l,) (``biases`` None for a network without) with its input's ``Normalization`` folded in
    (``Normalization.fold``); ``norm`` holds L + 1 of them, the readout's last and unused here.

    Examples
    --------
    >>> norm = [Normalization(*(np.full(2, v) for v in (2.0, 0.0, 0.0, 1.0 - NORM_EPSILON)))] * 2
    >>> folded_layers(norm, [np.ones((1, 2))], None)
    ([array([[2., 2.]])], [array([0.])])
    """
    biases = [None] * len(weights) if biases is None else biases
    folded = [one.fold(weight, bias) for one, weight, bias in zip(norm[:-1], weights, biases, strict=True)]
    return [weight for weight, _ in folded], [bias for _, bias in folded]


def hidden_activations(inputs: np.ndarray, weights, biases, activation: str) -> np.ndarray:
    """h_l = sigma(W_l h_(l-1) / sqrt(K_(l-1)) + b_l) through the given hidden layers, from h_0 = x, in numpy.

    What a deeper layer reads: the inputs of hidden layer l are ``hidden_activations`` through layers
    1..l-1 (none for the first layer, which reads x itself).

    Parameters
    ----------
    inputs : ndarray of shape (P, D)
    weights : sequence of ndarray of shapes (K_1, D), (K_2, K_1), ...
        Pruned weights already zero.
    biases : sequence of ndarray of shapes (K_l,), or None for a network without biases
    activation : {'erf', 'relu'}

    Returns
    -------
    ndarray of shape (P, K_l), float64, l the last layer given; ``inputs`` as float64 for no layer.

    Examples
    --------
    >>> hidden_activations(np.array([[1.0, -3.0]]), [np.array([[2.0, 0.0], [0.0, 2.0]])], None, "relu")
    array([[1.41421356, 0.        ]])
    """
    from scipy.special import erf

    sigma = {"erf": lambda z: erf(z / math.sqrt(2.0)), "relu": lambda z: np.maximum(z, 0.0)}[
        check_choice("activation", activation, ACTIVATION_NAMES)
    ]
    hidden = np.asarray(inputs, dtype=np.float64)
    for index, weight in enumerate(weights):
        bias = None if biases is None else biases[index]
        hidden = sigma(preactivation(hidden, np.asarray(weight, dtype=np.float64), bias))
    return hidden


def readout_sum(hidden, readout, scale):
    """f = c_K sum_k r_k h_k for every sample.

    Parameters
    ----------
    hidden : ndarray or torch.Tensor of shape (..., P, K)
        sigma of the pre-activations.
    readout : ndarray or torch.Tensor of shape (..., K)
        Readout weights r (pruned ones already zero); leading dims broadcast with ``hidden``'s.
    scale : float
        The output scale c_K (``Parameterization.output_scale``).

    Returns
    -------
    ndarray or torch.Tensor of shape (..., P)

    Examples
    --------
    >>> import numpy as np
    >>> readout_sum(np.ones((2, 4)), np.array([1.0, 1.0, 1.0, -1.0]), scale=0.5)
    array([1., 1.])
    """
    return (hidden @ readout[..., :, None])[..., 0] * scale


def readout_sums(hidden, readout, scale):
    """f_c = c_K sum_k r_ck h_k of every sample and output: the C outputs of a C-class network.

    Parameters
    ----------
    hidden : ndarray or torch.Tensor of shape (..., P, K)
        sigma of the pre-activations.
    readout : ndarray or torch.Tensor of shape (..., C, K)
        Readout weights r (pruned ones already zero); leading dims broadcast with ``hidden``'s.
    scale : float
        The output scale c_K (``Parameterization.output_scale``).

    Returns
    -------
    ndarray or torch.Tensor of shape (..., P, C)

    Examples
    --------
    >>> import numpy as np
    >>> readout_sums(np.ones((2, 4)), np.array([[1.0, 1.0, 1.0, -1.0], [0.0, 0.0, 0.0, 2.0]]), scale=0.5)
    array([[1., 1.],
           [1., 1.]])
    """
    return hidden @ readout.swapaxes(-1, -2) * scale
