"""Two-layer fully connected network with boolean masks (Ingrosso-Goldt scaling), in torch.

f(x) = sum_k v_k sigma(w_k . x / sqrt(D) + b_k) / sqrt(K), sigma = erf(. / sqrt 2) or ReLU.
The first-layer mask (and optionally a readout mask) are our own boolean buffers:
masked weights are multiplied out in the forward pass and zeroed in the parameters
after every optimizer step, so they stay exactly zero.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cavitykit._validation import check_choice, check_int, check_real
from cavitykit.fcn import ACTIVATION_NAMES, BIAS_INITS, preactivation, readout_sum

# sigma by name (``cavitykit.fcn.ACTIVATION_NAMES``), on torch tensors.
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

    Examples
    --------
    >>> float(activation_function("relu")(torch.tensor(-2.0)))
    0.0
    """
    return ACTIVATIONS[check_choice("activation", name, ACTIVATION_NAMES)]


def initial_parameters(
    n_inputs: int, width: int, *, init_scale=1.0, bias=False, bias_init="zero", generator=None
) -> dict[str, torch.Tensor]:
    """Initial parameters of the two-layer network, drawn in a fixed order from ``generator``.

    Parameters
    ----------
    n_inputs, width : int
        D and K.
    init_scale : float
        Standard deviation of the weights w_ki and of the readout v_k (both Gaussian).
    bias : bool
        Include hidden biases.
    bias_init : {'zero', 'split'}
        'split' sets b_k = +1 on the first half of the units and -1 on the second (the
        Ingrosso-Goldt choice: with an odd activation it breaks the x -> -x symmetry that
        would otherwise keep the network at chance on symmetric classes).
    generator : torch.Generator, optional

    Returns
    -------
    dict
        ``first.weight`` (K, D), ``readout.weight`` (1, K) and with biases ``first.bias`` (K,),
        float32: the ``state_dict`` names of ``MaskedFCN``.

    Examples
    --------
    >>> initial_parameters(3, 4, bias=True, bias_init="split")["first.bias"]
    tensor([ 1.,  1., -1., -1.])
    """
    check_choice("bias_init", bias_init, BIAS_INITS)
    state = {
        "first.weight": torch.randn((width, n_inputs), generator=generator) * init_scale,
        "readout.weight": torch.randn((1, width), generator=generator) * init_scale,
    }
    if bias:
        split = torch.where(torch.arange(width) < width // 2, 1.0, -1.0)
        state["first.bias"] = split if bias_init == "split" else torch.zeros(width)
    return state


class MaskedFCN(nn.Module):
    """Two-layer FCN with a scalar output and boolean masks.

    Parameters
    ----------
    n_inputs : int
        D.
    width : int
        K hidden units.
    activation : {'erf', 'relu'}
    bias : bool
        Hidden biases b_k.
    bias_init : {'zero', 'split'}
        Their initial values (``initial_parameters``).
    init_scale : float
        Standard deviation of the initial weights w_ki and v_k.
    prune_readout : bool
        Give the readout a mask too (IMP may prune it).
    generator : torch.Generator, optional
        Source of the initial weights (deterministic runs).

    Examples
    --------
    >>> import torch
    >>> generator = torch.Generator().manual_seed(0)
    >>> net = MaskedFCN(40, 8, activation="erf", bias=True, bias_init="split", generator=generator)
    >>> net.first.bias.detach().tolist()  # +1 on the first half of the units, -1 on the second
    [1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0, -1.0]
    >>> tuple(net(torch.zeros(5, 40)).shape)
    (5,)
    """

    def __init__(
        self,
        n_inputs,
        width,
        *,
        activation="erf",
        bias=False,
        bias_init="zero",
        init_scale=1.0,
        prune_readout=False,
        generator=None,
        dtype=torch.float32,
    ):
        super().__init__()
        self.n_inputs = check_int("n_inputs", n_inputs, minimum=1)
        self.width = check_int("width", width, minimum=1)
        self.activation = check_choice("activation", activation, ACTIVATION_NAMES)
        self.sigma = activation_function(activation)
        init_scale = check_real("init_scale", init_scale, positive=True)
        self.first = nn.Linear(self.n_inputs, self.width, bias=bool(bias), dtype=dtype)
        self.readout = nn.Linear(self.width, 1, bias=False, dtype=dtype)
        self.load_state_dict(
            initial_parameters(
                self.n_inputs,
                self.width,
                init_scale=init_scale,
                bias=bool(bias),
                bias_init=bias_init,
                generator=generator,
            ),
            strict=False,
        )
        self.register_buffer("mask", torch.ones(self.width, self.n_inputs, dtype=torch.bool))
        self.register_buffer("readout_mask", torch.ones(1, self.width, dtype=torch.bool) if prune_readout else None)

    def set_mask(self, mask, readout_mask=None) -> None:
        """Install boolean masks (shape (K, D), and (1, K) or (K,) for the readout) and zero what they remove."""
        mask = torch.as_tensor(mask, device=self.mask.device)
        if mask.dtype != torch.bool or tuple(mask.shape) != tuple(self.mask.shape):
            raise ValueError(
                f"mask must be a boolean tensor of shape {tuple(self.mask.shape)}, got {mask.dtype} {tuple(mask.shape)}"
            )
        self.mask.copy_(mask)
        if readout_mask is not None:
            if self.readout_mask is None:
                raise ValueError("readout_mask given but the network was built with prune_readout=False")
            readout_mask = torch.as_tensor(readout_mask, device=self.mask.device).reshape(1, -1)
            if readout_mask.dtype != torch.bool or readout_mask.shape[1] != self.width:
                raise ValueError(f"readout_mask must be boolean with {self.width} entries, got {readout_mask.shape}")
            self.readout_mask.copy_(readout_mask)
        self.apply_masks()

    @torch.no_grad()
    def apply_masks(self) -> None:
        """Zero the masked weights in place (called after every optimizer step)."""
        self.first.weight.mul_(self.mask)
        if self.readout_mask is not None:
            self.readout.weight.mul_(self.readout_mask)

    def preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """lambda = (w * mask) x / sqrt(D) (+ b), shape (batch, K)."""
        return preactivation(x, self.first.weight * self.mask, self.first.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """f(x), shape (batch,)."""
        readout = self.readout.weight if self.readout_mask is None else self.readout.weight * self.readout_mask
        return readout_sum(self.sigma(self.preactivation(x)), readout[0])

    def to_torch_prune(self) -> None:
        """Hand the masks to ``torch.nn.utils.prune.custom_from_mask`` (for interoperability).

        Afterwards ``first.weight`` is the masked product that torch's pruning maintains.
        """
        from torch.nn.utils import prune

        prune.custom_from_mask(self.first, "weight", self.mask)
        if self.readout_mask is not None:
            prune.custom_from_mask(self.readout, "weight", self.readout_mask)
