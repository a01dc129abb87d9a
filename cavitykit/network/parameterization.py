"""How the two-layer network is scaled and trained: its output scale, its readout and its learning rates.

The network is f(x) = c_K sum_k v_k sigma(lambda_k), lambda_k = w_k . x / sqrt(D) + b_k.  A
parameterization fixes the output scale c_K, whether the readout v is trained or fixed at 1, and the
learning rate of each kind of parameter as a multiple of the configured rate eta:

============  =========  ==============  ===============  ===============  ===============
name          c_K        readout v       rate of w        rate of b        rate of v
============  =========  ==============  ===============  ===============  ===============
standard      1/sqrt(K)  trained, N(0,s)  eta              eta              eta
two_layer     1          trained, N(0,s)  eta              eta / D          eta / D
committee     1          fixed at 1       eta              eta / D          --
lazy          1/sqrt(K)  fixed at 1       eta sqrt(K)      eta sqrt(K) / D  --
mean_field    1/K        fixed at 1       eta K            eta K / D        --
============  =========  ==============  ===============  ===============  ===============

``standard`` is the network every cavitykit run used before the others existed.  The four others are
the modes of the Ingrosso-Goldt code ("2layer", "conv", "lazy" and "mf"): the first-layer rate grows
with K as c_K shrinks, so that each unit's weights move at a K-independent speed, and the biases learn
D times slower than the weights, since a weight sees a 1/sqrt(D) share of the input and a bias all of
it.  ``theory/index.md`` and ``docs/runs.md`` give the reasoning and the anchor's regime.  This module
imports nothing heavy: configs validate against it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cavitykit._validation import check_choice


@dataclass(frozen=True)
class Parameterization:
    """One parameterization of the two-layer network (see the module's table).

    Parameters
    ----------
    name : str
    output_power : {0, 1, 2}
        c_K = K^(-output_power / 2): 1, 1/sqrt(K) or 1/K.
    trains_readout : bool
        The readout v is trained (and drawn at initialization); otherwise every v_k is 1.
    weight_rate_power : {0, 1, 2}
        The first layer's rate is eta K^(weight_rate_power / 2).
    slow_bias_and_readout : bool
        The biases (and a trained readout) learn at the first layer's rate divided by D.

    Examples
    --------
    >>> mean_field = PARAMETERIZATIONS["mean_field"]
    >>> mean_field.output_scale(8), mean_field.learning_rates(0.1, width=8, n_inputs=400)
    (0.125, (0.8, 0.002, 0.0))
    """

    name: str
    output_power: int
    trains_readout: bool
    weight_rate_power: int
    slow_bias_and_readout: bool

    def output_scale(self, width: int) -> float:
        """c_K for K = ``width`` units."""
        return _power_of_sqrt(width, -self.output_power)

    def learning_rates(self, learning_rate: float, *, width: int, n_inputs: int) -> tuple[float, float, float]:
        """The learning rates of the first-layer weights, the biases and the readout (0 when fixed).

        Parameters
        ----------
        learning_rate : float
            The configured rate eta.
        width, n_inputs : int
            K and D.

        Returns
        -------
        tuple of float
            (weights, biases, readout).
        """
        weight = learning_rate * _power_of_sqrt(width, self.weight_rate_power)
        slow = weight / n_inputs if self.slow_bias_and_readout else weight
        return weight, slow, slow if self.trains_readout else 0.0


def _power_of_sqrt(width: int, power: int) -> float:
    """sqrt(K)^power for power in -2..2, each computed the one way its formula reads."""
    return {-2: 1.0 / width, -1: 1.0 / math.sqrt(width), 0: 1.0, 1: math.sqrt(width), 2: float(width)}[power]


PARAMETERIZATIONS = {
    "standard": Parameterization("standard", 1, True, 0, False),
    "two_layer": Parameterization("two_layer", 0, True, 0, True),
    "committee": Parameterization("committee", 0, False, 0, True),
    "lazy": Parameterization("lazy", 1, False, 1, True),
    "mean_field": Parameterization("mean_field", 2, False, 2, True),
}
PARAMETERIZATION_NAMES = tuple(PARAMETERIZATIONS)


def parameterization(name: str) -> Parameterization:
    """The parameterization called ``name`` (one of ``PARAMETERIZATION_NAMES``).

    Examples
    --------
    >>> parameterization("lazy").trains_readout
    False
    """
    return PARAMETERIZATIONS[check_choice("network.parameterization", name, PARAMETERIZATION_NAMES)]
