"""Cumulant spectra of the pre-activations of every stored round (``cavitykit cumulants RUN``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr

import cavitykit
from cavitykit._validation import check_int
from cavitykit.imp.config import load_config
from cavitykit.imp.runner import VARIANT_INDEX, _seed, data_models
from cavitykit.io import CUMULANTS_FILE, SCHEMA, open_run, write_dataset
from cavitykit.stats import standardize_kstats

CUMULANTS = 4  # seed stream of the regenerated held-out samples
N_BATCHES = 20  # batch means for the standard errors


def _spectrum(preactivation: np.ndarray, max_order: int) -> tuple[np.ndarray, np.ndarray]:
    """k_1..k_max and k_n / k_2^(n/2) of each column of (P, K) pre-activations, shape (max_order, K) each."""
    k = cavitykit.kstats(preactivation, max_order)
    return k, standardize_kstats(k)


def _with_errors(preactivation: np.ndarray, max_order: int) -> np.ndarray:
    """(4, max_order, K): k-statistics, standardized cumulants, and their batch-means standard errors."""
    k, standardized = _spectrum(preactivation, max_order)
    batches = [_spectrum(batch, max_order) for batch in np.array_split(preactivation, N_BATCHES)]
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

    Parameters
    ----------
    run_dir : path of a run directory
    max_order : int
        Highest order (2..8).
    samples : path, optional
        A .npy/.npz file of inputs (P, D) to use instead of regenerating held-out samples of
        each class from the stored data description (same seeds every time).
    run : xarray.Dataset, optional
        The run as ``open_run(run_dir)`` returns it, when the caller has it open already.

    Returns
    -------
    Dataset with ``preact_kstat``, ``preact_cumulant`` (k_n / k_2^(n/2)) and their ``*_se``,
    dims (variant, replicate, round, sample_set, neuron, order); ``sample_set`` is
    ``class_0``/``class_1`` or ``file``.
    """
    max_order = check_int("max_order", max_order, minimum=2, maximum=8)
    ds = open_run(run_dir) if run is None else run
    config = load_config(Path(run_dir) / "config.toml")
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
                rng = np.random.default_rng(_seed(config, int(replicate), CUMULANTS, VARIANT_INDEX[str(variant)]))
                inputs = [
                    m.sample(config.analysis.n_heldout, rng).astype(np.float64)
                    for m in data_models(config, str(variant))
                ]
            else:
                inputs = [np.asarray(user, dtype=np.float64)]
            for t in range(ds.sizes["round"]):
                one = ds.isel(variant=v, replicate=r, round=t)
                if np.isnan(one.weight.values).all():
                    continue  # round not run for this variant/replicate
                weight = one.weight.values
                alive = np.asarray(one["mask"].values, dtype=bool).any(axis=1)
                bias = one.bias.values if "bias" in one else 0.0
                for s, x in enumerate(inputs):
                    preactivation = x @ weight.T / np.sqrt(weight.shape[1]) + bias
                    out[:, v, r, t, s][..., alive, :] = np.moveaxis(
                        _with_errors(preactivation[:, alive], max_order), 1, -1
                    )
    dims = ("variant", "replicate", "round", "sample_set", "neuron", "order")
    names = ("preact_kstat", "preact_cumulant", "preact_kstat_se", "preact_cumulant_se")
    long_names = (
        "k-statistic k_n of the pre-activation",
        "standardized cumulant k_n / k_2^(n/2) of the pre-activation",
        "batch-means standard error of preact_kstat",
        "batch-means standard error of preact_cumulant",
    )
    result = xr.Dataset(
        {
            name: (dims, values, {"long_name": long, "units": "1"})
            for name, values, long in zip(names, out, long_names, strict=True)
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
