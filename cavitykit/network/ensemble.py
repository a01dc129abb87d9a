"""The network in torch: activations, initialization, one member's parameters and the ensemble that trains.

A run trains all its networks (members) as one ``Ensemble``: stacked parameters (weights (E, K, D),
biases (E, K) and readouts (E, K), or (E, C, K) for C > 2 classes) with their own masks.  ``Network``
is one member's parameters in float64 numpy, as the runner prunes, measures and stores them;
``Ensemble.stack`` and ``member_of`` convert between the two.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from cavitykit._validation import check_choice
from cavitykit.network.formulas import ACTIVATION_NAMES, BIAS_INITS, preactivation, readout_sum, readout_sums
from cavitykit.network.mask import Mask
from cavitykit.network.parameterization import Parameterization, parameterization

# sigma by name (``ACTIVATION_NAMES``), on torch tensors; the SGD kernel's scalar twins are
# ``cavitykit.network._kernels._activation`` and ``_slope``.
ACTIVATIONS = {
    "erf": lambda z: torch.erf(z * (1.0 / math.sqrt(2.0))),
    "relu": torch.relu,
}


def activation_function(name: str):
    """sigma by name: 'erf' is erf(z / sqrt 2) (a sigmoid with unit slope), 'relu' is max(z, 0).

    Parameters
    ----------
    name : {'erf', 'relu'}

    Returns
    -------
    callable
        Elementwise on torch tensors.
    """
    return ACTIVATIONS[check_choice("activation", name, ACTIVATION_NAMES)]


def initial_parameters(
    n_inputs: int,
    width: int,
    *,
    init_scale=1.0,
    bias=False,
    bias_init="zero",
    trains_readout=True,
    n_classes=2,
    generator=None,
) -> dict[str, torch.Tensor]:
    """Initial parameters of the two-layer network, drawn in a fixed order from ``generator``.

    Parameters
    ----------
    n_inputs, width : int
        D and K.
    init_scale : float
        Standard deviation of the weights w_ki and of a trained readout v_k (both Gaussian).
    bias : bool
        Include hidden biases.
    bias_init : {'zero', 'split'}
        'split' sets b_k = +1 on the first half of the units and -1 on the second (the
        Ingrosso-Goldt choice: with an odd activation it breaks the x -> -x symmetry that
        would otherwise keep the network at chance on symmetric classes).
    trains_readout : bool
        False for a fixed readout: every v_k is 1 (the generator still advances past its draw,
        so the weights do not depend on the parameterization).  With C outputs, unit k reads out to
        output k mod C alone: each output is the committee of every C-th unit.
    n_classes : int
        C: two classes take one output (its sign the class), C > 2 classes C outputs (the largest the class).
    generator : torch.Generator, optional

    Returns
    -------
    dict
        ``weight`` (K, D), ``readout`` (K,) (one output) or (C, K), and, with biases, ``bias`` (K,); float32.

    Examples
    --------
    >>> initial_parameters(4, 5, trains_readout=False, n_classes=3)["readout"]
    tensor([[1., 0., 0., 1., 0.],
            [0., 1., 0., 0., 1.],
            [0., 0., 1., 0., 0.]])
    """
    check_choice("bias_init", bias_init, BIAS_INITS)
    if not isinstance(n_classes, int | np.integer) or not 2 <= n_classes <= max(2, width):
        raise ValueError(
            f"the class count must lie in 2..network.width = {width} (an output per class), got {n_classes!r}"
        )
    n_outputs = 1 if n_classes == 2 else int(n_classes)
    state = {
        "weight": torch.randn((width, n_inputs), generator=generator) * init_scale,
        "readout": torch.randn((n_outputs, width), generator=generator) * init_scale,
    }
    if n_outputs == 1:
        state["readout"] = state["readout"][0]
    if not trains_readout:
        units = torch.arange(width)
        committee = (units % n_outputs == torch.arange(n_outputs)[:, None]).float()
        state["readout"] = torch.ones(width) if n_outputs == 1 else committee
    if bias:
        split = torch.where(torch.arange(width) < width // 2, 1.0, -1.0)
        state["bias"] = split if bias_init == "split" else torch.zeros(width)
    return state


@dataclass
class Network:
    """One member's parameters (float64) and mask.

    weight : (K, D); readout : (K,) for one output, (C, K) for C; bias : (K,), None without biases;
    mask : ``Mask`` of the weight's and the readout's shapes.
    """

    weight: np.ndarray
    readout: np.ndarray
    mask: Mask
    bias: np.ndarray | None = None

    def layers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Prunable layers' weights and masks: the first layer, then the readout (as (C, K), C = 1 for one
        output) if prunable."""
        readout = self.readout.reshape(-1, self.weight.shape[0])
        weights = [self.weight, readout] if self.mask.prunes_readout else [self.weight]
        return weights, self.mask.layers()


class Ensemble:
    """E masked two-layer networks f_e(x) = c_K sum_k r_ek sigma(lambda_ek), stacked.

    lambda_ek = w_ek . x / sqrt(D) + b_ek, r = readout * readout mask, c_K the output scale of
    the parameterization (``cavitykit.network.formulas``).  With a readout of C outputs, each member
    has C outputs f_ec = c_K sum_k r_eck sigma(lambda_ek), one per class.

    Parameters
    ----------
    weight : array_like of shape (E, K, D)
        Zero where ``mask`` is False.
    readout : array_like of shape (E, K), or (E, C, K) for C outputs
    mask : Mask
        Of shape (E, K, D) and the readout's (``Mask.stack``); a boolean array (E, K, D) for a first-layer
        mask alone (one output).
    bias : array_like of shape (E, K), optional
    activation : {'erf', 'relu'}
    parameterization : str or Parameterization
        Output scale, trained or fixed readout, and per-parameter learning rates
        (``cavitykit.network.parameterization``).
    device : str or torch.device
        Parameters are float32 on this device.

    Attributes
    ----------
    keep, readout_keep : torch.Tensor
        The mask as float32 (E, K, D) and the readout's shape (``Mask.keep``; ``readout_keep`` None when the readout is
        not prunable), which multiply the parameters after every step (``apply_masks``) and feed the SGD
        kernel.

    Examples
    --------
    >>> import numpy as np, torch
    >>> E, K, D = 3, 4, 10
    >>> ensemble = Ensemble(np.ones((E, K, D)), np.ones((E, K)), np.ones((E, K, D), bool))
    >>> tuple(ensemble.forward(torch.zeros(E, 5, D)).shape)  # one output per member and sample
    (3, 5)
    >>> mask = Mask(np.ones((E, K, D), bool), np.ones((E, 3, K), bool))
    >>> three = Ensemble(np.ones((E, K, D)), np.ones((E, 3, K)), mask)
    >>> tuple(three.forward(torch.zeros(E, 5, D)).shape)  # three outputs (classes)
    (3, 5, 3)
    """

    def __init__(
        self,
        weight,
        readout,
        mask,
        *,
        bias=None,
        activation="erf",
        parameterization="standard",
        device="cpu",
    ):
        float32 = {"dtype": torch.float32, "device": device}
        self.activation = activation
        self.sigma = activation_function(activation)
        self.parameterization = _as_parameterization(parameterization)
        self.weight = torch.tensor(np.asarray(weight), **float32)
        self.readout = torch.tensor(np.asarray(readout), **float32)
        self.bias = None if bias is None else torch.tensor(np.asarray(bias), **float32)
        self.mask = mask if isinstance(mask, Mask) else Mask(np.asarray(mask))
        if self.mask.weight.shape != self.weight.shape or self.readout.shape != self.mask.readout.shape:
            raise ValueError(
                f"weight (E, K, D), readout (E, K) or (E, C, K) and their mask must agree, got "
                f"{tuple(self.weight.shape)}, {tuple(self.readout.shape)} and {self.mask.weight.shape}, "
                f"{self.mask.readout.shape}"
            )
        # float copies for the in-place masking after every step: a bool mask would be cast on every call
        self.keep, self.readout_keep = self.mask.keep(device)
        self.output_scale = self.parameterization.output_scale(self.weight.shape[1])
        self.apply_masks()

    @classmethod
    def stack(cls, networks: list[Network], *, activation: str, parameterization, device) -> Ensemble:
        """The members' networks as one ensemble on ``device`` (which zeroes their pruned weights)."""
        return cls(
            np.stack([n.weight for n in networks]),
            np.stack([n.readout for n in networks]),
            Mask.stack([n.mask for n in networks]),
            bias=np.stack([n.bias for n in networks]) if networks[0].bias is not None else None,
            activation=activation,
            parameterization=parameterization,
            device=device,
        )

    @property
    def size(self) -> int:
        """E, the number of members."""
        return self.weight.shape[0]

    @property
    def n_outputs(self) -> int:
        """1 (two classes, the sign of f) or C (C classes, the largest f_c)."""
        return self.mask.n_outputs

    def trained(self) -> dict[str, torch.Tensor]:
        """The trained parameters by name: ``weight``, ``bias`` (if any) and, when the parameterization trains
        it, ``readout``."""
        names = ("weight", "bias", "readout") if self.parameterization.trains_readout else ("weight", "bias")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}

    def parameters(self) -> list[torch.Tensor]:
        """The trained parameters (``trained``), in that order."""
        return list(self.trained().values())

    def learning_rates(self, learning_rate: float) -> dict[str, float]:
        """Each trained parameter's learning rate, by the names of ``trained``."""
        K, D = self.weight.shape[1:]
        rates = self.parameterization.learning_rates(learning_rate, width=K, n_inputs=D)
        by_name = dict(zip(("weight", "bias", "readout"), rates, strict=True))
        return {name: by_name[name] for name in self.trained()}

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero the pruned weights in place."""
        self.weight.mul_(self.keep)
        if self.readout_keep is not None:
            self.readout.mul_(self.readout_keep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f of every member on its own inputs: x of shape (E, B, D) -> (E, B), or (E, B, C) for C outputs.

        The pruned weights are zero (the constructor and ``apply_masks``, after every optimizer step, keep
        them so), so the forward pass needs no mask: a pruned weight's gradient is wiped with its update.
        """
        bias = None if self.bias is None else self.bias[:, None, :]
        hidden = self.sigma(preactivation(x, self.weight, bias))
        outputs = readout_sum if self.n_outputs == 1 else readout_sums
        return outputs(hidden, self.readout, self.output_scale)

    def state(self) -> dict[str, torch.Tensor]:
        """A copy of the parameters (weight, readout and, with biases, bias)."""
        names = ("weight", "bias", "readout")
        return {name: getattr(self, name).detach().clone() for name in names if getattr(self, name) is not None}


def member_of(state: dict[str, torch.Tensor], index: int, like: Network) -> Network:
    """Member ``index`` of an ensemble's ``state()`` as a float64 Network with ``like``'s masks."""

    def member(name):
        return state[name][index].detach().cpu().double().numpy() if name in state else None

    return Network(member("weight"), member("readout"), like.mask, member("bias"))


def _as_parameterization(value) -> Parameterization:
    return value if isinstance(value, Parameterization) else parameterization(value)
