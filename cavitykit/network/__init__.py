"""The two-layer network, in one place.

f(x) = c_K sum_k v_k sigma(w_k . x / sqrt(D) + b_k), sigma = erf(. / sqrt 2) or ReLU.

* ``formulas``: the pre-activation and the readout sum (one output, or C for C classes), for numpy
  arrays and torch tensors alike;
  the activations' names;
* ``mask``: the ``Mask`` of the kept weights, first layer and readout together;
* ``parameterization``: output scale, trained or fixed readout and per-parameter learning rates
  (today's ``standard`` network and the Ingrosso-Goldt modes);
* ``ensemble`` (torch): activations, initialization, one member's ``Network`` and the ``Ensemble``
  that trains many at once;
* ``sgd`` (torch, Numba): batch-1 online SGD of an ensemble on given samples, by the kernel of
  ``_kernels`` (with the activations' scalar versions).

Importing this package (its formulas and parameterizations) loads neither torch nor numba; the torch
names live in ``cavitykit.network.ensemble``.
"""

from cavitykit.network.formulas import (
    ACTIVATION_NAMES,
    BIAS_INITS,
    ODD_ACTIVATIONS,
    preactivation,
    readout_sum,
    readout_sums,
)
from cavitykit.network.mask import Mask
from cavitykit.network.parameterization import (
    PARAMETERIZATION_NAMES,
    PARAMETERIZATIONS,
    Parameterization,
    parameterization,
)

__all__ = [
    "ACTIVATION_NAMES",
    "BIAS_INITS",
    "ODD_ACTIVATIONS",
    "PARAMETERIZATIONS",
    "PARAMETERIZATION_NAMES",
    "Mask",
    "Parameterization",
    "parameterization",
    "preactivation",
    "readout_sum",
    "readout_sums",
]
