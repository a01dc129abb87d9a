"""The network in torch: activations, initialization, one member's parameters and the ensemble that trains.

A run trains all its networks (members) as one ``Ensemble``: stacked parameters (weights (E, K, D),
biases (E, K) and readouts (E, K), or (E, C, K) for C > 2 classes; a deeper network also the weights
(E, K_l, K_(l-1)) and biases (E, K_l) of its hidden layers 2..L; with batch normalization, that of every
layer's input) with their own masks.  ``Network``
is one member's parameters in float64 numpy, as the runner prunes, measures and stores them;
``Ensemble.stack`` and ``member_of`` convert between the two.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

from cavitykit._validation import check_choice
from cavitykit.network.formulas import (
    ACTIVATION_NAMES,
    BIAS_INITS,
    Normalization,
    folded_layers,
    preactivation,
    readout_sum,
    readout_sums,
)
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
    deeper=(),
    batch_norm=False,
) -> dict[str, torch.Tensor]:
    """Initial parameters of the two-layer network (or a deeper one), drawn in a fixed order from ``generator``.

    Parameters
    ----------
    n_inputs, width : int
        D and K, the first hidden layer's width.
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
    deeper : tuple of int
        The widths K_2..K_L of the hidden layers after the first; their weights are drawn after the
        readout's (so a network of one hidden layer draws what it always drew), with the same law, and
        the readout reads the last layer.
    batch_norm : bool
        Batch normalization of every layer's input (the pixels, each hidden layer's, the readout's):
        ``norm_scale_l`` ones and ``norm_shift_l`` zeros for l = 1..L+1 (nothing drawn), with the
        statistics ``norm_mean_l`` zeros and ``norm_var_l`` ones until training fits them.

    Returns
    -------
    dict
        ``weight`` (K, D), ``readout`` (K_L,) (one output) or (C, K_L), and, with biases, ``bias`` (K,);
        for each deeper layer l = 2..L ``weight_l`` (K_l, K_(l-1)) and, with biases, ``bias_l`` (K_l,); float32.

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
    widths = (width, *deeper)
    last = widths[-1]
    state = {
        "weight": torch.randn((width, n_inputs), generator=generator) * init_scale,
        "readout": torch.randn((n_outputs, last), generator=generator) * init_scale,
    }
    for layer, (below, out) in enumerate(itertools.pairwise(widths), start=2):
        state[f"weight_{layer}"] = torch.randn((out, below), generator=generator) * init_scale
    if n_outputs == 1:
        state["readout"] = state["readout"][0]
    if not trains_readout:
        units = torch.arange(last)
        committee = (units % n_outputs == torch.arange(n_outputs)[:, None]).float()
        state["readout"] = torch.ones(last) if n_outputs == 1 else committee
    if bias:
        for name, size in zip(bias_names(len(widths)), widths, strict=True):
            split = torch.where(torch.arange(size) < size // 2, 1.0, -1.0)
            state[name] = split if bias_init == "split" else torch.zeros(size)
    if batch_norm:
        for layer, size in enumerate((n_inputs, *widths), start=1):
            for field, start in NORM_START.items():
                state[f"norm_{field}_{layer}"] = torch.full((size,), start)
    return state


# A layer input's normalization in a network's state: its trained scale and shift, then its statistics,
# each at its value before training.
NORM_START = {"scale": 1.0, "shift": 0.0, "mean": 0.0, "var": 1.0}
NORM_TRAINED = ("scale", "shift")


def norm_names(n_norms: int, field: str) -> list[str]:
    """The names of one field (``NORM_START``) of the normalizations of layers 1..n_norms' inputs."""
    return [f"norm_{field}_{layer}" for layer in range(1, n_norms + 1)]


def normalizations(state: dict, depth: int) -> tuple[Normalization, ...]:
    """The normalizations of layers 1..L+1's inputs in ``state`` (by ``norm_names``), () without."""
    if "norm_scale_1" not in state:
        return ()
    fields = [[state[name] for name in norm_names(depth + 1, field)] for field in NORM_START]
    return tuple(Normalization(*one) for one in zip(*fields, strict=True))


def norm_state(norm, *, trained_only: bool = False) -> dict:
    """A network's normalizations by their state names (the trained fields alone with ``trained_only``)."""
    fields = NORM_TRAINED if trained_only else tuple(NORM_START)
    named = {}
    for field in fields:
        named |= {name: getattr(one, field) for name, one in zip(norm_names(len(norm), field), norm, strict=True)}
    return named


def weight_names(depth: int) -> list[str]:
    """The names of the hidden layers' weights in a network's state: ``weight``, then ``weight_2``..``weight_L``."""
    return ["weight", *(f"weight_{layer}" for layer in range(2, depth + 1))]


def bias_names(depth: int) -> list[str]:
    """The names of the hidden layers' biases: ``bias``, then ``bias_2``..``bias_L``."""
    return ["bias", *(f"bias_{layer}" for layer in range(2, depth + 1))]


def named_parameters(weights: list, biases: list, readout) -> dict:
    """Parameters by the names of ``initial_parameters``: each hidden layer's weights, then its biases (none
    when the first is None: a network without biases), then the readout; numpy arrays or torch tensors."""
    named = dict(zip(weight_names(len(weights)), weights, strict=True))
    if biases[0] is not None:
        named |= dict(zip(bias_names(len(weights)), biases, strict=True))
    return named | {"readout": readout}


@dataclass
class Network:
    """One member's parameters (float64) and mask.

    weight : (K, D); readout : (K_L,) for one output, (C, K_L) for C; bias : (K,), None without biases;
    mask : ``Mask`` of the weights' and the readout's shapes; deep, deep_bias : the weights (K_l, K_(l-1))
    and biases (K_l,) of the hidden layers 2..L of a deeper network (biases () without), () for one hidden
    layer; norm : with batch normalization, the ``Normalization`` of the inputs of layers 1..L and of the
    readout (L + 1 of them, arrays (n_l,)), () without.
    """

    weight: np.ndarray
    readout: np.ndarray
    mask: Mask
    bias: np.ndarray | None = None
    deep: tuple[np.ndarray, ...] = ()
    deep_bias: tuple[np.ndarray, ...] = ()
    norm: tuple[Normalization, ...] = ()

    def layers(self) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Prunable layers' weights and masks: the first layer, any deeper hidden layers, then the readout
        (as (C, K_L), C = 1 for one output) if prunable."""
        readout = [self.readout.reshape(-1, self.readout.shape[-1])] if self.mask.prunes_readout else []
        return [self.weight, *self.deep, *readout], self.mask.layers()

    @property
    def depth(self) -> int:
        """The number of hidden layers."""
        return 1 + len(self.deep)

    def state(self) -> dict[str, np.ndarray]:
        """The parameters by the names of ``initial_parameters`` and ``Ensemble.state``."""
        named = named_parameters([self.weight, *self.deep], [self.bias, *self.deep_bias], self.readout)
        return named | norm_state(self.norm)

    @classmethod
    def from_state(cls, state: dict, mask: Mask) -> Network:
        """The network of parameters named as ``state`` gives them (float64 numpy arrays), under ``mask``."""
        depth = 1 + len(mask.deep)
        weights = [state[name] for name in weight_names(depth)]
        biases = [state[name] for name in bias_names(depth)] if "bias" in state else []
        return cls(
            weights[0],
            state["readout"],
            mask,
            biases[0] if biases else None,
            tuple(weights[1:]),
            tuple(biases[1:]),
            normalizations(state, depth),
        )

    def evaluated_layers(self) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
        """Each hidden layer's weights (K_l, K_(l-1)) and biases (K_l,) as the network evaluates them on the
        raw layer below: with batch normalization its input's ``Normalization`` folded in (the biases then
        never None), otherwise the network's own (biases None without).

        Examples
        --------
        >>> mask = Mask.dense(2, 3)
        >>> plain = Network(np.ones((2, 3)), np.ones(2), mask)
        >>> plain.evaluated_layers()[1]
        [None]
        """
        weights = [self.weight, *self.deep]
        biases = [self.bias, *self.deep_bias] if self.bias is not None else None
        if self.norm:
            return folded_layers(self.norm, weights, biases)
        return weights, biases or [None] * len(weights)


class Ensemble:
    """E masked two-layer networks f_e(x) = c_K sum_k r_ek sigma(lambda_ek), stacked.

    lambda_ek = w_ek . x / sqrt(D) + b_ek, r = readout * readout mask, c_K the output scale of
    the parameterization (``cavitykit.network.formulas``).  With a readout of C outputs, each member
    has C outputs f_ec = c_K sum_k r_eck sigma(lambda_ek), one per class.  A deeper network's hidden
    layer l computes sigma(W_l h_(l-1) / sqrt(K_(l-1)) + b_l) from the one below, and the readout reads
    the last (K = K_L).

    Parameters
    ----------
    weight : array_like of shape (E, K, D)
        Zero where ``mask`` is False.
    readout : array_like of shape (E, K), or (E, C, K) for C outputs
    mask : Mask
        Of shape (E, K, D) and the readout's (``Mask.stack``); a boolean array (E, K, D) for a first-layer
        mask alone (one output).
    bias : array_like of shape (E, K), optional
    deep, deep_bias : sequence of array_like of shapes (E, K_l, K_(l-1)) and (E, K_l), optional
        The hidden layers 2..L of deeper networks (``mask.deep`` their masks); biases with ``bias``.
    norm : sequence of Normalization, optional
        Batch normalization of the inputs of layers 1..L and of the readout, fields of shape (E, n_l): a
        training step normalizes each batch by its own statistics, evaluation by ``mean`` and ``var``
        (``fit_normalization``).
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
    deep_keep : tuple of torch.Tensor
        The deeper layers' masks, float32 (empty for one hidden layer).
    norm : list of Normalization
        Of float32 tensors (empty without batch normalization); ``scale`` and ``shift`` are trained.

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
        deep=(),
        deep_bias=(),
        norm=(),
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
        self.deep = [torch.tensor(np.asarray(layer), **float32) for layer in deep]
        self.deep_bias = [torch.tensor(np.asarray(layer), **float32) for layer in deep_bias]
        self.norm = [
            Normalization(*(torch.tensor(np.asarray(getattr(one, field)), **float32) for field in NORM_START))
            for one in norm
        ]
        if self.norm and len(self.norm) != len(self.deep) + 2:
            raise ValueError(
                f"batch normalization takes one per layer input (the {len(self.deep) + 1} hidden layers' and the "
                f"readout's), got {len(self.norm)}"
            )
        self.mask = mask if isinstance(mask, Mask) else Mask(np.asarray(mask))
        deep_shapes = [tuple(layer.shape) for layer in self.deep]
        if deep_shapes != [layer.shape for layer in self.mask.deep] or len(self.deep_bias) not in (0, len(self.deep)):
            raise ValueError(
                f"the deeper layers' weights {deep_shapes} must match their masks "
                f"{[layer.shape for layer in self.mask.deep]} (and have a bias each, or none)"
            )
        if self.mask.weight.shape != self.weight.shape or self.readout.shape != self.mask.readout.shape:
            raise ValueError(
                f"weight (E, K, D), readout (E, K) or (E, C, K) and their mask must agree, got "
                f"{tuple(self.weight.shape)}, {tuple(self.readout.shape)} and {self.mask.weight.shape}, "
                f"{self.mask.readout.shape}"
            )
        # float copies for the in-place masking after every step: a bool mask would be cast on every call
        self.keep, self.readout_keep, self.deep_keep = self.mask.keep(device)
        self.output_scale = self.parameterization.output_scale(self.readout.shape[-1])
        self.apply_masks()

    @classmethod
    def stack(cls, networks: list[Network], *, activation: str, parameterization, device) -> Ensemble:
        """The members' networks as one ensemble on ``device`` (which zeroes their pruned weights)."""

        def stacked(layers):
            return [np.stack(members) for members in zip(*layers, strict=True)]

        return cls(
            np.stack([n.weight for n in networks]),
            np.stack([n.readout for n in networks]),
            Mask.stack([n.mask for n in networks]),
            bias=np.stack([n.bias for n in networks]) if networks[0].bias is not None else None,
            deep=stacked([n.deep for n in networks]),
            deep_bias=stacked([n.deep_bias for n in networks]),
            norm=[
                Normalization(*(np.stack([getattr(one, field) for one in layer]) for field in NORM_START))
                for layer in zip(*(n.norm for n in networks), strict=True)
            ],
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

    def _parameters(self) -> dict[str, torch.Tensor]:
        """Every parameter by its name (``initial_parameters``'): the hidden layers' weights and biases
        (when the network has biases), the readout, then any normalization's scales and shifts."""
        named = named_parameters([self.weight, *self.deep], [self.bias, *self.deep_bias], self.readout)
        return named | norm_state(self.norm, trained_only=True)

    def trained(self) -> dict[str, torch.Tensor]:
        """The trained parameters by name: ``weight``, ``bias`` (if any), a deeper network's ``weight_l`` and
        ``bias_l`` and, when the parameterization trains it, ``readout``."""
        parameters = self._parameters()
        if not self.parameterization.trains_readout:
            del parameters["readout"]
        return parameters

    def parameters(self) -> list[torch.Tensor]:
        """The trained parameters (``trained``), in that order."""
        return list(self.trained().values())

    def learning_rates(self, learning_rate: float) -> dict[str, float]:
        """Each trained parameter's learning rate, by the names of ``trained`` (a deeper layer's weights and
        biases at the first layer's rates)."""
        K, D = self.weight.shape[1:]
        weight, bias, readout = self.parameterization.learning_rates(learning_rate, width=K, n_inputs=D)
        return {
            name: readout if name == "readout" else bias if name.startswith("bias") else weight
            for name in self.trained()
        }

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero the pruned weights in place."""
        self.weight.mul_(self.keep)
        for layer, keep in zip(self.deep, self.deep_keep, strict=True):
            layer.mul_(keep)
        if self.readout_keep is not None:
            self.readout.mul_(self.readout_keep)

    def _normalized(self, inputs: torch.Tensor, layer: int, batch_statistics: bool) -> torch.Tensor:
        """Layer ``layer``'s (0-based; the readout last) inputs (E, B, n), normalized when the network has
        batch normalization: by the batch's own mean and (biased) variance in training, by the fitted ones
        otherwise."""
        if not self.norm:
            return inputs
        norm = self.norm[layer]
        if batch_statistics:
            var, mean = torch.var_mean(inputs, dim=-2, correction=0)
            norm = Normalization(norm.scale, norm.shift, mean, var)
        return norm.apply(inputs)

    def _layer_inputs(self, x: torch.Tensor, batch_statistics: bool):
        """What each layer reads before its normalization, lazily: x, then h_1, ..., h_L (each (E, B, n))."""
        biases = [None] * (1 + len(self.deep)) if self.bias is None else [self.bias, *self.deep_bias]
        hidden = x
        yield hidden
        for layer, (weight, bias) in enumerate(zip([self.weight, *self.deep], biases, strict=True)):
            inputs = self._normalized(hidden, layer, batch_statistics)
            hidden = self.sigma(preactivation(inputs, weight, None if bias is None else bias[:, None, :]))
            yield hidden

    def forward(self, x: torch.Tensor, *, batch_statistics: bool = False) -> torch.Tensor:
        """f of every member on its own inputs: x of shape (E, B, D) -> (E, B), or (E, B, C) for C outputs.

        The pruned weights are zero (the constructor and ``apply_masks``, after every optimizer step, keep
        them so), so the forward pass needs no mask: a pruned weight's gradient is wiped with its update.
        ``batch_statistics``: batch normalization by each batch's own statistics (a training step).
        """
        *_, last = self._layer_inputs(x, batch_statistics)
        outputs = readout_sum if self.n_outputs == 1 else readout_sums
        return outputs(self._normalized(last, len(self.deep) + 1, batch_statistics), self.readout, self.output_scale)

    @torch.no_grad()
    def fit_normalization(self, inputs: list[torch.Tensor], *, chunk: int = 8192) -> None:
        """Set each normalization's ``mean`` and ``var`` to its layer input's over ``inputs``, every
        member's own training set (N, D) of one size N, layer by layer: a layer's inputs are computed
        with the layers below normalized by their statistics just fitted, as evaluation will compute them."""
        sizes = {len(member) for member in inputs}
        if len(sizes) != 1 or len(inputs) != self.size:
            raise ValueError(f"need one training set per member ({self.size}), all of one size, got sizes {sizes}")
        size = sizes.pop()
        device = self.weight.device
        for layer, norm in enumerate(self.norm):
            total = torch.zeros(norm.mean.shape, dtype=torch.float64, device=device)
            squares = torch.zeros_like(total)
            for start in range(0, size, chunk):
                x = torch.stack([member[start : start + chunk] for member in inputs]).to(device)
                read = next(itertools.islice(self._layer_inputs(x, False), layer, None)).double()
                total += read.sum(dim=1)
                squares += (read * read).sum(dim=1)
            mean = total / size
            norm.mean.copy_(mean)
            norm.var.copy_((squares / size - mean * mean).clamp_(min=0.0))

    def state(self) -> dict[str, torch.Tensor]:
        """A copy of the parameters and of any normalization's statistics, by the names of
        ``initial_parameters``."""
        named = self._parameters() | norm_state(self.norm)
        return {name: parameter.detach().clone() for name, parameter in named.items()}


def member_of(state: dict[str, torch.Tensor], index: int, like: Network) -> Network:
    """Member ``index`` of an ensemble's ``state()`` as a float64 Network with ``like``'s masks."""
    member = {name: value[index].detach().cpu().double().numpy() for name, value in state.items()}
    return Network.from_state(member, like.mask)


def _as_parameterization(value) -> Parameterization:
    return value if isinstance(value, Parameterization) else parameterization(value)
