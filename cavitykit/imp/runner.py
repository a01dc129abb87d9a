"""Resumable IMP runs: every round of every variant and replicate becomes one netCDF file.

Randomness is derived from (seed, replicate, variant, round) alone, never carried
between rounds, so a run resumed after an interruption continues from its last
complete file and produces exactly the files of an uninterrupted run.  The network
initialization depends on (seed, replicate) only: NLGP and its Gaussian clone start
from the same weights.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import xarray as xr

from cavitykit import cavity, metrics
from cavitykit.cavity._engine import resolve_device
from cavitykit.config import RunConfig, load_config
from cavitykit.data import two_class
from cavitykit.fcn import preactivation
from cavitykit.imp.prune import kept_count, magnitude_prune, random_prune
from cavitykit.imp.train import Task, accuracy, train
from cavitykit.io import (
    CONFIG_FILE,
    RoundRecord,
    atomic_target,
    encode_round,
    read_round,
    remove_temporaries,
    round_path,
    write_dataset,
)
from cavitykit.nets import MaskedFCN
from cavitykit.stats import kstats, standardize_kstats
from cavitykit.variants import VARIANT_INDEX, Stream, data_models, seed


def run_directory(config: RunConfig, out) -> Path:
    """``out/<name>-<hash>``, or ``out`` itself when it already is this config's run directory."""
    out = Path(out)
    if (out / CONFIG_FILE).is_file():
        return out
    return out / f"{config.name}-{config.hash[:12]}"


def prepare_run_directory(config: RunConfig, run_dir: Path) -> None:
    """Create the directory with its config, or check that an existing one holds the same config."""
    config_file = run_dir / CONFIG_FILE
    if config_file.is_file():
        stored = load_config(config_file)
        if stored.hash != config.hash:
            raise ValueError(
                f"{str(run_dir)!r} holds a run of a different config ({stored.name}, hash {stored.hash[:12]}); "
                "choose another --out"
            )
        remove_temporaries(run_dir)
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ValueError(f"{str(run_dir)!r} exists, is not empty and holds no cavitykit config")
    with atomic_target(config_file) as temporary:
        temporary.write_text(config.to_toml())


def make_task(config: RunConfig, variant: str, replicate: int, device) -> tuple[Task, list[np.ndarray]]:
    """Training and test tensors, and held-out inputs of each class, (P, D) each, for the statistics.

    Statistics are taken per class: the two-class mixture of Gaussian clones is a scale mixture,
    non-Gaussian although each class is Gaussian.
    """
    models = data_models(variant, config.data)
    rng = np.random.default_rng(seed(config.seed, replicate, Stream.DATA, VARIANT_INDEX[variant]))
    x_train, y_train = two_class(*models, config.data.n_train, rng)
    x_test, y_test = two_class(*models, config.data.n_test, rng)
    heldout = [model.sample(config.analysis.n_heldout, rng).astype(np.float64) for model in models]

    def tensor(array):
        return torch.as_tensor(array, dtype=torch.float32, device=device)

    task = Task(tensor(x_train), tensor(y_train), tensor(x_test), tensor(y_test), models)
    return task, heldout


def new_network(config: RunConfig, replicate: int, device) -> MaskedFCN:
    """The network of a replicate at initialization (a model and its clone start from the same one)."""
    net = config.network
    generator = torch.Generator().manual_seed(seed(config.seed, replicate, Stream.INIT))
    return MaskedFCN(
        config.data.D,
        net.width,
        activation=net.activation,
        bias=net.bias,
        init_scale=net.init_scale,
        prune_readout=net.prune_readout,
        generator=generator,
    ).to(device)


def _layers(network: MaskedFCN) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Prunable layers' weights and masks as numpy (first layer, then the readout if prunable)."""
    weights = [network.first.weight.detach().cpu().numpy().astype(np.float64)]
    masks = [network.mask.cpu().numpy()]
    if network.readout_mask is not None:
        weights.append(network.readout.weight.detach().cpu().numpy().astype(np.float64))
        masks.append(network.readout_mask.cpu().numpy())
    return weights, masks


def next_pruning(config: RunConfig, network: MaskedFCN, round_index: int, seed: int) -> list[np.ndarray]:
    """What the strategy removes after this round (for 'dense': what one IMP round would remove).

    Each layer is pruned down to round(N (1 - p)^t) kept weights, t the number of prunings
    the next round has had: round_index + 1, or all rounds - 1 at once for 'one_shot' after round 0.
    """
    imp = config.imp
    weights, masks = _layers(network)
    target = imp.rounds - 1 if imp.strategy == "one_shot" and round_index == 0 else round_index + 1
    if imp.strategy == "dense":
        target = 1
    n_remove = [max(0, int(m.sum()) - kept_count(m.size, imp.prune_fraction, target)) for m in masks]
    if imp.strategy == "random":
        return random_prune(masks, n_remove, np.random.default_rng(seed))
    return magnitude_prune(weights, masks, n_remove, scope=imp.scope)


def round_statistics(config: RunConfig, network: MaskedFCN, heldout: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Pre-activation cumulants, IPR and (optionally) cavity effects on held-out inputs of each class.

    Returns
    -------
    dict
        The statistics fields of ``cavitykit.io.RoundRecord`` (``preact_variance``, ...,
        ``cavity_expansion``), NaN for units with no weight left.
    """
    weights, masks = _layers(network)
    w, mask = weights[0], masks[0]
    bias = None if network.first.bias is None else _numpy(network.first.bias)
    alive = mask.any(axis=1)
    k = np.full((len(heldout), 4, w.shape[0]), np.nan)
    for label, inputs in enumerate(heldout):
        k[label][:, alive] = kstats(preactivation(inputs, w, bias)[:, alive], 4)
    spectrum = standardize_kstats(np.moveaxis(k, 1, 0))  # (order, label, neuron)
    out = {
        "preact_variance": k[:, 1],
        "preact_skewness": spectrum[2],
        "preact_excess_kurtosis": spectrum[3],
        "ipr": metrics.ipr(w),
    }
    if config.analysis.cavity:
        orders = config.analysis.expansion_orders
        exact = np.full((len(heldout), *w.shape), np.nan)
        expansion = np.full((len(heldout), len(orders), *w.shape), np.nan)
        for label, inputs in enumerate(heldout):
            exact_effects, approximations = cavity.exact_and_expansion(
                w[alive], inputs, orders=orders, mask=mask[alive]
            )
            exact[label, alive] = exact_effects.values
            expansion[label][:, alive] = approximations.values
        out["cavity_exact"] = exact
        out["cavity_expansion"] = expansion
    return out


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    """A parameter or state tensor as a float64 numpy array."""
    return tensor.detach().cpu().numpy().astype(np.float64)


def round_record(
    variant: str,
    replicate: int,
    round_index: int,
    network: MaskedFCN,
    rewind_state: dict,
    train_loss: float,
    test_accuracy: float,
    pruned: list[np.ndarray],
    statistics: dict[str, np.ndarray],
) -> RoundRecord:
    """What a trained round stores: the network now and at its rewind point, what is pruned next."""
    weights, masks = _layers(network)
    has_bias = network.first.bias is not None
    return RoundRecord(
        variant=variant,
        replicate=replicate,
        round_index=round_index,
        weight=weights[0],
        mask=masks[0],
        init_weight=_numpy(rewind_state["first.weight"]),
        readout=_numpy(network.readout.weight)[0],
        init_readout=_numpy(rewind_state["readout.weight"])[0],
        readout_mask=masks[1][0] if len(masks) > 1 else np.ones(network.width, dtype=bool),
        pruned_next=pruned[0],
        readout_pruned_next=pruned[1][0] if len(pruned) > 1 else None,
        train_loss=train_loss,
        test_accuracy=test_accuracy,
        bias=_numpy(network.first.bias) if has_bias else None,
        init_bias=_numpy(rewind_state["first.bias"]) if has_bias else None,
        **statistics,
    )


@dataclass
class Progress:
    """A one-line progress bar on stderr plus a summary line per round."""

    enabled: bool = True
    stream: object = sys.stderr

    def steps(self, label: str, n_steps: int) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        every = max(1, n_steps // 20)

        def update(step):
            if step % every == 0 or step == n_steps:
                filled = 20 * step // n_steps
                print(
                    f"\r  {label} [{'#' * filled}{'.' * (20 - filled)}] step {step}/{n_steps}",
                    end="",
                    file=self.stream,
                    flush=True,
                )

        return update

    def summary(self, line: str) -> None:
        if self.enabled:
            print("\r" + " " * 78 + "\r", end="", file=self.stream)
        print(line, flush=True)


def _state_from_round(network: MaskedFCN, dataset: xr.Dataset) -> dict:
    """Rewind point and next masks recovered from a stored round (for resuming)."""
    one = dataset.isel(variant=0, replicate=0, round=0)
    state = {key: value.clone() for key, value in network.state_dict().items()}
    state["first.weight"] = torch.as_tensor(one.init_weight.values, dtype=torch.float32)
    state["readout.weight"] = torch.as_tensor(one.init_readout.values[None], dtype=torch.float32)
    if "init_bias" in one:
        state["first.bias"] = torch.as_tensor(one.init_bias.values, dtype=torch.float32)
    mask = one["mask"].values & ~one.pruned_next.values
    readout_mask = one.readout_mask.values
    if "readout_pruned_next" in one:
        readout_mask = readout_mask & ~one.readout_pruned_next.values
    return {"rewind": state, "mask": mask, "readout_mask": readout_mask}


def run_replicate(config: RunConfig, run_dir: Path, variant: str, replicate: int, device, progress: Progress) -> None:
    """All rounds of one (variant, replicate), skipping the rounds already on disk."""
    n_rounds = config.imp.n_trainings
    paths = [round_path(run_dir, variant, replicate, r) for r in range(n_rounds)]
    done = 0
    while done < n_rounds and paths[done].is_file():
        done += 1
    if done == n_rounds:
        return
    task, heldout = make_task(config, variant, replicate, device)
    network = new_network(config, replicate, device)
    if done == 0:
        rewind, mask, readout_mask = None, None, None
    else:
        resumed = _state_from_round(network, read_round(paths[done - 1], config_hash=config.hash))
        rewind, mask, readout_mask = resumed["rewind"], resumed["mask"], resumed["readout_mask"]
    steps = config.training.steps
    for round_index in range(done, n_rounds):
        label = f"{variant} rep {replicate} round {round_index + 1}/{n_rounds}"
        if rewind is None:  # round 0: from initialization, capturing the late-rewinding point
            init_state = {key: value.detach().clone() for key, value in network.state_dict().items()}
            n_steps, capture = steps, (config.imp.rewind_step or None)
        else:
            network.load_state_dict({key: value.to(device) for key, value in rewind.items()})
            network.set_mask(
                torch.as_tensor(mask), None if network.readout_mask is None else torch.as_tensor(readout_mask)
            )
            n_steps, capture = steps - config.imp.rewind_step, None
        train_loss, snapshot = train(
            network,
            task,
            config.training,
            seed=seed(config.seed, replicate, Stream.ORDER, round_index),
            n_steps=n_steps,
            capture_step=capture,
            progress=progress.steps(label, n_steps),
        )
        if rewind is None:
            rewind = snapshot if snapshot is not None else init_state
        test_accuracy = accuracy(network, task.x_test, task.y_test)
        pruned = next_pruning(config, network, round_index, seed(config.seed, replicate, Stream.PRUNE, round_index))
        statistics = round_statistics(config, network, heldout)
        record = round_record(
            variant, replicate, round_index, network, rewind, train_loss, test_accuracy, pruned, statistics
        )
        write_dataset(paths[round_index], encode_round(record, config, data_description=task.models[0].describe()))
        progress.summary(
            f"{variant:15s} rep {replicate} round {round_index}: sparsity {1.0 - float(record.mask.mean()):.3f}  "
            f"test acc {test_accuracy:.3f}  mean IPR {float(np.nanmean(record.ipr)):.4f}  "
            f"mean |kurt| {float(np.nanmean(np.abs(record.preact_excess_kurtosis))):.3f} (per class)"
        )
        mask = network.mask.cpu().numpy() & ~pruned[0]
        readout_mask = None if network.readout_mask is None else network.readout_mask.cpu().numpy()[0] & ~pruned[1][0]


def run(config: RunConfig, out, *, device=None, progress: bool = True) -> Path:
    """Run (or resume) every variant and replicate of ``config`` under ``out``; return the run directory."""
    device = resolve_device(device)
    run_dir = run_directory(config, out)
    prepare_run_directory(config, run_dir)
    reporter = Progress(enabled=progress)
    for replicate in range(config.replicates):
        for variant in config.variants:
            run_replicate(config, run_dir, variant, replicate, device, reporter)
    return run_dir
