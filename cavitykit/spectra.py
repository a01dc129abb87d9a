"""Cumulant spectra of the pre-activations of every stored round (``cavitykit cumulants RUN``).

Reads a run's files and regenerates its held-out samples from the stored config and seeds: it
needs neither torch nor the IMP engine, so the report and notebooks can call it on any run.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

import numpy as np
import xarray as xr
from tqdm import tqdm

from cavitykit._extras import require
from cavitykit._validation import as_real_array, check_finite, check_hidden_layer, check_int, check_layer_inputs
from cavitykit.arrays import load_samples
from cavitykit.buffers import Scratch
from cavitykit.config import load_stored_config, stored_config
from cavitykit.io import CONFIG_FILE, SCHEMA, open_run, run_config, write_dataset
from cavitykit.io.schema import CONVENTIONS, CUMULANT_DIMS, CUMULANT_VARIABLES, rounds_present, stored_hidden_layers
from cavitykit.network.formulas import as_scaled, hidden_activations, preactivation_formula
from cavitykit.samples import heldout_counts, member_samples
from cavitykit.stats import BatchedKstats, preactivation_statistics
from cavitykit.variants import VARIANT_INDEX, Stream, seed

N_BATCHES = 20  # batch means for the standard errors


def _check_batchable(name: str, n_samples: int, max_order: int, batches: int = N_BATCHES) -> None:
    """Raise unless each of ``batches`` equal batches of ``n_samples`` holds a sample per order (k_n needs n)."""
    needed = batches * max_order
    if n_samples < needed:
        per_batch = f"each of {batches} batches" if batches > 1 else "each batch"
        raise ValueError(
            f"{name} must be at least {needed} (a sample per order up to {max_order} in {per_batch}), got {n_samples}"
        )


def _by_unit(statistics: BatchedKstats) -> np.ndarray:
    """(4, K, max_order): k-statistics, standardized cumulants and their batch-means standard errors."""
    return np.moveaxis(statistics.summary(), 1, -1)


def _with_errors(samples: np.ndarray, weights: np.ndarray, bias, max_order: int, scratch=None) -> np.ndarray:
    """``_by_unit`` of each unit's pre-activation on (P, D) ``samples``, in ``N_BATCHES`` batches, or as many
    as hold a sample per order (a small class of test images; one batch gives no standard error)."""
    n_batches = max(1, min(N_BATCHES, len(samples) // max_order))
    return _by_unit(preactivation_statistics(samples, weights, bias, max_order, n_batches=n_batches, scratch=scratch))


def _over_live_units(weights: np.ndarray, bias, max_order: int, spectra) -> np.ndarray:
    """(4, K, max_order): ``spectra(live_weights, live_bias)`` -> (4, n_live, max_order) for the units with
    a non-zero weight, NaN for the others (with a warning that names them)."""
    alive = np.any(weights != 0, axis=1)
    out = np.full((4, weights.shape[0], max_order), np.nan)
    if not alive.all():
        dead = ", ".join(map(str, np.flatnonzero(~alive)))
        warnings.warn(f"neuron(s) {dead} have no non-zero weight: their cumulants are NaN", stacklevel=3)
    if alive.any():
        out[:, alive] = spectra(weights[alive], None if bias is None else np.asarray(bias, dtype=np.float64)[alive])
    return out


def _neuron_dataset(values: np.ndarray, attrs: dict, *, with_bias: bool, convention: str) -> xr.Dataset:
    """``kstat``, ``cumulant`` and their ``*_se`` over (neuron, order) from (4, K, max_order) values; the
    ``preactivation`` attribute states the convention and whether a bias was added."""
    return xr.Dataset(
        {
            name.removeprefix("preact_"): (("neuron", "order"), value, {"long_name": long_name, "units": "1"})
            for (name, long_name), value in zip(CUMULANT_VARIABLES.items(), values, strict=True)
        },
        coords={"neuron": np.arange(values.shape[1]), "order": np.arange(1, values.shape[2] + 1)},
        attrs={
            "Conventions": CONVENTIONS,
            "preactivation": preactivation_formula(convention, with_bias=with_bias),
            **attrs,
        },
    )


def weights_spectrum(weights, samples, *, max_order: int = 8, bias=None, convention: str = "scaled") -> xr.Dataset:
    """k-statistics and standardized cumulants of each unit's pre-activation, for weights of any origin.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        First-layer weights, e.g. from ``cavitykit.arrays.load_weights``.
    samples : array_like of shape (P, D)
        Inputs x.
    max_order : int
        Highest order n (2..8).
    bias : array_like of shape (K,), optional
    convention : {'scaled', 'linear'}
        The pre-activation the weights define: lambda = w . x / sqrt(D) + b (the runs'), or
        x . W^T + b as ``torch.nn.Linear`` computes it (``network.formulas.PREACTIVATION_CONVENTIONS``).

    Returns
    -------
    xarray.Dataset over (neuron, order)
        ``kstat`` (k_n), ``cumulant`` (k_n / k_2^(n/2)) and their batch-means standard errors
        ``kstat_se`` and ``cumulant_se`` (20 batches); NaN for units whose weights are all zero;
        attribute ``preactivation``, the convention's formula.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> spectrum = weights_spectrum(np.eye(2, 5), rng.uniform(-1, 1, (100_000, 5)), max_order=4)
    >>> round(float(spectrum.cumulant.sel(neuron=0, order=4)), 1)  # a uniform input: -6/5
    -1.2
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    weights = as_real_array("weights", weights).astype(np.float64, copy=False)
    samples = as_real_array("samples", samples)
    check_layer_inputs(weights, samples)
    weights = as_scaled(weights, convention)
    if bias is not None:
        bias = check_finite("bias", as_real_array("bias", bias).astype(np.float64, copy=False))
        if bias.shape != (weights.shape[0],):
            raise ValueError(
                f"bias must have shape ({weights.shape[0]},) to match weights {weights.shape}, got {bias.shape}"
            )
    _check_batchable("the number of samples", samples.shape[0], max_order)
    values = _over_live_units(weights, bias, max_order, lambda w, b: _with_errors(samples, w, b, max_order))
    return _neuron_dataset(values, {"n_samples": samples.shape[0]}, with_bias=bias is not None, convention=convention)


def sample_chunks(n_samples: int, chunk_size: int) -> list[tuple[int, int]]:
    """(index, size) of the chunks that streamed spectra draw: ceil(n / chunk_size) chunks of equal size
    (to within one sample), so that each chunk's own estimate weighs alike in the batch-means errors.

    Chunk i is drawn with ``numpy.random.default_rng([*seed, i])``, so the samples do not depend on
    how chunks are grouped into tasks.

    Examples
    --------
    >>> sample_chunks(10, 4)
    [(0, 4), (1, 3), (2, 3)]
    """
    n_samples = check_int("n_samples", n_samples, minimum=1)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    n_chunks = -(-n_samples // chunk_size)
    size, extra = divmod(n_samples, n_chunks)
    return [(i, size + (i < extra)) for i in range(n_chunks)]


def _chunk_statistics(weights, model, bias, max_order: int, seed_path: tuple, chunks) -> BatchedKstats:
    """The pre-activations' statistics over the sample chunks ``chunks`` ((index, size) pairs), drawn
    afresh, each chunk a batch."""
    statistics = BatchedKstats(max_order)
    for index, size in chunks:
        samples = model.sample(size, np.random.default_rng([*seed_path, index]))
        statistics.merge(preactivation_statistics(samples, weights, bias, max_order))
    return statistics


def _partition_statistics(chunks, weights, model, bias, max_order: int, seed_path: tuple) -> list[BatchedKstats]:
    """One dask bag partition of sample chunks -> a partition holding their ``BatchedKstats``."""
    return [_chunk_statistics(weights, model, bias, max_order, seed_path, chunks)]


def _merged(parts) -> BatchedKstats:
    return functools.reduce(BatchedKstats.merge, parts)


def _shared(array: np.ndarray):
    """``array`` as one input that many tasks depend on: scattered to the workers of the active
    ``dask.distributed`` client (the graph stays small), else a single delayed key."""
    dask = require("dask", "streamed spectra")
    from distributed import get_client

    try:
        return get_client().scatter(array, broadcast=True)
    except ValueError:  # no client: dask's local scheduler
        return dask.delayed(array, traverse=False)


def _streamed_statistics(weights, model, n_samples, max_order, bias, chunk_size, chunks_per_task, seed_path):
    """The lazy tree reduction (a dask ``Item``) of the ``BatchedKstats`` of every sample chunk.

    The weights enter the graph once (``_shared``), not copied into each task.
    """
    require("dask.bag", "streamed spectra")
    import dask.bag

    chunks = sample_chunks(n_samples, chunk_size)
    _check_batchable(f"the smallest chunk of chunk_size={chunk_size}", chunks[-1][1], max_order, 1)
    weights = _shared(weights)
    bias = None if bias is None else _shared(bias)
    partitions = dask.bag.from_sequence(chunks, partition_size=chunks_per_task).map_partitions(
        _partition_statistics, weights, model, bias, max_order, seed_path
    )
    return partitions.reduction(_merged, _merged, split_every=8)


def streamed_spectrum(
    weights,
    model,
    n_samples: int,
    *,
    max_order: int = 8,
    bias=None,
    chunk_size: int = 1_000_000,
    chunks_per_task: int = 1,
    seed: int = 0,
    convention: str = "scaled",
) -> xr.Dataset:
    """Cumulant spectra of each unit's pre-activation over more samples than fit in memory, on dask.

    Samples are drawn chunk by chunk from ``model`` inside dask tasks; each task returns the
    ``MomentAccumulator`` of its chunks' pre-activations (and each chunk's own k-statistics, for
    the errors), and the partial states are merged by a tree reduction (``dask.bag``).  Nothing
    but a few K x max_order arrays per chunk leaves a worker.  Runs on the active
    ``dask.distributed`` client if there is one (e.g. ``Client(LocalCluster())``), else on dask's
    local scheduler.

    Parameters
    ----------
    weights : array_like of shape (K, D)
    model : data model
        Anything with ``sample(P, rng)`` -> (P, D), e.g. ``cavitykit.data.named_model`` or ``cavitykit.data.NLGP``.
    n_samples : int
        Total samples, e.g. 10**8.
    max_order : int
        Highest order n (2..8).
    bias : array_like of shape (K,), optional
    chunk_size : int
        Most samples drawn at once (memory per task: chunk_size x (D + K) floats); every chunk
        needs at least max_order samples.
    chunks_per_task : int
        Chunks one task accumulates before handing its state back.
    seed : int
        Chunk i uses ``numpy.random.default_rng([seed, i])`` (``sample_chunks``).
    convention : {'scaled', 'linear'}
        As ``weights_spectrum``.

    Returns
    -------
    xarray.Dataset over (neuron, order)
        ``kstat`` (k_n), ``cumulant`` (k_n / k_2^(n/2)) and their batch-means standard errors
        ``kstat_se`` and ``cumulant_se``, the chunks serving as batches (at least 20 chunks make
        them reliable; NaN with one chunk); NaN for units whose weights are all zero; attributes
        ``n_samples``, ``chunk_size``, ``seed``.

    Examples
    --------
    >>> from cavitykit.data import NLGP  # doctest: +SKIP
    >>> model = NLGP(10, 2.0, 3.0)  # doctest: +SKIP
    >>> spectrum = streamed_spectrum(np.eye(1, 10), model, 200_000, max_order=4, chunk_size=10_000)  # doctest: +SKIP
    >>> kurtosis = spectrum.sel(neuron=0, order=4)  # one pixel: its excess kurtosis -1.76  # doctest: +SKIP
    >>> round(float(kurtosis.cumulant), 1), bool(kurtosis.cumulant_se < 0.01)  # doctest: +SKIP
    (-1.8, True)
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    chunks_per_task = check_int("chunks_per_task", chunks_per_task, minimum=1)
    weights = check_finite("weights", as_real_array("weights", weights).astype(np.float64, copy=False))
    if weights.ndim != 2 or 0 in weights.shape or weights.shape[1] != model.D:
        raise ValueError(
            f"weights must have shape (K, {model.D}) to meet the model's D = {model.D} inputs, got {weights.shape}"
        )
    weights = as_scaled(weights, convention)
    values = _over_live_units(
        weights,
        bias,
        max_order,
        lambda w, b: _by_unit(
            _streamed_statistics(w, model, n_samples, max_order, b, chunk_size, chunks_per_task, (seed,)).compute()
        ),
    )
    attrs = {"n_samples": int(n_samples), "chunk_size": int(chunk_size), "seed": seed}
    return _neuron_dataset(values, attrs, with_bias=bias is not None, convention=convention)


def _live_units(replicate: xr.Dataset, layer: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """The units of hidden layer ``layer`` with weights left in the rounds run of one (variant, replicate):
    their round and unit indices (n,), weights (n, K_(layer-1)) and biases (n,) or None."""
    if layer == 1 and "norm_scale" not in replicate:  # the first layer in one array over the rounds
        weight = replicate.weight.values  # (round, neuron, input)
        ran = ~np.isnan(weight).all(axis=(1, 2))
        alive = np.asarray(replicate["mask"].values, dtype=bool).any(axis=-1) & ran[:, None]
        rounds, units = np.nonzero(alive)
        bias = replicate.bias.values[alive] if "bias" in replicate else None
        return rounds, units, weight[alive], bias
    rounds, units, weights, biases = [], [], [], []  # of each round run
    for t in range(replicate.sizes["round"]):
        one = replicate.isel(round=t)
        if np.isnan(one.weight.values).all():
            continue
        layers, masks, layer_biases = stored_hidden_layers(one)
        alive = np.flatnonzero(masks[layer - 1].any(axis=1))
        rounds.append(np.full(len(alive), t))
        units.append(alive)
        weights.append(layers[layer - 1][alive])
        biases.append(None if layer_biases is None else layer_biases[layer - 1][alive])
    bias = None if biases[0] is None else np.concatenate(biases)  # a folded normalization gives one
    return np.concatenate(rounds), np.concatenate(units), np.concatenate(weights), bias


def layer_inputs(one: xr.Dataset, inputs: np.ndarray, layer: int) -> np.ndarray:
    """What hidden layer ``layer`` of one stored network (a round selected down to its own dims) reads when
    the network sees ``inputs``: x itself for the first layer, the activations of layer ``layer`` - 1 after,
    computed as the network evaluates them (its activation, from the run's config).

    With batch normalization these are the activations before the layer's own normalization: the
    weights that read them are the folded ones of ``io.stored_hidden_layers`` (``Normalization.fold``).

    Parameters
    ----------
    one : xarray.Dataset
        One round of one network, as ``open_run(...).isel(variant=v, replicate=r, round=t)``.
    inputs : ndarray of shape (P, D)
    layer : int
        1..L.

    Returns
    -------
    ndarray of shape (P, K_(layer-1)), float64 (P, D for the first layer).

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> one = open_run(example_run()).isel(variant=0, replicate=0, round=1)
    >>> layer_inputs(one, np.ones((3, 40)), 1).shape  # the first layer reads the pixels
    (3, 40)
    """
    if one["weight"].ndim != 2:
        raise ValueError(
            f"one must be one round of one network (select variant, replicate and round), got dims {one['weight'].dims}"
        )
    weights, _, biases = stored_hidden_layers(one)
    layer = check_hidden_layer("layer", layer, tuple(len(weight) for weight in weights))
    inputs = as_real_array("inputs", inputs)
    if inputs.ndim != 2 or inputs.shape[1] != weights[0].shape[1]:
        raise ValueError(f"inputs must have shape (P, {weights[0].shape[1]}) (the run's D), got {inputs.shape}")
    below = layer - 1
    activation = run_config(one)["network"]["activation"]
    return hidden_activations(inputs, weights[:below], None if biases is None else biases[:below], activation)


def preactivation_cumulants(
    run_dir,
    *,
    max_order: int = 8,
    samples=None,
    samples_key: str | None = None,
    run=None,
    n_samples: int | None = None,
    chunk_size: int | None = None,
    chunks_per_task: int = 1,
    progress: bool = False,
    out=None,
    layer: int = 1,
) -> xr.Dataset:
    """k-statistics and standardized cumulants of every unit's pre-activation, every round.

    Nothing is written unless ``out`` is given; ``out=RUN/cumulants.nc`` (what ``cavitykit
    cumulants RUN`` writes) is merged by ``open_run(RUN, cumulants=True)``.

    Parameters
    ----------
    run_dir : str or Path
        A run directory.
    max_order : int
        Highest order (2..8).
    samples : path, optional
        A .npy/.npz file of inputs (P, D).  Without it, the run's own held-out inputs of each class
        (``cavitykit.samples.member_samples``: the samples behind the per-round statistics), or, with
        ``n_samples`` or ``chunk_size``, that many fresh samples per class from a stream of their own.
    samples_key : str, optional
        The array of a ``samples`` .npz that holds several.
    run : xarray.Dataset, optional
        The run as ``open_run(run_dir)`` returns it, when the caller has it open already.
    n_samples : int, optional
        Fresh samples per class instead of the run's held-out inputs.
    chunk_size : int, optional
        Stream the ``n_samples`` in chunks of at most this many inside dask tasks
        (``streamed_spectrum``), for more samples than fit in memory: each task draws a chunk and
        holds chunk_size x (D + live units of all rounds) floats.  The chunks serve as the batches
        of the standard errors.  Runs on the active ``dask.distributed`` client, if any.
    chunks_per_task : int
        With ``chunk_size``: chunks one task accumulates before handing its state back.
    progress : bool
        A progress bar (tqdm, on stderr) over the networks (variant x replicate).
    out : str or Path, optional
        A netCDF file to write the result to, whole or not at all.
    layer : int
        The hidden layer whose units are measured, 1..L: a deeper network's layer l reads the
        activations of layer l - 1 of each round's own trained network on the same inputs
        (``layer_inputs``).  Not with ``chunk_size``, which streams inputs into the first layer.

    Returns
    -------
    xarray.Dataset
        ``preact_kstat``, ``preact_cumulant`` (k_n / k_2^(n/2)) and their ``*_se``, each of
        shape (variant, replicate, round, sample_set, neuron, order); ``sample_set`` is
        ``class_0``, ``class_1``, ... (a set per class) or ``file``; ``neuron`` counts the units of
        ``layer`` (its attribute); NaN for units with no weight left, and the standardized cumulants NaN
        for a deeper unit whose pre-activation is constant (every unit it reads a ReLU that never fires).

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> spectra = preactivation_cumulants(example_run(), max_order=4)
    >>> spectra.preact_cumulant.dims
    ('variant', 'replicate', 'round', 'sample_set', 'neuron', 'order')
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    if samples is not None and (n_samples is not None or chunk_size is not None):
        raise ValueError("samples (a file) cannot be combined with n_samples or chunk_size, which draw samples")
    ds = open_run(run_dir) if run is None else run
    config = load_stored_config(Path(run_dir) / CONFIG_FILE) if run is None else stored_config(run_config(ds))
    layer = check_hidden_layer("layer", layer, config.network.widths)
    if layer > 1 and chunk_size is not None:
        raise ValueError(
            f"chunk_size (--chunk-size) streams inputs into the first layer only; layer {layer} takes the held-out "
            "inputs, n_samples (--n-samples) or a samples file"
        )
    width = config.network.widths[layer - 1]
    own_heldout = samples is None and n_samples is None and chunk_size is None
    if n_samples is None:
        n_samples = config.analysis.n_heldout
    if samples is not None:
        user = load_samples(samples, ds.sizes["input"], key=samples_key, against=f"the run's D = {ds.sizes['input']}")
        _check_batchable("the number of samples in the file", user.shape[0], max_order)
    elif not own_heldout:  # the run's own held-out sets take as many batches as they fill (``_with_errors``)
        n_samples = check_int("n_samples", n_samples, minimum=1)
        _check_batchable("n_samples", n_samples, max_order)
    sets = ["file"] if samples is not None else [f"class_{c}" for c in range(ds.sizes["label"])]
    statistics = np.full(
        (4, ds.sizes["variant"], ds.sizes["replicate"], ds.sizes["round"], len(sets), width, max_order),
        np.nan,
    )
    streamed = []  # ((v, r, s, rounds, units), lazy statistics of those units)
    scratch = Scratch()  # the float64 inputs and pre-activations of every replicate and round
    networks = [(v, r) for v in range(ds.sizes["variant"]) for r in range(ds.sizes["replicate"])]
    for v, r in tqdm(networks, desc="cumulant spectra", unit="network", leave=False, disable=not progress):
        variant, replicate = ds.variant.values[v], ds.replicate.values[r]
        member = ds.isel(variant=v, replicate=r)
        rounds, units, weights, bias = _live_units(member, layer)
        draw = seed(config.seed, int(replicate), Stream.CUMULANTS, VARIANT_INDEX[str(variant)])
        models = config.data.models(str(variant))
        if chunk_size is not None:
            streamed += [
                (
                    (v, r, s, rounds, units),
                    _streamed_statistics(
                        weights, model, n_samples, max_order, bias, chunk_size, chunks_per_task, (draw, s)
                    ),
                )
                for s, model in enumerate(models)
            ]
            continue
        if own_heldout:
            inputs = member_samples(config, str(variant), int(replicate)).heldout
        elif samples is not None:
            inputs = [user]
        else:
            rng = np.random.default_rng(draw)
            inputs = (m.sample(n_samples, rng) for m in models)
        for s, x in enumerate(inputs):
            inputs64 = scratch.copy("inputs", x)
            for t in np.unique(rounds):  # one round's (P, K) pre-activations in memory at a time
                at = rounds == t
                read = inputs64 if layer == 1 else layer_inputs(member.isel(round=t), inputs64, layer)
                with np.errstate(divide="ignore", invalid="ignore"):  # constant: below it, ReLUs that never fire
                    statistics[:, v, r, t, s, units[at]] = _with_errors(
                        read, weights[at], None if bias is None else bias[at], max_order, scratch
                    )
    if streamed:
        import dask

        for (v, r, s, rounds, units), chunked in zip(
            (where for where, _ in streamed), dask.compute(*(lazy for _, lazy in streamed)), strict=True
        ):
            statistics[:, v, r, rounds, s, units] = _by_unit(chunked)
    if samples is not None:
        source = str(samples)
    elif own_heldout:
        counts = heldout_counts(config)
        source = f"the run's held-out inputs, {' '.join(map(str, counts))} per class"
        if len(set(counts)) == 1:
            source = f"the run's {counts[0]} held-out inputs per class"
    elif chunk_size is None:
        source = f"{n_samples} regenerated per class"
    else:
        source = f"{n_samples} regenerated per class, streamed in chunks of at most {chunk_size}"
    result = xr.Dataset(
        {
            name: (CUMULANT_DIMS, values, {"long_name": long_name, "units": "1"})
            for (name, long_name), values in zip(CUMULANT_VARIABLES.items(), statistics, strict=True)
        },
        coords={
            "variant": ds.variant,
            "replicate": ds.replicate,
            "round": ds["round"],
            "sample_set": ("sample_set", sets, {"long_name": "the samples: a class's held-out inputs, or a file"}),
            "neuron": ds.neuron if layer == 1 else ("neuron", np.arange(width), {"long_name": f"layer {layer} unit"}),
            "order": ("order", np.arange(1, max_order + 1), {"long_name": "cumulant order"}),
        },
        attrs={
            "cavitykit_schema": SCHEMA,
            "config_hash": config.hash,
            "rounds_present": rounds_present(ds),
            "samples": source,
            "layer": layer,
        },
    )
    if out is not None:
        write_dataset(out, result)
    return result
