"""Online SGD with batch 1 on a CPU by a Numba kernel (``network._kernels``): whole blocks of steps of
every ensemble member per call, on samples given (``train_ensemble``'s CPU route draws them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from cavitykit.network import _kernels
from cavitykit.network.ensemble import Ensemble

if TYPE_CHECKING:  # the network layer sits below the config: it reads a training table, never imports it
    from cavitykit.config import TrainingConfig


def kernel_route_applies(config: TrainingConfig, device) -> bool:
    """Online SGD with batch 1 on a CPU: the Numba kernel's case.

    Examples
    --------
    >>> from cavitykit.config import TrainingConfig
    >>> kernel_route_applies(TrainingConfig(mode="online", batch_size=1), "cpu")
    True
    >>> kernel_route_applies(TrainingConfig(mode="batch"), "cpu")
    False
    """
    return (
        config.mode == "online"
        and config.batch_size == 1
        and config.optimizer == "sgd"
        and torch.device(device).type == "cpu"
    )


def sgd_on_samples(ensemble: Ensemble, x: np.ndarray, y: np.ndarray, config: TrainingConfig) -> np.ndarray:
    """Online SGD with batch 1 on given samples, in place: member e takes one step on each row of x[e], in order.

    The Numba kernel of ``train_ensemble``'s CPU route, on samples you provide (``train_ensemble``
    draws them from each member's task).

    Parameters
    ----------
    ensemble : Ensemble
        E members on the CPU.
    x : ndarray of shape (E, n, D)
        Each member's inputs, one per step (float32; other dtypes are converted).
    y : ndarray of shape (E, n)
        Classes: in {0, 1} for a network of one output, in 0..C-1 for C outputs.
    config : TrainingConfig
        Online SGD with batch 1: its learning rate and loss (one-vs-all for C outputs: MSE against +1 for
        the class's output and -1 for the others, or softmax cross-entropy).

    Returns
    -------
    ndarray of shape (E, n), float32
        Each step's loss, before its update.

    Examples
    --------
    One step of a single unit, f = erf(w . x / sqrt(D) / sqrt(2)) with D = 1, towards the label 1:

    >>> import numpy as np
    >>> from cavitykit.config import TrainingConfig
    >>> ensemble = Ensemble(np.zeros((1, 1, 1)), np.ones((1, 1)), np.ones((1, 1, 1), bool), activation="erf")
    >>> config = TrainingConfig(mode="online", batch_size=1, learning_rate=0.5)
    >>> sgd_on_samples(ensemble, np.ones((1, 1, 1)), np.ones((1, 1)), config)  # 0.5 (f - 1)^2 at f = 0
    array([[0.5]], dtype=float32)
    >>> round(float(ensemble.weight[0, 0, 0]), 4)  # w += 0.5 * (1 - f) * erf'(0) = 0.5 * sqrt(2 / pi)
    0.3989
    """
    if not kernel_route_applies(config, ensemble.weight.device):
        raise ValueError(f"sgd_on_samples needs online SGD with batch_size 1 on a CPU, got {config}")
    x = np.ascontiguousarray(x, dtype=np.float32)
    y = np.ascontiguousarray(y, dtype=np.float32)
    n_inputs = ensemble.weight.shape[2]
    if x.ndim != 3 or x.shape[0] != ensemble.size or x.shape[2] != n_inputs or y.shape != x.shape[:2]:
        raise ValueError(
            f"x must have shape (E, n, D) = ({ensemble.size}, n, {n_inputs}) and y (E, n); "
            f"got x {x.shape} and y {y.shape}"
        )
    n_classes = max(2, ensemble.n_outputs)
    if not np.isin(y, np.arange(n_classes)).all():
        raise ValueError(f"y must hold classes 0..{n_classes - 1}, got {np.unique(y)[:10].tolist()}")
    # views, updated in place; the readout as (E, C, K), C = 1 for one output
    weight = ensemble.weight.numpy()
    readout = ensemble.readout.numpy().reshape(ensemble.size, ensemble.n_outputs, -1)
    bias = ensemble.bias.numpy() if ensemble.bias is not None else np.empty((ensemble.size, 0), np.float32)
    mask = ensemble.keep.numpy()
    if ensemble.readout_keep is None:
        readout_mask = np.ones_like(readout)
    else:
        readout_mask = ensemble.readout_keep.numpy().reshape(readout.shape)
    activation = {"erf": _kernels.ERF, "relu": _kernels.RELU}[ensemble.activation]
    loss = {"mse": _kernels.MSE, "cross_entropy": _kernels.CROSS_ENTROPY}[config.loss]
    rates = ensemble.parameterization.learning_rates(
        config.learning_rate, width=weight.shape[1], n_inputs=weight.shape[2]
    )
    losses = np.empty(y.shape, dtype=np.float32)
    _kernels.sgd_online_block(
        weight, mask, bias, readout, readout_mask, x, y, rates, ensemble.output_scale, activation, loss, losses
    )
    return losses
