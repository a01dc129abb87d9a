"""Resumable IMP runs: every round of every variant and replicate becomes one netCDF file.

A *member* is one (variant, replicate).  Each round, the members that still lack that round's file
are trained together as one ensemble (``cavitykit.imp.train``), then each member's round is pruned,
measured and written.  Randomness is derived from (seed, replicate, variant, round) alone, never
carried between rounds or members, so a run resumed after an interruption continues from the files
on disk and produces exactly the files of an uninterrupted run, however members are grouped.  The
initialization depends on (seed, replicate) only: NLGP and its Gaussian clone start from the same
weights.
"""

from __future__ import annotations

import sys
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
import xarray as xr
from tqdm import tqdm

from cavitykit import cavity, metrics
from cavitykit._validation import check_int
from cavitykit.branches import CONTROLS
from cavitykit.buffers import Scratch
from cavitykit.config import MIN_HELDOUT, RunConfig, stored_config
from cavitykit.data.labelled import data_digest
from cavitykit.device import resolve_device
from cavitykit.imp.prune import STRATEGIES, kept_count
from cavitykit.imp.train import Task, accuracy, train_ensemble
from cavitykit.io import (
    LAYER_VARIABLES,
    MEASURED,
    RoundRecord,
    atomic_target,
    encode_round,
    first_layer_sparsity,
    padded_layers,
    prepare_run_directory,
    read_round,
    round_path,
    run_config,
    run_directory,
    stored_config_hash,
    stored_layers,
    stored_mask,
    stored_norm,
    stored_pruning,
    write_dataset,
)
from cavitykit.network import parameterization
from cavitykit.network.ensemble import (
    NORM_START,
    NORM_TRAINED,
    Ensemble,
    Network,
    bias_names,
    initial_parameters,
    member_of,
    weight_names,
)
from cavitykit.network.mask import Mask
from cavitykit.samples import heldout_counts, member_samples
from cavitykit.stats import preactivation_statistics, standardize_kstats
from cavitykit.variants import Stream, seed


@dataclass(frozen=True)
class Member:
    """One network of a run: a variant trained from a replicate's initialization.

    Examples
    --------
    >>> Member("nlgp", 2)
    Member(variant='nlgp', replicate=2)
    """

    variant: str
    replicate: int


def make_task(config: RunConfig, member: Member, device) -> tuple[Task, list[np.ndarray]]:
    """A member's data (``cavitykit.samples.member_samples``): the test set (and, in minibatch mode, the
    training set) as tensors on ``device``, and the held-out inputs of each class, float32 arrays of shape
    (n_heldout, D), for the per-round statistics.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> task, heldout = make_task(config, Member("nlgp", 0), "cpu")
    >>> tuple(task.x_test.shape), [x.shape for x in heldout]  # test set; held-out inputs per class
    ((4000, 40), [(20000, 40), (20000, 40)])
    """
    samples = member_samples(config, member.variant, member.replicate)

    def tensors(pair):
        x, y = pair
        return torch.as_tensor(x, dtype=torch.float32, device=device), torch.as_tensor(y, device=device)

    x_train, y_train = (None, None) if samples.train is None else tensors(samples.train)
    x_test, y_test = tensors(samples.test)
    return Task(x_test, y_test, samples.models, x_train, y_train), samples.heldout


def initial_network(config: RunConfig, replicate: int, *, fresh_round: int | None = None) -> Network:
    """A replicate's network at initialization (a model and its clone start from the same one), with one
    output for two classes and an output per class for more.  Weights on dropped pixels
    (the data table's ``dropped_pixels()``) start pruned.

    With ``fresh_round``, a fresh draw of the same law for that round (``Stream.REINIT``): the start of the
    re-initialization control.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> a, b = initial_network(config, 0), initial_network(config, 1)
    >>> bool((a.weight == initial_network(config, 0).weight).all()), bool((a.weight == b.weight).all())
    (True, False)
    """
    net = config.network
    state = initial_parameters(
        config.data.D,
        net.width,
        init_scale=net.init_scale,
        bias=net.bias,
        bias_init=net.bias_init,
        trains_readout=parameterization(net.parameterization).trains_readout,
        n_classes=config.data.class_count,
        generator=torch.Generator().manual_seed(
            seed(config.seed, replicate, Stream.INIT)
            if fresh_round is None
            else seed(config.seed, replicate, Stream.REINIT, fresh_round)
        ),
        deeper=net.widths[1:],
        batch_norm=net.batch_norm,
    )
    state = {name: value.double().numpy() for name, value in state.items()}
    n_outputs = 1 if state["readout"].ndim == 1 else len(state["readout"])
    mask = Mask.dense(net.widths, config.data.D, n_outputs=n_outputs, prunes_readout=net.prune_readout)
    mask.weight[:, config.data.dropped_pixels()] = False
    state["weight"] = state["weight"] * mask.weight
    return Network.from_state(state, mask)


def prunable_counts(config: RunConfig, network: Network) -> list[int]:
    """The weights of each prunable layer (``Mask.layers``) that pruning rates count from: the first
    layer's on pixels not dropped, then every weight of any deeper layer and of a prunable readout.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> prunable_counts(config, initial_network(config, 0))  # 8 units x 40 pixels
    [320]
    """
    live = int((~config.data.dropped_pixels()).sum())
    return [layer.size if i else layer.shape[0] * live for i, layer in enumerate(network.mask.layers())]


def next_pruning(
    config: RunConfig, network: Network, round_index: int, seed: int, statistics: dict | None = None
) -> list[np.ndarray]:
    """What the strategy (``imp.prune.STRATEGIES``) removes after this round (for 'dense': what one IMP
    round would remove).

    Each layer is pruned down to round(N (1 - p)^t) kept weights (N: ``prunable_counts``, p: the layer's
    fraction, ``IMPConfig.fractions``), t the number of prunings the next
    round has had (``Strategy.prunings``: round_index + 1, or all rounds - 1 at once for 'one_shot'
    after round 0).  The 'cavity' strategy ranks weights by the mean over classes of
    Delta|excess kurtosis| from ``statistics`` (``round_statistics`` of this round).  Returns a boolean
    array per prunable layer (``Mask.layers``).

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> removed = next_pruning(config, initial_network(config, 0), round_index=0, seed=0)
    >>> int(removed[0].sum())  # 30% of the 320 first-layer weights
    96
    """
    imp = config.imp
    strategy = STRATEGIES[imp.strategy]
    weights, masks = network.layers()
    target = strategy.prunings(imp.rounds, round_index)
    counts = prunable_counts(config, network)
    n_remove = [
        max(0, int(m.sum()) - kept_count(n, fraction, target))
        for m, n, fraction in zip(masks, counts, imp.fractions(len(masks)), strict=True)
    ]
    return strategy.remove(weights, masks, n_remove, scope=imp.scope, seed=seed, statistics=statistics)


def round_statistics(
    config: RunConfig,
    network: Network,
    heldout: list[np.ndarray],
    pixel_kurtosis: list[float],
    *,
    scratch: Scratch | None = None,
) -> dict[str, np.ndarray]:
    """Pre-activation cumulants, IPR and (optionally) cavity effects on held-out inputs of each class.

    Parameters
    ----------
    config : RunConfig
    network : Network
    heldout : list of ndarray of shape (n_heldout, D)
        Held-out inputs of each class.
    pixel_kurtosis : list of float
        Each class's pixel excess kurtosis, for the independent-input predictions.
    scratch : Scratch, optional
        Buffers reused from call to call (a run keeps one); by default fresh ones.

    Returns
    -------
    dict
        The statistics fields of ``cavitykit.io.RoundRecord`` (``preact_variance``, ...,
        ``cavity_expansion``, ``theory_excess_kurtosis``, ``cavity_theory``), NaN for units with
        no weight left.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> _, heldout = make_task(config, Member("nlgp", 0), "cpu")
    >>> statistics = round_statistics(config, initial_network(config, 0), heldout, [-1.5, -1.5])
    >>> statistics["preact_excess_kurtosis"].shape, statistics["cavity_exact"].shape  # (label, neuron[, input])
    ((2, 8), (2, 8, 40))
    """
    w, mask = network.weight, network.mask.weight
    weights, biases = network.evaluated_layers()
    fields, bias = weights[0], biases[0]  # w itself, or with batch normalization folded in
    alive = mask.any(axis=1)
    k = np.full((len(heldout), 4, w.shape[0]), np.nan)
    # The product runs in torch (float64), on the thread pool that training and the cavity engine
    # use: numpy's BLAS threads would contend with torch's idle-spinning ones.
    live_weights = torch.from_numpy(fields[alive])
    live_bias = None if bias is None else torch.from_numpy(bias[alive])
    if scratch is None:
        scratch = Scratch()
    for label, inputs in enumerate(heldout):
        x = torch.from_numpy(scratch.copy("inputs", inputs))
        k[label][:, alive] = preactivation_statistics(x, live_weights, live_bias, 4, scratch=scratch).kstats()
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
                fields[alive], inputs, orders=orders, mask=mask[alive]
            )
            exact[label, alive] = exact_effects.values
            expansion[label][:, alive] = approximations.values
        out["cavity_exact"] = exact
        out["cavity_expansion"] = expansion
        theory = [cavity.independent_theory(fields, kappa_x, mask=mask) for kappa_x in pixel_kurtosis]
        out["cavity_theory"] = np.stack([t.values for t in theory])
        out["theory_excess_kurtosis"] = np.stack([np.where(alive, t.statistic_value.values, np.nan) for t in theory])
    return out


def excess_kurtosis(model) -> float:
    """A data model's exact pixel excess kurtosis k_4 / k_2^2 (0 for a Gaussian clone).

    Examples
    --------
    >>> from cavitykit.data import NLGP
    >>> round(excess_kurtosis(NLGP(10, 2.0, 3.0)), 3)
    -1.757
    """
    kappa = model.marginal_cumulants(4)
    return float(kappa[3] / kappa[1] ** 2)


def data_description(config: RunConfig, models, test_labels: np.ndarray) -> dict:
    """What a round file's ``data_*`` attributes say of its data: for the synthetic models, class 0's model
    (``describe()``; ``encode_round`` adds both classes' xi); for images, the task as a whole: its source,
    shape, the test set's size per class (``test_class_counts``, from which the chance level follows), the
    held-out inputs per class behind the statistics (``heldout_counts``) and the dropped pixels.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> task, _ = make_task(config, Member("nlgp", 0), "cpu")
    >>> data_description(config, task.models, task.y_test.numpy())["D"]  # synthetic: class 0's model alone
    40
    """
    if config.data.periodic:
        return models[0].describe()
    images = config.data.images()
    counts = np.bincount(np.asarray(test_labels, dtype=np.int64), minlength=len(models))
    return {
        "model": models[0].describe()["model"],
        "source": images.source,
        "shape": " ".join(str(side) for side in images.shape),
        "test_class_counts": " ".join(str(n) for n in counts),
        "heldout_counts": " ".join(str(n) for n in heldout_counts(config)),
        "dropped_pixels": int(images.dropped.sum()),
    }


@dataclass(frozen=True)
class Start:
    """Where a member's round starts: the rewind point (parameters before masking) and the masks.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> network = initial_network(config, 0)
    >>> start = Start(rewind=network, mask=network.mask)
    >>> start.after([network.weight < 0]).mask.sparsity > 0  # the next round keeps the rest
    True
    """

    rewind: Network
    mask: Mask

    def network(self) -> Network:
        """The network this round trains from: the rewind point under the current mask."""
        return replace(self.rewind, mask=self.mask)

    def after(self, pruned: list[np.ndarray]) -> Start:
        """The next round's start: the same rewind point, the mask less what was pruned (per prunable layer)."""
        return Start(self.rewind, self.mask.without(pruned))


def _start_from_round(dataset: xr.Dataset, pruned: list[np.ndarray] | None = None) -> Start:
    """The next round's start recovered from a stored round (for resuming), or, given ``pruned``,
    after that pruning instead of the stored one (a control branch leaving the dense round)."""
    one = dataset.isel(variant=0, replicate=0, round=0)
    if pruned is None:
        pruned = stored_pruning(one)
    rewind = _stored_network(one, "init_")
    return Start(rewind, rewind.mask).after(pruned)


def _stored_network(one: xr.Dataset, prefix: str) -> Network:
    """The network one stored round holds: trained (``prefix`` '') or at its rewind point ('init_')."""
    mask = stored_mask(one)
    state = {
        "weight": one[f"{prefix}weight"].values,
        "readout": one[f"{prefix}readout"].values,
        **dict(zip(weight_names(1 + len(mask.deep))[1:], stored_layers(one, f"layer_{prefix}weight"), strict=True)),
    }
    if f"{prefix}bias" in one:
        state["bias"] = one[f"{prefix}bias"].values
        state |= dict(zip(bias_names(1 + len(mask.deep))[1:], stored_layers(one, f"layer_{prefix}bias"), strict=True))
    return replace(Network.from_state(state, mask), norm=stored_norm(one, prefix))


def _trained_network(dataset: xr.Dataset) -> tuple[Network, dict[str, np.ndarray]]:
    """The trained network a stored round holds, and the statistics a pruning strategy may rank by."""
    one = dataset.isel(variant=0, replicate=0, round=0)
    network = _stored_network(one, "")
    statistics = {name: one[name].values for name in ("preact_excess_kurtosis", "cavity_exact") if name in one}
    return network, statistics


class _Rounds:
    """The rounds of some members of a run (or of one control branch): which are missing, where each
    starts, the members' data.

    It alone changes where a member starts (``write``), after writing that member's round.  A control
    branch's round 0 is the run's dense round: its round 1 starts from that round's trained network,
    pruned by the branch's strategy.
    """

    def __init__(self, config: RunConfig, run_dir: Path, device, members: list[Member], *, control=None):
        self.run_config, self.control = config, control
        self.config = config if control is None else config.branch(control)
        self.run_dir, self.device = run_dir, device
        self.members = list(members)
        self._starts: dict[Member, Start] = {}
        self._data: dict[Member, tuple[Task, list[np.ndarray]]] = {}
        self.scratch = Scratch()

    def path(self, member: Member, round_index: int) -> Path:
        return round_path(self.run_dir, member.variant, member.replicate, round_index, control=self.control)

    def pending(self, round_index: int) -> list[Member]:
        return [m for m in self.members if not self.path(m, round_index).is_file()]

    def start(self, member: Member, round_index: int) -> Start:
        """Round 0: the initialization, unmasked.  Later: the rewind point and masks left by the last round;
        for the re-initialization control, IMP's mask of this round on a fresh initialization."""
        if round_index == 0:
            initial = initial_network(self.config, member.replicate)
            return Start(initial, initial.mask)
        if self.control is not None and CONTROLS[self.control].reinitializes:
            imp_path = round_path(self.run_dir, member.variant, member.replicate, round_index)
            imp_round = read_round(imp_path, config_hash=self.run_config.hash)
            fresh = initial_network(self.config, member.replicate, fresh_round=round_index)
            return Start(fresh, stored_mask(imp_round.isel(variant=0, replicate=0, round=0)))
        if member not in self._starts:
            if self.control is not None and round_index == 1:
                dense = read_round(self.path(member, 0), config_hash=self.run_config.hash)
                network, statistics = _trained_network(dense)
                pruning_seed = seed(self.config.seed, member.replicate, Stream.PRUNE, 0)
                pruned = next_pruning(self.config, network, 0, pruning_seed, statistics)
                self._starts[member] = _start_from_round(dense, pruned)
            else:
                previous = read_round(self.path(member, round_index - 1), config_hash=self.config.hash)
                self._starts[member] = _start_from_round(previous)
        return self._starts[member]

    def task(self, member: Member) -> tuple[Task, list[np.ndarray]]:
        if member not in self._data:
            self._data[member] = make_task(self.config, member, self.device)
        return self._data[member]

    def write(self, record: RoundRecord, member: Member, next_start: Start) -> None:
        """Store a member's round, then remember where its next round starts."""
        task = self.task(member)[0]
        description = data_description(self.config, task.models, task.y_test.cpu().numpy())
        write_dataset(
            self.path(member, record.round_index),
            encode_round(record, self.config, data_description=description, dropped=self.config.data.dropped_pixels()),
        )
        self._starts[member] = next_start


@dataclass
class Trained:
    """A group's round of training: per member, the trained network, the round's start (whose rewind
    point round 0 fixes) and its snapshot fields; the final training loss and test accuracy, shape (E,)."""

    networks: list[Network]
    starts: list[Start]
    snapshots: list[dict[str, np.ndarray]]
    train_loss: np.ndarray
    test_accuracy: np.ndarray


def train(
    config: RunConfig,
    group: list[Member],
    starts: list[Start],
    tasks: list[Task],
    round_index: int,
    device,
    *,
    progress,
) -> Trained:
    """Train ``group`` together for one round from ``starts`` (step 1 of a round).

    Round 0 trains ``training.steps`` steps and, with late rewinding, keeps the weights after
    ``imp.rewind_step`` of them as every later round's rewind point; a later round trains the rest.
    """
    networks = [start.network() for start in starts]
    ensemble = Ensemble.stack(
        networks,
        activation=config.network.activation,
        parameterization=config.network.parameterization,
        device=device,
    )
    steps = config.training.steps
    first_step = 0 if round_index == 0 else config.imp.rewind_step
    n_steps = steps - first_step
    snapshot_steps = [step for step in config.snapshot_steps() if step >= first_step]
    rewind_capture = [config.imp.rewind_step] if round_index == 0 and config.imp.rewind_step else []
    label = f"round {round_index} ({round_index + 1} of {config.imp.n_trainings}), {len(group)} networks"
    with tqdm(total=n_steps, desc=label, unit="step", leave=False, disable=not progress) as bar:
        train_loss, captured = train_ensemble(
            ensemble,
            tasks,
            [seed(config.seed, m.replicate, Stream.ORDER, round_index) for m in group],
            config.training,
            n_steps=n_steps,
            capture_steps=rewind_capture + [step - first_step for step in snapshot_steps],
            progress=lambda done: bar.update(done - bar.n),
        )
    test_accuracy = accuracy(ensemble, tasks)
    trained = ensemble.state()
    if rewind_capture:
        starts = [
            replace(start, rewind=member_of(captured[rewind_capture[0]], e, networks[e]))
            for e, start in enumerate(starts)
        ]
    by_global_step = {step: captured[step - first_step] for step in snapshot_steps}
    return Trained(
        networks=[member_of(trained, e, network) for e, network in enumerate(networks)],
        starts=starts,
        snapshots=[_snapshots(config, by_global_step, e, network) for e, network in enumerate(networks)],
        train_loss=train_loss,
        test_accuracy=test_accuracy,
    )


def record(
    trained: Trained, index: int, *, member: Member, round_index: int, statistics: dict, pruned: list[np.ndarray]
) -> RoundRecord:
    """What member ``index`` of a trained group stores as ``member``'s round ``round_index``: its network,
    ``statistics`` (``round_statistics``) and what the strategy removes next, ``pruned`` per prunable layer."""
    network, start = trained.networks[index], trained.starts[index]
    pruned_next, deep_pruned_next, readout_pruned_next = network.mask.split(pruned)
    layers = {
        "layer_weight": padded_layers(network.deep, np.nan),
        "layer_init_weight": padded_layers(start.rewind.deep, np.nan),
        "layer_mask": padded_layers(network.mask.deep, False),
        "layer_pruned_next": padded_layers(deep_pruned_next, False),
        "layer_bias": padded_layers(network.deep_bias, np.nan),
        "layer_init_bias": padded_layers(start.rewind.deep_bias, np.nan),
    }
    if network.norm:
        for field in NORM_START:
            layers[f"norm_{field}"] = padded_layers([getattr(one, field) for one in network.norm], np.nan)
        for field in NORM_TRAINED:
            layers[f"init_norm_{field}"] = padded_layers([getattr(one, field) for one in start.rewind.norm], np.nan)
    return RoundRecord(
        variant=member.variant,
        replicate=member.replicate,
        round_index=round_index,
        weight=network.weight,
        mask=network.mask.weight,
        init_weight=start.rewind.weight,
        readout=network.readout,
        init_readout=start.rewind.readout,
        readout_mask=network.mask.readout,
        pruned_next=pruned_next,
        readout_pruned_next=readout_pruned_next,
        train_loss=float(trained.train_loss[index]),
        test_accuracy=float(trained.test_accuracy[index]),
        bias=network.bias,
        init_bias=start.rewind.bias,
        **statistics,
        **trained.snapshots[index],
        **layers,
    )


def train_round(rounds: _Rounds, group: list[Member], round_index: int, progress: bool) -> None:
    """One round of ``group``: train together, then for each member measure, prune, record and write.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> open_run(example_run()).sizes["round"]  # each of the 3 rounds written by train_round
    3
    """
    config = rounds.config
    tasks = [rounds.task(member)[0] for member in group]
    starts = [rounds.start(member, round_index) for member in group]
    trained = train(config, group, starts, tasks, round_index, rounds.device, progress=progress)
    for e, member in enumerate(group):
        task, heldout = rounds.task(member)
        kurtosis = [excess_kurtosis(m) for m in task.models]
        statistics = round_statistics(config, trained.networks[e], heldout, kurtosis, scratch=rounds.scratch)
        pruning_seed = seed(config.seed, member.replicate, Stream.PRUNE, round_index)
        pruned = next_pruning(config, trained.networks[e], round_index, pruning_seed, statistics)
        stored = record(trained, e, member=member, round_index=round_index, statistics=statistics, pruned=pruned)
        rounds.write(stored, member, trained.starts[e].after(pruned))
        branch = "" if rounds.control is None else f" ({rounds.control})"
        sparsity = first_layer_sparsity(stored.mask, config.data.dropped_pixels())
        tqdm.write(
            f"{member.variant:15s} rep {member.replicate} round {round_index}{branch}: "
            f"sparsity {sparsity:.3f}  test acc {stored.test_accuracy:.3f}  "
            f"mean IPR {float(np.nanmean(stored.ipr)):.4f}  "
            f"mean |kurt| {float(np.nanmean(np.abs(stored.preact_excess_kurtosis))):.3f} (per class)",
            file=sys.stdout,
        )


def _snapshots(config: RunConfig, captured: dict[int, dict], index: int, like: Network) -> dict[str, np.ndarray]:
    """Member ``index``'s snapshot fields of ``RoundRecord`` from the states captured at global steps
    (those before the round's rewind point missing: NaN); {} without snapshots."""
    steps = config.snapshot_steps()
    if not steps:
        return {}
    K, D = like.weight.shape
    fields = {
        "snapshot_weight": np.full((len(steps), K, D), np.nan),
        "snapshot_readout": np.full((len(steps), *like.readout.shape), np.nan),
    }
    if like.bias is not None:
        fields["snapshot_bias"] = np.full((len(steps), K), np.nan)
    for position, step in enumerate(steps):
        if step in captured:
            member = member_of(captured[step], index, like)
            fields["snapshot_weight"][position] = member.weight
            fields["snapshot_readout"][position] = member.readout
            if like.bias is not None:
                fields["snapshot_bias"][position] = member.bias
    return {"snapshot_time": np.array(steps) / config.data.D, **fields}


def _stored_record(one: xr.Dataset, statistics: dict) -> RoundRecord:
    """The record a stored round (one network's) was written from, with ``statistics`` in place of its own."""
    values = {name: one[name].values for name in ("weight", "init_weight", "readout", "init_readout")}
    optional = (
        "bias",
        "init_bias",
        "readout_pruned_next",
        "snapshot_weight",
        "snapshot_bias",
        "snapshot_readout",
        *LAYER_VARIABLES,
    )
    values |= {name: one[name].values for name in optional if name in one}
    if "time" in one.coords:
        values["snapshot_time"] = one["time"].values
    return RoundRecord(
        variant=str(one.variant.values),
        replicate=int(one.replicate.values),
        round_index=int(one["round"].values),
        mask=one["mask"].values,
        readout_mask=one["readout_mask"].values,
        pruned_next=one["pruned_next"].values,
        train_loss=float(one.train_loss.values),
        test_accuracy=float(one.test_accuracy.values),
        **values,
        **statistics,
    )


def remeasure(config: RunConfig, run_dir: Path, members: list[Member]) -> int:
    """Bring the stored rounds of ``members`` (run and control branches) to ``config``, which trains them
    alike (``RunConfig.identity``) but may differ in name or analysis settings: each round stored under
    other analysis settings gets its statistics measured again from its trained network, each one stored
    under another name its new config; nothing is trained.  Returns how many round files were rewritten.

    Raises
    ------
    ValueError
        A round file of another training (``io.prepare_run_directory`` has refused a directory of one).
    """
    rewritten = 0
    # A member's samples and their pixel kurtosis depend on the data and analysis tables alone, the same
    # for every round and branch: drawn once, when a first file of the member needs them.
    drawn: dict[Member, tuple] = {}
    scratch = Scratch()
    for control in (None, *config.imp.controls):
        branch = config if control is None else config.branch(control)
        for member in members:
            for round_index in range(0 if control is None else 1, branch.imp.n_trainings):
                path = round_path(run_dir, member.variant, member.replicate, round_index, control=control)
                if not path.is_file() or stored_config_hash(path) == branch.hash:
                    continue
                stored = read_round(path)
                before = stored_config(run_config(stored))
                if before.identity != branch.identity:  # e.g. a file copied in from another run
                    raise ValueError(
                        f"{str(path)!r} holds a round of another training (identity {before.identity[:12]}, not "
                        f"{branch.identity[:12]}); move it away or choose another --out"
                    )
                if member not in drawn:
                    samples = member_samples(config, member.variant, member.replicate)
                    drawn[member] = samples, [excess_kurtosis(model) for model in samples.models]
                samples, kurtosis = drawn[member]
                one = stored.isel(variant=0, replicate=0, round=0)
                if before.analysis == branch.analysis:
                    statistics = {name: one[name].values for name in MEASURED if name in one}
                else:
                    network, _ = _trained_network(stored)
                    statistics = round_statistics(branch, network, samples.heldout, kurtosis, scratch=scratch)
                record = _stored_record(one, statistics)
                description = data_description(branch, samples.models, samples.test[1])
                dropped = branch.data.dropped_pixels()
                write_dataset(path, encode_round(record, branch, data_description=description, dropped=dropped))
                rewritten += 1
    return rewritten


def run_members(
    config: RunConfig, run_dir: Path, members: list[Member] | None, device, *, progress: bool = False, group_size=None
) -> None:
    """Every missing round of ``members`` (default: all of the run), trained ``group_size`` at a time,
    after bringing their stored rounds to ``config``'s name and analysis settings (``remeasure``).

    A progress bar (tqdm, on stderr) follows the training steps when ``progress``; a summary
    line per member and round goes to stdout either way.

    Examples
    --------
    >>> import tempfile  # doctest: +SKIP
    >>> from cavitykit import open_run  # doctest: +SKIP
    >>> from cavitykit.config import config_from_dict  # doctest: +SKIP
    >>> config = config_from_dict({"replicates": 1, "training": {"steps": 50}, "imp": {"rounds": 1},  # doctest: +SKIP
    ...                            "data": {"n_train": 200, "n_test": 200}, "analysis": {"n_heldout": 1000}})
    >>> run_dir = run_directory(config, tempfile.mkdtemp())  # doctest: +SKIP
    >>> prepare_run_directory(config, run_dir)  # doctest: +SKIP
    >>> run_members(config, run_dir, [Member("nlgp", 0)], "cpu")  # doctest: +ELLIPSIS, +SKIP
    nlgp ...
    >>> open_run(run_dir).variant.values.tolist()  # only the member asked for  # doctest: +SKIP
    ['nlgp']
    """
    everyone = [Member(v, r) for r in range(config.replicates) for v in config.variants]
    chosen = everyone if members is None else members
    rewritten = remeasure(config, run_dir, chosen)
    if rewritten:
        tqdm.write(f"re-measured {rewritten} stored round(s) under this config's name and analysis", file=sys.stdout)
    for control in (None, *config.imp.controls):  # the run, then each control branch from its dense round
        rounds = _Rounds(config, run_dir, device, chosen, control=control)
        for round_index in range(0 if control is None else 1, rounds.config.imp.n_trainings):
            pending = rounds.pending(round_index)
            size = group_size or max(1, len(pending))
            for start in range(0, len(pending), size):
                train_round(rounds, pending[start : start + size], round_index, progress)


# Beside config.toml in a run on a researcher's arrays: the sha256 of the files it trains on.
DATA_DIGEST_FILE = "data.sha256"


def _check_heldout_counts(config: RunConfig) -> None:
    """Warn when a class of images has fewer test images than ``analysis.n_heldout`` (its statistics then
    use all of them); refuse a class too small for a fourth cumulant."""
    counts, wanted = heldout_counts(config), config.analysis.n_heldout
    if min(counts) < MIN_HELDOUT:
        c = int(np.argmin(counts))
        raise ValueError(
            f"data: class {c} has {counts[c]} test images; its held-out statistics need at least {MIN_HELDOUT} "
            f"(give a larger test set: {config.data.test_set_keys})"
        )
    if min(counts) < wanted:
        warnings.warn(
            f"analysis.n_heldout = {wanted} is more than some classes' test images: each class's statistics use "
            f"its own test images, none twice, and its clone as many draws ({' '.join(map(str, counts))} per class)",
            stacklevel=3,
        )


def prepare_run(config: RunConfig, out) -> Path:
    """The run directory of ``config`` under ``out``, created or checked (``io.prepare_run_directory``).

    A run on a researcher's arrays first reads them (a bad file stops here, before anything is written),
    then records their sha256 beside the config, or refuses to go on if they changed since it did.  A task
    of C > 2 classes needs at least C hidden units (a readout of C outputs, each fed by a unit).

    Returns
    -------
    Path
        The run directory.
    """
    run_dir = run_directory(config, out)
    read = bool(config.data.files())  # a task read from files: their digest is kept beside the run
    if read:
        config.data.images()
        digest, recorded = data_digest(config.data), run_dir / DATA_DIGEST_FILE
        if recorded.is_file() and recorded.read_text().strip() != digest:
            raise ValueError(
                f"data.path: {config.data.path!r} is not the data {str(run_dir)!r} was trained on (the sha256 of its "
                "files is now "
                f"{digest[:12]}, was {recorded.read_text()[:12]}): restore it, or choose another --out"
            )
    if not config.data.periodic:
        _check_heldout_counts(config)
    n_classes = config.data.class_count
    if n_classes > config.network.width:
        raise ValueError(
            f"network.width = {config.network.width} is fewer than the {n_classes} classes of the task: "
            "a readout of an output per class needs at least one unit per output"
        )
    prepare_run_directory(config, run_dir)
    if read and not recorded.is_file():
        with atomic_target(recorded) as temporary:
            temporary.write_text(digest + "\n")
    return run_dir


def run(config: RunConfig, out, *, device=None, progress: bool = True, group_size: int | None = None) -> Path:
    """Run (or resume) every variant and replicate of ``config`` under ``out``; return the run directory.

    Parameters
    ----------
    config : RunConfig
    out : str or Path
        Results root (the run goes to ``io.run_directory``: the directory there that holds the same
        training, else ``out/<name>-<identity>``), or an existing run directory of ``config``.
    device : str or torch.device, optional
        Training device; default the CPU (CUDA only when asked for).
    progress : bool
        A progress bar (tqdm, on stderr) of the training steps; the summary line per member and round
        goes to stdout either way.
    group_size : int, optional
        Members trained together as one ensemble; default all members of the run.  Results do
        not depend on it.

    Returns
    -------
    Path
        The run directory.

    Examples
    --------
    >>> from cavitykit.config import load_config
    >>> from cavitykit.testing import example_run
    >>> config = load_config(example_run() / "config.toml")
    >>> run(config, example_run(), progress=False) == example_run()  # complete: resuming trains nothing
    True
    """
    if group_size is not None:
        check_int("group_size", group_size, minimum=1)
    device = resolve_device(device)
    run_dir = prepare_run(config, out)
    dropped = int(config.data.dropped_pixels().sum())
    if dropped:
        tqdm.write(
            f"data: {dropped} of {config.data.D} pixels are constant over the training images and left out "
            '(data.constant_pixels = "drop")',
            file=sys.stdout,
        )
    run_members(config, run_dir, None, device, progress=progress, group_size=group_size)
    return run_dir
