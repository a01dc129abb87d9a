"""The round schema: the one definition of what a round file holds and how it is encoded.

A round file is one IMP round of one (variant, replicate): a Dataset with length-1 dims
``variant``, ``replicate``, ``round`` and the variables of ``VARIABLES`` (dims, CF ``long_name``
and ``units``).  ``encode_round`` builds it from a ``RoundRecord``; ``decode_round`` checks and
decodes what was read.  ``cavitykit cumulants`` adds a file of ``CUMULANT_VARIABLES``.  Every
variable, dimension and attribute is documented in ``docs/runs.md``.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass

import numpy as np
import xarray as xr

from cavitykit._version import __version__
from cavitykit.network.formulas import Normalization, folded_layers
from cavitykit.network.mask import Mask

# Version tag of the layout below; bump it when a variable changes meaning or dims.
SCHEMA = "cavitykit.imp.round/1"
CONVENTIONS = "CF-1.8"
# The readout's variables: over ``neuron`` for one output, over (``output``, ``neuron``) for a readout of C
# outputs (C > 2 classes); ``VARIABLES`` gives the one-output dims.
READOUT_VARIABLES = ("readout", "init_readout", "readout_mask", "readout_pruned_next", "snapshot_readout")
# Boolean variables are stored as uint8 flags (netCDF has no boolean type).
BOOLEAN_FLAG = {"flag_values": np.array([0, 1], dtype=np.uint8), "flag_meanings": "false true"}

WEIGHTS = ("neuron", "input")
PER_CLASS = ("label", "neuron")
# A deeper network's hidden layers 2..L, stacked along ``layer`` and padded to the widest (NaN weights,
# false flags beyond a layer's own shape, which its ``layer_width`` and ``layer_fan_in`` coordinates give);
# its readout's units are the last layer's, ``last_neuron``.
LAYERS = ("layer", "layer_neuron", "layer_input")
LAYER_VARIABLES = (
    "layer_weight",
    "layer_mask",
    "layer_init_weight",
    "layer_pruned_next",
    "layer_bias",
    "layer_init_bias",
)
# Batch normalization of each layer's input (layers 1..L, then the readout, along ``norm_layer``), padded
# to the widest input (NaN beyond a layer's ``norm_fan_in``).
NORMS = ("norm_layer", "norm_input")
NORM_VARIABLES = ("norm_scale", "norm_shift", "norm_mean", "norm_var", "init_norm_scale", "init_norm_shift")
# name: (dims inside one round, long_name); every variable is dimensionless (units "1").
VARIABLES = {
    "weight": (WEIGHTS, "trained first-layer weights (masked)"),
    "mask": (WEIGHTS, "first-layer mask: true where the weight is kept"),
    "init_weight": (WEIGHTS, "first-layer weights at the rewind point"),
    "bias": (("neuron",), "trained hidden biases"),
    "init_bias": (("neuron",), "hidden biases at the rewind point"),
    "readout": (("neuron",), "trained readout weights"),
    "init_readout": (("neuron",), "readout weights at the rewind point"),
    "readout_mask": (("neuron",), "readout mask: true where kept"),
    "pruned_next": (WEIGHTS, "first-layer weights the strategy removes after this round"),
    "readout_pruned_next": (("neuron",), "readout weights the strategy removes after this round"),
    "train_loss": ((), "mean training loss over the last tenth of the steps"),
    "test_accuracy": ((), "fraction of test samples classified correctly"),
    "sparsity": ((), "fraction of first-layer weights pruned"),
    "preact_variance": (PER_CLASS, "k-statistic k_2 of the pre-activation on held-out inputs of each class"),
    "preact_skewness": (PER_CLASS, "k_3 / k_2^1.5 of the pre-activation on held-out inputs of each class"),
    "preact_excess_kurtosis": (PER_CLASS, "k_4 / k_2^2 of the pre-activation on held-out inputs of each class"),
    "ipr": (("neuron",), "inverse participation ratio sum w^4 / (sum w^2)^2 of the unit's weights"),
    "cavity_exact": (
        ("label", *WEIGHTS),
        "exact change of the pre-activation excess kurtosis when the weight is removed",
    ),
    "cavity_expansion": (
        ("label", "approx_order", *WEIGHTS),
        "truncated-expansion change of the pre-activation excess kurtosis",
    ),
    "cavity_theory": (
        ("label", *WEIGHTS),
        "independent-input prediction of the change of the pre-activation excess kurtosis",
    ),
    "theory_excess_kurtosis": (PER_CLASS, "independent-input prediction kappa_x IPR of the excess kurtosis"),
    "snapshot_weight": (("time", *WEIGHTS), "first-layer weights at training time t (NaN before the round began)"),
    "snapshot_bias": (("time", "neuron"), "hidden biases at training time t (NaN before the round began)"),
    "snapshot_readout": (("time", "neuron"), "readout weights at training time t (NaN before the round began)"),
    "layer_weight": (LAYERS, "trained weights of the hidden layers after the first (masked)"),
    "layer_mask": (LAYERS, "mask of the hidden layers after the first: true where the weight is kept"),
    "layer_init_weight": (LAYERS, "weights of the hidden layers after the first at the rewind point"),
    "layer_pruned_next": (LAYERS, "weights of the hidden layers after the first the strategy removes after this round"),
    "layer_bias": (LAYERS[:2], "trained biases of the hidden layers after the first"),
    "layer_init_bias": (LAYERS[:2], "biases of the hidden layers after the first at the rewind point"),
    "norm_scale": (NORMS, "trained batch-normalization scale gamma of each layer's input feature"),
    "norm_shift": (NORMS, "trained batch-normalization shift beta of each layer's input feature"),
    "norm_mean": (NORMS, "mean of each layer's input feature over the training set (evaluation statistics)"),
    "norm_var": (NORMS, "variance of each layer's input feature over the training set (evaluation statistics)"),
    "init_norm_scale": (NORMS, "batch-normalization scale at the rewind point"),
    "init_norm_shift": (NORMS, "batch-normalization shift at the rewind point"),
}
# The variables computed from a trained network on held-out inputs (the runner's ``round_statistics``),
# so the ones a round stored under other analysis settings has replaced when the runner re-measures it.
MEASURED = (
    "preact_variance",
    "preact_skewness",
    "preact_excess_kurtosis",
    "ipr",
    "cavity_exact",
    "cavity_expansion",
    "cavity_theory",
    "theory_excess_kurtosis",
)
# The boolean flags among them: a round a member has not written reads False (kept nothing, pruned
# nothing); which rounds exist is read from test_accuracy (NaN where missing).
BOOLEANS = ("mask", "readout_mask", "pruned_next", "readout_pruned_next", "layer_mask", "layer_pruned_next")
CUMULANT_DIMS = ("variant", "replicate", "round", "sample_set", "neuron", "order")
CUMULANT_VARIABLES = {
    "preact_kstat": "k-statistic k_n of the pre-activation",
    "preact_cumulant": "standardized cumulant k_n / k_2^(n/2) of the pre-activation",
    "preact_kstat_se": "batch-means standard error of preact_kstat",
    "preact_cumulant_se": "batch-means standard error of preact_cumulant",
}


@dataclass(frozen=True)
class RoundRecord:
    """What one round of one (variant, replicate) stores, as numpy arrays (K units, D inputs).

    Parameters
    ----------
    variant : str
    replicate, round_index : int
    weight, mask, init_weight, pruned_next : ndarray of shape (K, D)
        Trained weights (zero where pruned), the boolean mask, the weights at the rewind
        point (masked) and what the strategy removes after this round.
    readout, init_readout : ndarray of shape (K,), or (C, K) for a readout of C outputs (K_L, the last hidden
        layer's width, for a deeper network)
    readout_mask : ndarray of bool, shape of ``readout``
        All true when the readout is not prunable.
    train_loss, test_accuracy : float
    preact_variance, preact_skewness, preact_excess_kurtosis : ndarray of shape (n_classes, K)
        k_2, k_3 / k_2^1.5 and k_4 / k_2^2 of each unit's pre-activation on held-out inputs of
        each class; NaN for units with no weight left.
    ipr : ndarray of shape (K,)
    bias, init_bias : ndarray of shape (K,), optional
        Hidden biases, when the network has them.
    readout_pruned_next : ndarray of bool, shape of ``readout``, optional
        When the readout is prunable.
    cavity_exact : ndarray of shape (n_classes, K, D), optional
    cavity_expansion : ndarray of shape (n_classes, n_orders, K, D), optional
        Together with ``cavity_exact`` when the run computes cavity effects.
    cavity_theory : ndarray of shape (n_classes, K, D), optional
    snapshot_time : ndarray of shape (T,), optional
        Training times t = steps / D of the snapshots, counted from the start of round 0.
    snapshot_weight : ndarray of shape (T, K, D), optional
    snapshot_bias, snapshot_readout : ndarray of shape (T, K) and (T, *readout.shape), optional
        The parameters at those times (NaN before this round's rewind point); the bias with biases.
    theory_excess_kurtosis : ndarray of shape (n_classes, K), optional
        The independent-input predictions (``cavitykit.cavity.independent_theory``) of the change
        and of the excess kurtosis itself, kappa_x IPR, with the class's pixel excess kurtosis
        kappa_x; with the cavity effects.
    layer_weight, layer_mask, layer_init_weight, layer_pruned_next : ndarray of shape (L - 1, K_max, K_max'), optional
        A deeper network's hidden layers 2..L as ``padded_layers`` stacks them; the biases
        ``layer_bias``, ``layer_init_bias`` of shape (L - 1, K_max) with biases.
    norm_scale, norm_shift, norm_mean, norm_var, init_norm_scale, init_norm_shift : ndarray, optional
        Of shape (L + 1, n_max): with batch normalization, that of the inputs of layers 1..L and of the
        readout, stacked by ``padded_layers``: trained, fitted on the training set, and at the rewind point.

    Examples
    --------
    >>> import numpy as np
    >>> import dataclasses
    >>> [field.name for field in dataclasses.fields(RoundRecord)][:5]
    ['variant', 'replicate', 'round_index', 'weight', 'mask']
    """

    variant: str
    replicate: int
    round_index: int
    weight: np.ndarray
    mask: np.ndarray
    init_weight: np.ndarray
    readout: np.ndarray
    init_readout: np.ndarray
    readout_mask: np.ndarray
    pruned_next: np.ndarray
    train_loss: float
    test_accuracy: float
    preact_variance: np.ndarray
    preact_skewness: np.ndarray
    preact_excess_kurtosis: np.ndarray
    ipr: np.ndarray
    bias: np.ndarray | None = None
    init_bias: np.ndarray | None = None
    readout_pruned_next: np.ndarray | None = None
    cavity_exact: np.ndarray | None = None
    cavity_expansion: np.ndarray | None = None
    cavity_theory: np.ndarray | None = None
    theory_excess_kurtosis: np.ndarray | None = None
    snapshot_time: np.ndarray | None = None
    snapshot_weight: np.ndarray | None = None
    snapshot_bias: np.ndarray | None = None
    snapshot_readout: np.ndarray | None = None
    layer_weight: np.ndarray | None = None
    layer_mask: np.ndarray | None = None
    layer_init_weight: np.ndarray | None = None
    layer_pruned_next: np.ndarray | None = None
    layer_bias: np.ndarray | None = None
    layer_init_bias: np.ndarray | None = None
    norm_scale: np.ndarray | None = None
    norm_shift: np.ndarray | None = None
    norm_mean: np.ndarray | None = None
    norm_var: np.ndarray | None = None
    init_norm_scale: np.ndarray | None = None
    init_norm_shift: np.ndarray | None = None


def padded_layers(layers, fill) -> np.ndarray | None:
    """Arrays of the hidden layers 2..L (each (K_l, K_(l-1)), or (K_l,) for biases) stacked along a first
    ``layer`` axis, padded with ``fill`` to the widest; None for no layer (one hidden layer).

    Examples
    --------
    >>> padded_layers([np.ones((2, 3)), np.ones((1, 2))], np.nan)[1]
    array([[ 1.,  1., nan],
           [nan, nan, nan]])
    """
    if not layers:
        return None
    shape = tuple(max(sizes) for sizes in zip(*(layer.shape for layer in layers), strict=True))
    stacked = np.full((len(layers), *shape), fill, dtype=np.result_type(layers[0], fill))
    for index, layer in enumerate(layers):
        stacked[(index, *(slice(0, size) for size in layer.shape))] = layer
    return stacked


def stored_layers(one: xr.Dataset, name: str) -> tuple[np.ndarray, ...]:
    """The hidden layers 2..L of one stored network (a round selected down to its own dims) that ``name``
    (one of ``LAYER_VARIABLES``) holds, each unpadded to its (K_l, K_(l-1)) (or (K_l,)); () for one hidden layer.

    Examples
    --------
    >>> from cavitykit.io.store import read_round, round_path
    >>> from cavitykit.testing import example_run
    >>> one = read_round(round_path(example_run(), "nlgp", 0, 0)).isel(variant=0, replicate=0, round=0)
    >>> stored_layers(one, "layer_mask")  # a network of one hidden layer
    ()
    """
    if name not in one:
        return ()
    values = one[name].transpose("layer", *(dim for dim in LAYERS[1:] if dim in one[name].dims)).values
    widths, fan_ins = one["layer_width"].values, one["layer_fan_in"].values
    if values.ndim == 2:
        return tuple(values[index, :width] for index, width in enumerate(widths))
    return tuple(
        values[index, :width, :fan_in] for index, (width, fan_in) in enumerate(zip(widths, fan_ins, strict=True))
    )


# What each coordinate of a round file counts (its ``long_name``).
COORDINATE_NAMES = {
    "variant": "data variant: a model or its Gaussian clone",
    "replicate": "replicate: the initialization and data draw",
    "round": "IMP round: 0 dense, t after t prunings",
    "neuron": "hidden unit",
    "input": "input pixel, flat index (rows in C order)",
    "label": "class",
    "x": "pixel column (on a ring, the site)",
    "y": "pixel row",
    "dropped": "pixel constant over the training images, left out of the inputs",
    "output": "readout output",
    "approx_order": "truncation order of the cavity expansion",
    "time": "training time steps / D, from the start of round 0",
    "layer": "hidden layer after the first: 2 reads the first hidden layer",
    "layer_neuron": "unit of a hidden layer after the first",
    "layer_input": "unit of the layer below",
    "layer_width": "units of the hidden layer",
    "layer_fan_in": "units of the layer below",
    "last_neuron": "unit of the last hidden layer, which the readout reads",
    "norm_layer": "layer whose input is batch-normalized: 1..L the hidden layers, L + 1 the readout",
    "norm_input": "feature of a layer's input (a pixel for layer 1, a unit of the layer below after)",
    "norm_fan_in": "features of the layer's input",
}


def pixel_coordinates(shape: tuple[int, ...]) -> dict:
    """Coordinates of the ``input`` dim: ``x`` (the column; on a ring, the site) and, on a grid of shape
    (H, W), ``y`` (the row) of each pixel, rows in C order.

    Examples
    --------
    >>> coords = pixel_coordinates((2, 3))  # 2 rows of 3, rows in C order
    >>> coords["x"][1].tolist(), coords["y"][1].tolist()
    ([0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1])
    """
    index = np.arange(int(np.prod(shape)))
    if len(shape) == 2:
        return {"x": ("input", index % shape[1]), "y": ("input", index // shape[1])}
    return {"x": ("input", index)}


def first_layer_sparsity(mask: np.ndarray, dropped: np.ndarray) -> float:
    """The fraction of first-layer weights pruned, counting only the weights on pixels not ``dropped``.

    Parameters
    ----------
    mask : ndarray of bool, shape (K, D)
    dropped : ndarray of bool, shape (D,)

    Examples
    --------
    >>> mask = np.array([[False, True, False, False], [False, True, True, False]])
    >>> first_layer_sparsity(mask, np.array([True, False, False, True]))  # 1 of the 4 live weights pruned
    0.25
    """
    return 1.0 - float(np.mean(mask[:, ~dropped]))


def encode_round(record: RoundRecord, config, *, data_description: dict, dropped=None) -> xr.Dataset:
    """One round as the Dataset its file holds.

    Parameters
    ----------
    record : RoundRecord
    config : RunConfig
        The run's config (its TOML text and hash are stored; ``data.L``, ``data.dim``,
        ``data.xi`` and ``analysis.expansion_orders`` label the data).
    data_description : dict
        What the data are (``cavitykit.imp.runner.data_description``), stored as ``data_*`` attributes.
    dropped : ndarray of bool, shape (D,), optional
        Pixels left out of the inputs (the data table's ``dropped_pixels()``), stored as the
        ``dropped`` coordinate of ``input`` when there are any; ``sparsity`` counts the others' weights.
        None: no pixel.

    Returns
    -------
    xarray.Dataset
        Dims ``variant``, ``replicate``, ``round`` (length 1), ``neuron`` (K), ``input`` (D),
        ``label`` (classes), with a readout of C outputs ``output``, with cavity effects
        ``approx_order``, with snapshots ``time``; for a deeper network ``layer``, ``layer_neuron``,
        ``layer_input`` and the readout's ``last_neuron``.

    Examples
    --------
    >>> from cavitykit.io.store import read_round, round_path
    >>> from cavitykit.testing import example_run
    >>> ds = read_round(round_path(example_run(), "nlgp", 0, 0))  # what encode_round wrote
    >>> ds.attrs["cavitykit_schema"]
    'cavitykit.imp.round/1'
    """
    values = {name: getattr(record, name) for name in VARIABLES if name != "sparsity"}
    dropped = np.zeros(config.data.D, dtype=bool) if dropped is None else np.asarray(dropped, dtype=bool)
    values["sparsity"] = first_layer_sparsity(record.mask, dropped)
    values["init_weight"] = record.init_weight * record.mask
    n_units = record.weight.shape[0]
    outputs = record.readout.ndim == 2
    deep = record.layer_weight is not None
    if deep:
        values["layer_init_weight"] = record.layer_init_weight * record.layer_mask
    readout_units = "last_neuron" if deep else "neuron"

    def dims(name):
        if name in READOUT_VARIABLES:
            inner = ("output", readout_units) if outputs else (readout_units,)
            return (*(d for d in VARIABLES[name][0] if d != "neuron"), *inner)
        return VARIABLES[name][0]

    dataset = xr.Dataset(
        {
            name: (dims(name), value, {"long_name": VARIABLES[name][1], "units": "1"})
            for name, value in values.items()
            if value is not None
        },
        coords={
            "neuron": np.arange(n_units),
            "input": np.arange(config.data.D),
            "label": np.arange(record.preact_variance.shape[0]),
            **pixel_coordinates(config.data.grid),
            **({"dropped": ("input", dropped)} if dropped.any() else {}),
        },
    )
    if outputs:
        dataset = dataset.assign_coords(output=np.arange(len(record.readout)))
    if deep:
        dataset = dataset.assign_coords(_layer_coordinates(config.network.widths))
    if record.norm_scale is not None:
        fan_ins = (config.data.D, *config.network.widths)
        dataset = dataset.assign_coords(
            norm_layer=np.arange(1, len(fan_ins) + 1),
            norm_fan_in=("norm_layer", np.array(fan_ins)),
            norm_input=np.arange(max(fan_ins)),
        )
    if record.cavity_expansion is not None:
        dataset = dataset.assign_coords(approx_order=np.array(config.analysis.expansion_orders))
    if record.snapshot_weight is not None:
        dataset = dataset.assign_coords(time=("time", record.snapshot_time, {"units": "1"}))
    dataset = dataset.expand_dims(variant=[record.variant], replicate=[record.replicate], round=[record.round_index])
    for name, long_name in COORDINATE_NAMES.items():
        if name in dataset.coords:
            dataset[name].attrs = {**dataset[name].attrs, "long_name": long_name}
    dataset.attrs = {
        "Conventions": CONVENTIONS,
        "title": f"cavitykit IMP round {record.round_index} ({record.variant}, replicate {record.replicate})",
        "history": f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} cavitykit {__version__} run",
        "source": f"cavitykit {__version__}",
        "cavitykit_schema": SCHEMA,
        "cavitykit_version": __version__,
        "config": config.to_toml(),
        "config_hash": config.hash,
        **{f"data_{key}": str(value) for key, value in data_description.items()},
        "data_model": record.variant,
    }
    if config.data.periodic:  # the synthetic models' correlation lengths, class 0 and class 1
        dataset.attrs["data_xi"] = f"{config.data.xi[0]} {config.data.xi[1]}"
    return dataset


def _layer_coordinates(widths: tuple[int, ...]) -> dict:
    """The coordinates of a deeper network's ``layer`` dims from its hidden widths (first to last): each
    layer's number, width and fan-in."""
    return {
        "layer": np.arange(2, len(widths) + 1),
        "layer_width": ("layer", np.array(widths[1:])),
        "layer_fan_in": ("layer", np.array(widths[:-1])),
        "layer_neuron": np.arange(max(widths[1:])),
        "layer_input": np.arange(max(widths[:-1])),
        "last_neuron": np.arange(widths[-1]),
    }


def stored_mask(one: xr.Dataset) -> Mask:
    """The mask of one stored network (a round selected down to its ``neuron`` and ``input`` dims); its
    readout is prunable when the round says what the readout loses next.

    Examples
    --------
    >>> from cavitykit.io.store import read_round, round_path
    >>> from cavitykit.testing import example_run
    >>> one = read_round(round_path(example_run(), "nlgp", 0, 1)).isel(variant=0, replicate=0, round=0)
    >>> mask = stored_mask(one)
    >>> mask.weight.shape, mask.prunes_readout, round(mask.sparsity, 2)
    ((8, 40), False, 0.3)
    """
    return Mask(
        one["mask"].values.astype(bool),
        one["readout_mask"].values.astype(bool),
        prunes_readout="readout_pruned_next" in one,
        deep=tuple(layer.astype(bool) for layer in stored_layers(one, "layer_mask")),
    )


def stored_norm(one: xr.Dataset, prefix: str = "") -> tuple[Normalization, ...]:
    """The batch normalizations of the inputs of layers 1..L and of the readout of one stored network (a
    round selected down to its own dims), each unpadded to its fan-in: trained (``prefix`` '') or at the
    rewind point ('init_', whose statistics, refitted after every training, are the initial ones); () without."""
    if "norm_scale" not in one:
        return ()
    fan_ins = one["norm_fan_in"].values

    def rows(name):
        values = one[name].transpose(*NORMS).values
        return [values[index, :fan_in] for index, fan_in in enumerate(fan_ins)]

    if prefix:
        statistics = ([np.zeros(n) for n in fan_ins], [np.ones(n) for n in fan_ins])
    else:
        statistics = (rows("norm_mean"), rows("norm_var"))
    fields = (rows(f"{prefix}norm_scale"), rows(f"{prefix}norm_shift"), *statistics)
    return tuple(Normalization(*layer) for layer in zip(*fields, strict=True))


def first_layer_fields(ds: xr.Dataset) -> xr.DataArray:
    """The first layer's weights as they act on the pixels: ``weight``, or with batch normalization each
    pixel's weights times its normalization's scale / sqrt(var + eps) (``Normalization.fold``), which gives
    the pre-activation's every cumulant but the mean.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())
    >>> first_layer_fields(ds).identical(ds.weight)  # no batch normalization
    True
    """
    if "norm_scale" not in ds:
        return ds.weight
    pixels = ds.isel(norm_layer=0, norm_input=slice(0, ds.sizes["input"]), drop=True)
    factor = Normalization(pixels.norm_scale, pixels.norm_shift, pixels.norm_mean, pixels.norm_var).factor()
    return ds.weight * factor.rename(norm_input="input").assign_coords(input=ds.input)


def stored_hidden_layers(one: xr.Dataset) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray] | None]:
    """Every hidden layer 1..L of one stored trained network (a round selected down to its own dims): the
    weights (K_l, K_(l-1)) with pruned ones zero, the masks, and the biases (K_l,) (None without biases).
    With batch normalization, the weights and biases evaluation computes from the raw layer below
    (``Normalization.fold``: biases then never None).

    Examples
    --------
    >>> from cavitykit.io.store import read_round, round_path
    >>> from cavitykit.testing import example_run
    >>> one = read_round(round_path(example_run(), "nlgp", 0, 1)).isel(variant=0, replicate=0, round=0)
    >>> weights, masks, biases = stored_hidden_layers(one)
    >>> [w.shape for w in weights], bool((weights[0][~masks[0]] == 0).all()), biases[0].shape
    ([(8, 40)], True, (8,))
    """
    masks = [one["mask"].values.astype(bool), *(layer.astype(bool) for layer in stored_layers(one, "layer_mask"))]
    weights = [one["weight"].values, *stored_layers(one, "layer_weight")]
    biases = [one["bias"].values, *stored_layers(one, "layer_bias")] if "bias" in one else None
    weights = [np.where(mask, weight, 0.0) for weight, mask in zip(weights, masks, strict=True)]
    norm = stored_norm(one)
    if norm:
        weights, biases = folded_layers(norm, weights, biases)
    return weights, masks, biases


def stored_pruning(one: xr.Dataset) -> list[np.ndarray]:
    """What one stored network's strategy removes after its round, per prunable layer (``Mask.layers``)."""
    pruned = [one["pruned_next"].values.astype(bool)]
    pruned += [layer.astype(bool) for layer in stored_layers(one, "layer_pruned_next")]
    if "readout_pruned_next" in one:
        readout = one["readout_pruned_next"].values.astype(bool)
        pruned.append(readout.reshape(-1, readout.shape[-1]))
    return pruned


def rounds_present(ds: xr.Dataset) -> str:
    """Which rounds each member (variant, replicate) of a run has written, as text: the identity a file
    derived from the run (``cumulants.nc``) records, to be recomputed when the run has moved on.

    Examples
    --------
    >>> import numpy as np
    >>> accuracy = xr.DataArray([[[0.9, 0.8, np.nan]]], dims=("variant", "replicate", "round"),
    ...                         coords={"variant": ["nlgp"], "replicate": [0], "round": [0, 1, 2]})
    >>> rounds_present(xr.Dataset({"test_accuracy": accuracy}))
    'nlgp/0: 0 1'
    """
    present = ds.test_accuracy.transpose("variant", "replicate", "round").notnull().values
    rounds = ds["round"].values
    return "; ".join(
        f"{variant}/{replicate}: " + " ".join(str(int(r)) for r in rounds[present[v, i]])
        for v, variant in enumerate(ds.variant.values)
        for i, replicate in enumerate(ds.replicate.values)
    )


def missing_as_false(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with its boolean flags (``BOOLEANS``) boolean again where joining members of different
    lengths filled them with NaN: False there.

    Examples
    --------
    >>> import numpy as np
    >>> missing_as_false(xr.Dataset({"mask": ("round", [1.0, np.nan])})).mask.values
    array([ True, False])
    """
    flags = {name: ds[name].fillna(False).astype(bool) for name in BOOLEANS if name in ds and ds[name].dtype != bool}
    return ds.assign(flags)


def encode_booleans(dataset: xr.Dataset) -> xr.Dataset:
    """Boolean variables as uint8 flags with CF ``flag_values``/``flag_meanings`` (netCDF has no bool).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> encoded = encode_booleans(xr.Dataset({"mask": ("input", np.array([True, False]))}))
    >>> encoded.mask.dtype, encoded.mask.attrs["flag_meanings"]
    (dtype('uint8'), 'false true')
    """
    dataset = dataset.copy()
    for name, variable in dataset.data_vars.items():
        if variable.dtype == bool:
            dataset[name] = variable.astype(np.uint8).assign_attrs(variable.attrs | BOOLEAN_FLAG)
    return dataset


def decode_booleans(dataset: xr.Dataset) -> xr.Dataset:
    """The inverse of ``encode_booleans`` (flags holding no missing value become bool again).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> ds = xr.Dataset({"mask": ("input", np.array([True, False]))})
    >>> decode_booleans(encode_booleans(ds)).mask.values
    array([ True, False])
    """
    for name, variable in dataset.data_vars.items():
        # Integer flags (as read from a file) cannot be missing; after an outer join they may be.
        holds_missing = not np.issubdtype(variable.dtype, np.integer) and variable.isnull().any()
        if variable.attrs.get("flag_meanings") == BOOLEAN_FLAG["flag_meanings"] and not holds_missing:
            decoded = variable.astype(bool)
            decoded.attrs = {key: value for key, value in variable.attrs.items() if key not in BOOLEAN_FLAG}
            dataset[name] = decoded
    return dataset


def decode_round(dataset: xr.Dataset, *, source: str = "dataset") -> xr.Dataset:
    """Check that ``dataset`` is a cavitykit round (or cumulants) file and decode its booleans.

    Raises
    ------
    ValueError
        It has no ``cavitykit_schema`` attribute of this version; ``source`` names it.

    Examples
    --------
    >>> import xarray as xr
    >>> decode_round(xr.Dataset(), source="my.nc")
    Traceback (most recent call last):
    ...
    ValueError: ...
    """
    if dataset.attrs.get("cavitykit_schema") != SCHEMA:
        raise ValueError(f"{source} is not a cavitykit round file (no cavitykit_schema={SCHEMA!r} attribute)")
    return decode_booleans(dataset)


def run_config(ds: xr.Dataset) -> dict:
    """The run's config as nested dicts, parsed from the ``config`` attribute every round file carries
    (``cavitykit.config.stored_values``: only the data keys of its source).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> run_config(open_run(example_run()))["imp"]["rounds"]
    3
    """
    from cavitykit.config import stored_values  # a stored config as this version reads it

    return stored_values(tomllib.loads(ds.attrs["config"]))


def periodic_grid(ds: xr.Dataset) -> bool:
    """Whether a run's pixel grid wraps around (synthetic data: a ring or torus) or has edges (images,
    ``data.source = "arrays"``), from the config it stores (none stored: a synthetic run).

    Examples
    --------
    >>> periodic_grid(xr.Dataset(attrs={"config": '[data]\\nsource = "arrays"\\n'}))
    False
    """
    config = tomllib.loads(ds.attrs["config"]) if "config" in ds.attrs else {}
    return config.get("data", {}).get("source", "synthetic") == "synthetic"


def counts_per_class(ds: xr.Dataset) -> np.ndarray:
    """The number of test samples of each class, shape (C,): what a run on images stored
    (``data_test_class_counts``), or, for the synthetic tasks (balanced), ``data.n_test`` split evenly
    over the classes of the ``label`` dim.

    Examples
    --------
    >>> ds = xr.Dataset(coords={"label": [0, 1, 2]}, attrs={"data_test_class_counts": "50 30 20"})
    >>> counts_per_class(ds).tolist()
    [50.0, 30.0, 20.0]
    """
    if "data_test_class_counts" in ds.attrs:
        return np.array(ds.attrs["data_test_class_counts"].split(), dtype=float)
    n_classes = ds.sizes["label"]
    return np.full(n_classes, float(run_config(ds)["data"]["n_test"]) / n_classes)


def expansion_error(ds: xr.Dataset) -> xr.DataArray:
    """Median relative error |expansion - exact| / |exact| of the cavity expansion.

    Parameters
    ----------
    ds : xarray.Dataset
        A run with ``cavity_exact`` and ``cavity_expansion``.

    Returns
    -------
    xarray.DataArray of shape (variant, approx_order)
        Over every replicate, round, class and unpruned weight (a weights file keeps it as the variable
        ``expansion_error``, the expansions themselves left out).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())  # 2 variants x 2 replicates x 3 rounds
    >>> error = expansion_error(ds)  # (variant, approx_order)
    >>> bool((error.sel(approx_order=3) < error.sel(approx_order=1)).all())
    True
    """
    exact = ds.cavity_exact
    error = np.abs(ds.cavity_expansion - exact) / np.abs(exact)
    return error.median(("replicate", "round", "label", "neuron", "input"), skipna=True)


def seen_pixels(ds: xr.Dataset) -> np.ndarray:
    """(D,) bool: the pixels a run's networks see, all but those its ``dropped`` coordinate marks (constant
    image pixels); the support of every null that places weights at random.

    Examples
    --------
    >>> seen_pixels(xr.Dataset(coords={"input": range(3), "dropped": ("input", [True, False, False])})).tolist()
    [False, True, True]
    """
    if "dropped" in ds.coords:
        return ~ds["dropped"].values.astype(bool)
    return np.ones(ds.sizes["input"], dtype=bool)


def grid_shape(ds: xr.Dataset) -> tuple[int, ...]:
    """Pixel grid of a run's inputs, (L,) or (rows, columns), from the ``x`` (and ``y``) coordinates.

    Examples
    --------
    >>> grid_shape(xr.Dataset(coords=pixel_coordinates((4, 5)) | {"input": range(20)}))
    (4, 5)
    """
    if "y" in ds.coords:
        return (int(ds.y.max()) + 1, int(ds.x.max()) + 1)
    return (ds.sizes["input"],)
