"""Cumulant spectra of the pre-activations of every stored round (``cavitykit cumulants RUN``).

Reads a run's files and regenerates its held-out samples from the stored config and seeds: it
needs neither torch nor the IMP engine, so the report and notebooks can call it on any run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

from cavitykit._validation import check_int
from cavitykit.config import load_config
from cavitykit.fcn import preactivation
from cavitykit.io import CONFIG_FILE, CUMULANTS_FILE, SCHEMA, open_run, write_dataset
from cavitykit.io.schema import CUMULANT_DIMS, CUMULANT_VARIABLES
from cavitykit.stats import kstats, standardize_kstats
from cavitykit.variants import VARIANT_INDEX, Stream, data_models, seed

N_BATCHES = 20  # batch means for the standard errors


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


def _load_samples(path, n_inputs: int) -> np.ndarray:
    """Inputs (P, D) from a .npy file, or a .npz holding one array."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"samples: no file at {str(path)!r}")
    try:
        loaded = np.load(path, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                if len(loaded.files) != 1:
                    raise ValueError(f"holds {loaded.files}, expected one array")
                loaded = loaded[loaded.files[0]]
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"samples: {str(path)!r} is not a readable .npy/.npz array ({error})") from None
    if loaded.ndim != 2 or loaded.shape[1] != n_inputs or loaded.dtype.kind not in "fiu":
        raise ValueError(f"samples must be numeric of shape (P, {n_inputs}), got {loaded.dtype} {loaded.shape}")
    return loaded.astype(np.float64)


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
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    ds = open_run(run_dir) if run is None else run
    config = load_config(Path(run_dir) / CONFIG_FILE)
    if samples is not None:
        user = _load_samples(samples, ds.sizes["input"])
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
                weight = one.weight.values
                alive = np.asarray(one["mask"].values, dtype=bool).any(axis=1)
                for s, x in enumerate(inputs):
                    out[:, v, r, t, s][..., alive, :] = np.moveaxis(
                        _with_errors(preactivation(x, weight[alive], _bias_of(one, alive)), max_order), 1, -1
                    )
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


def _bias_of(round_data: xr.Dataset, units=slice(None)):
    """The hidden biases of ``units`` in one round's data, or None for a network without biases."""
    return round_data.bias.values[units] if "bias" in round_data else None
