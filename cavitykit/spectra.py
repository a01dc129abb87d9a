"""Cumulant spectra of the pre-activations of every stored round (``cavitykit cumulants RUN``).

Reads a run's files and regenerates its held-out samples from the stored config and seeds: it
needs neither torch nor the IMP engine, so the report and notebooks can call it on any run.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit._validation import check_choice, check_int
from cavitykit.arrays import load_samples
from cavitykit.config import load_config
from cavitykit.data import NLGP, GaussianClone, IndependentPixels
from cavitykit.fcn import preactivation
from cavitykit.io import CONFIG_FILE, CUMULANTS_FILE, SCHEMA, open_run, write_dataset
from cavitykit.io.schema import CONVENTIONS, CUMULANT_DIMS, CUMULANT_VARIABLES
from cavitykit.stats import MomentAccumulator, kstats, standardize_kstats
from cavitykit.variants import VARIANT_INDEX, Stream, data_models, seed

N_BATCHES = 20  # batch means for the standard errors
SAMPLE_MODELS = ("nlgp", "gaussian_clone", "independent_pixels")


def _spectrum(preactivations: np.ndarray, max_order: int) -> tuple[np.ndarray, np.ndarray]:
    """k_1..k_max and k_n / k_2^(n/2) of each column of (P, K) pre-activations, shape (max_order, K) each."""
    k = kstats(preactivations, max_order)
    return k, standardize_kstats(k)


def _with_errors(preactivations: np.ndarray, max_order: int) -> np.ndarray:
    """(4, max_order, K): k-statistics, standardized cumulants, and their batch-means standard errors."""
    k, standardized = _spectrum(preactivations, max_order)
    batches = [_spectrum(batch, max_order) for batch in np.array_split(preactivations, N_BATCHES)]
    se = np.std(np.array(batches), axis=0, ddof=1) / np.sqrt(N_BATCHES)
    return np.stack([k, standardized, se[0], se[1]])


def _unit_spectra(weights: np.ndarray, samples: np.ndarray, bias, max_order: int, alive=None) -> np.ndarray:
    """(4, K, max_order): ``_with_errors`` of every unit's pre-activation, NaN for the units not ``alive``
    (by default those whose weights are all zero)."""
    alive = np.any(weights != 0, axis=1) if alive is None else alive
    out = np.full((4, weights.shape[0], max_order), np.nan)
    unit_bias = None if bias is None else np.asarray(bias, dtype=np.float64)[alive]
    out[:, alive] = np.moveaxis(_with_errors(preactivation(samples, weights[alive], unit_bias), max_order), 1, -1)
    return out


def weights_spectrum(weights, samples, *, max_order: int = 8, bias=None) -> xr.Dataset:
    """k-statistics and standardized cumulants of each unit's pre-activation, for weights of any origin.

    Parameters
    ----------
    weights : array_like of shape (K, D)
        First-layer weights, e.g. from ``cavitykit.arrays.load_weights``.
    samples : array_like of shape (P, D)
        Inputs x; lambda = w . x / sqrt(D) (+ b).
    max_order : int
        Highest order n (2..8).
    bias : array_like of shape (K,), optional

    Returns
    -------
    xarray.Dataset over (neuron, order)
        ``kstat`` (k_n), ``cumulant`` (k_n / k_2^(n/2)) and their batch-means standard errors
        ``kstat_se`` and ``cumulant_se`` (20 batches); NaN for units whose weights are all zero.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> spectrum = weights_spectrum(np.eye(2, 5), rng.uniform(-1, 1, (100_000, 5)), max_order=4)
    >>> round(float(spectrum.cumulant.sel(neuron=0, order=4)), 1)  # a uniform input: -6/5
    -1.2
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    weights = np.asarray(weights, dtype=np.float64)
    samples = np.asarray(samples)
    if weights.ndim != 2 or samples.ndim != 2 or samples.shape[1] != weights.shape[1]:
        raise ValueError(f"samples must have shape (P, {weights.shape[-1]}) to match weights, got {samples.shape}")
    if samples.shape[0] < 2 * N_BATCHES * max_order:
        raise ValueError(f"samples must hold at least {2 * N_BATCHES * max_order} rows, got {samples.shape[0]}")
    values = _unit_spectra(weights, samples, bias, max_order)
    return xr.Dataset(
        {
            name.removeprefix("preact_"): (("neuron", "order"), value, {"long_name": long_name, "units": "1"})
            for (name, long_name), value in zip(CUMULANT_VARIABLES.items(), values, strict=True)
        },
        coords={"neuron": np.arange(weights.shape[0]), "order": np.arange(1, max_order + 1)},
        attrs={"Conventions": CONVENTIONS, "n_samples": samples.shape[0], "preactivation": "w . x / sqrt(D) + b"},
    )


def _chunk_accumulator(weights, model, bias, max_order: int, seed: int, chunks) -> MomentAccumulator:
    """Pre-activation power sums over the sample chunks ``chunks`` ((index, size) pairs), drawn afresh."""
    accumulator = MomentAccumulator(max_order)
    for index, size in chunks:
        samples = model.sample(size, np.random.default_rng([seed, index]))
        accumulator.update(preactivation(samples, weights, bias))
    return accumulator


def sample_chunks(n_samples: int, chunk_size: int) -> list[tuple[int, int]]:
    """(index, size) of the chunks that ``streamed_spectrum`` draws: ceil(n / chunk_size) of them.

    Chunk i is drawn with ``numpy.random.default_rng([seed, i])``, so the samples do not depend on
    how chunks are grouped into tasks.

    Examples
    --------
    >>> sample_chunks(10, 4)
    [(0, 4), (1, 4), (2, 2)]
    """
    n_samples = check_int("n_samples", n_samples, minimum=1)
    chunk_size = check_int("chunk_size", chunk_size, minimum=1)
    return [(i, min(chunk_size, n_samples - start)) for i, start in enumerate(range(0, n_samples, chunk_size))]


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
) -> xr.Dataset:
    """Cumulant spectra of each unit's pre-activation over more samples than fit in memory, on dask.

    Samples are drawn chunk by chunk from ``model`` inside dask tasks; each task returns the
    ``MomentAccumulator`` of its chunks' pre-activations, and the partial accumulators are merged
    by a tree reduction (``dask.bag``).  Nothing but K x (max_order + 1) power sums per task
    leaves a worker.  Runs on the active ``dask.distributed`` client if there is one (e.g.
    ``Client(LocalCluster())``), else on dask's local scheduler.

    Parameters
    ----------
    weights : array_like of shape (K, D)
    model : data model
        Anything with ``sample(P, rng)`` -> (P, D), e.g. ``named_model`` or ``cavitykit.data.NLGP``.
    n_samples : int
        Total samples, e.g. 10**8.
    max_order : int
        Highest order n (2..8).
    bias : array_like of shape (K,), optional
    chunk_size : int
        Samples drawn at once (memory per task: chunk_size x D floats).
    chunks_per_task : int
        Chunks one task accumulates before handing its state back.
    seed : int
        Chunk i uses ``numpy.random.default_rng([seed, i])`` (``sample_chunks``).

    Returns
    -------
    xarray.Dataset over (neuron, order)
        ``kstat`` (k_n) and ``cumulant`` (k_n / k_2^(n/2)); attributes ``n_samples``,
        ``chunk_size``, ``seed``.

    Examples
    --------
    >>> from cavitykit.data import NLGP
    >>> model = NLGP(10, 2.0, 3.0)
    >>> spectrum = streamed_spectrum(np.eye(1, 10), model, 200_000, max_order=4, chunk_size=50_000)
    >>> round(float(spectrum.cumulant.sel(neuron=0, order=4)), 1)  # one pixel: its excess kurtosis -1.76
    -1.8
    """
    import dask.bag

    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    chunks_per_task = check_int("chunks_per_task", chunks_per_task, minimum=1)
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 2:
        raise ValueError(f"weights must have shape (K, D), got {weights.shape}")
    chunks = sample_chunks(n_samples, chunk_size)
    tasks = dask.bag.from_sequence(chunks, partition_size=chunks_per_task)
    accumulator = tasks.reduction(
        lambda part: _chunk_accumulator(weights, model, bias, max_order, seed, part),
        lambda parts: functools.reduce(MomentAccumulator.merge, parts),
        split_every=8,
    ).compute()
    k = accumulator.kstats()  # (order, neuron)
    return xr.Dataset(
        {
            "kstat": (("order", "neuron"), k, {"long_name": "k-statistic k_n of the pre-activation", "units": "1"}),
            "cumulant": (
                ("order", "neuron"),
                standardize_kstats(k),
                {"long_name": "standardized cumulant k_n / k_2^(n/2) of the pre-activation", "units": "1"},
            ),
        },
        coords={"neuron": np.arange(weights.shape[0]), "order": np.arange(1, max_order + 1)},
        attrs={"Conventions": CONVENTIONS, "n_samples": int(n_samples), "chunk_size": int(chunk_size), "seed": seed},
    ).transpose("neuron", "order")


def named_model(name: str, n_inputs: int, *, dim: int = 1, xi: float = 1.0, gain: float = 3.0):
    """A data model by name, on the ring or torus that has ``n_inputs`` pixels.

    Parameters
    ----------
    name : {'nlgp', 'gaussian_clone', 'independent_pixels'}
        NLGP(xi, gain), its Gaussian clone, or pixels with NLGP marginals and no correlation.
    n_inputs : int
        D = L**dim.
    dim : {1, 2}
    xi, gain : float

    Returns
    -------
    A data model with ``sample(P, rng)`` -> ndarray of shape (P, D).

    Examples
    --------
    >>> named_model("nlgp", 400, dim=2, xi=2.0).shape  # a 20 x 20 torus
    (20, 20)
    """
    check_choice("model", name, SAMPLE_MODELS)
    side = round(n_inputs ** (1 / dim))
    if side**dim != n_inputs:
        raise ValueError(f"a {dim}D model needs D = L**{dim} inputs; the weights have D = {n_inputs}")
    if name == "independent_pixels":
        return IndependentPixels(side, gain, dim=dim)
    model = NLGP(side, xi, gain, dim=dim)
    return model if name == "nlgp" else GaussianClone(model)


def preactivation_cumulants(run_dir, *, max_order: int = 8, samples=None, run=None) -> xr.Dataset:
    """k-statistics and standardized cumulants of every unit's pre-activation, every round.

    Writes them to ``RUN/cumulants.nc``, which ``open_run`` merges in from then on.

    Parameters
    ----------
    run_dir : str or Path
        A run directory.
    max_order : int
        Highest order (2..8).
    samples : path, optional
        A .npy/.npz file of inputs (P, D) to use instead of regenerating held-out samples of
        each class from the stored data description (same seeds every time).
    run : xarray.Dataset, optional
        The run as ``open_run(run_dir)`` returns it, when the caller has it open already.

    Returns
    -------
    xarray.Dataset
        ``preact_kstat``, ``preact_cumulant`` (k_n / k_2^(n/2)) and their ``*_se``, each of
        shape (variant, replicate, round, sample_set, neuron, order); ``sample_set`` is
        ``class_0``/``class_1`` or ``file``; NaN for units with no weight left.

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> spectra = preactivation_cumulants(example_run(), max_order=4)
    >>> spectra.preact_cumulant.dims
    ('variant', 'replicate', 'round', 'sample_set', 'neuron', 'order')
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    ds = open_run(run_dir) if run is None else run
    config = load_config(Path(run_dir) / CONFIG_FILE)
    if samples is not None:
        user = load_samples(samples, ds.sizes["input"])
    sets = ["file"] if samples is not None else ["class_0", "class_1"]
    out = np.full(
        (4, ds.sizes["variant"], ds.sizes["replicate"], ds.sizes["round"], len(sets), ds.sizes["neuron"], max_order),
        np.nan,
    )
    for v, variant in enumerate(ds.variant.values):
        for r, replicate in enumerate(ds.replicate.values):
            if samples is None:
                rng = np.random.default_rng(
                    seed(config.seed, int(replicate), Stream.CUMULANTS, VARIANT_INDEX[str(variant)])
                )
                inputs = [
                    m.sample(config.analysis.n_heldout, rng).astype(np.float64)
                    for m in data_models(str(variant), config.data)
                ]
            else:
                inputs = [np.asarray(user, dtype=np.float64)]
            for t in range(ds.sizes["round"]):
                one = ds.isel(variant=v, replicate=r, round=t)
                if np.isnan(one.weight.values).all():
                    continue  # round not run for this variant/replicate
                alive = np.asarray(one["mask"].values, dtype=bool).any(axis=1)
                bias = one.bias.values if "bias" in one else None
                for s, x in enumerate(inputs):
                    out[:, v, r, t, s] = _unit_spectra(one.weight.values, x, bias, max_order, alive)
    result = xr.Dataset(
        {
            name: (CUMULANT_DIMS, values, {"long_name": long_name, "units": "1"})
            for (name, long_name), values in zip(CUMULANT_VARIABLES.items(), out, strict=True)
        },
        coords={
            "variant": ds.variant,
            "replicate": ds.replicate,
            "round": ds["round"],
            "sample_set": sets,
            "neuron": ds.neuron,
            "order": np.arange(1, max_order + 1),
        },
        attrs={"cavitykit_schema": SCHEMA, "config_hash": config.hash, "samples": str(samples or "regenerated")},
    )
    write_dataset(Path(run_dir) / CUMULANTS_FILE, result)
    return result
