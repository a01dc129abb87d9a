"""The ensemble trainer: every member of a run (a variant and replicate) trained as one batched computation.

Members have stacked parameters (weights (E, K, D), biases (E, K) and readouts (E, K) or, for C > 2
classes, (E, C, K)), their own masks,
sample streams and seeds, and never interact: the loss is the sum of the members' losses, so each
member's gradient is its own.  Two routes, chosen per call:

* **torch** (any mode, optimizer and device, CPU or CUDA): batched matmuls, autograd, a torch
  optimizer over the stacked parameters (SGD and Adam act elementwise, so members stay independent).
* **kernel** (online SGD with batch 1 on a CPU, one hidden layer): a Numba kernel runs a whole block of steps of every
  member per call.  Batch-1 SGD is bound by per-call overhead, and this route pays it once per block
  instead of once per step (``cavitykit bench imp`` measures both).

Results do not depend on how members are grouped: a member trained alone gets the weights it gets
in any ensemble (bitwise on the kernel route, to float32 rounding on the torch route).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from cavitykit.config import TrainingConfig
from cavitykit.data import two_class
from cavitykit.network.ensemble import Ensemble
from cavitykit.network.sgd import kernel_route_applies, sgd_on_samples

# On a CPU, torch steps smaller than this many multiply-adds run on one thread: splitting them costs
# more than it saves (a batch-1 step of a 400 x 100 network runs faster on one thread).
SMALL_STEP = 2**22
# Steps of fresh samples (online) or minibatch indices (batch) prepared per block ...
BLOCK_STEPS = 1024
# ... at most this many bytes of samples per member.  Blocks fix how each member's sample stream is
# cut, so their length depends on the config alone, never on how many members share the ensemble.
BLOCK_BYTES = 8 * 2**20
ROUTES = ("auto", "torch", "kernel")


@dataclass
class Task:
    """One member's data: test tensors on the training device, its class models (online sampling takes
    two), and (minibatch mode only) its fixed training set.  Labels y are the classes 0..C-1.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> from cavitykit.imp.runner import Member, make_task
    >>> task, _ = make_task(config, Member("nlgp", 0), "cpu")  # a Task
    >>> tuple(task.x_train.shape), len(task.models)  # minibatch mode: a fixed training set
    ((8000, 40), 2)
    """

    x_test: torch.Tensor
    y_test: torch.Tensor
    models: tuple
    x_train: torch.Tensor | None = None
    y_train: torch.Tensor | None = None


def loss_function(name: str, n_outputs: int = 1) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Per-sample loss of outputs f and classes y.

    One output (two classes, y in {0, 1}): 'mse' 0.5 (f - (2y - 1))^2, 'cross_entropy' the logistic loss.
    C outputs (y in 0..C-1), one-vs-all: 'mse' 0.5 sum_c (f_c - t_c)^2 with t_c = 1 for the class's output
    and -1 for the others, 'cross_entropy' the softmax cross-entropy log sum_c exp(f_c) - f_y.

    Parameters
    ----------
    name : {'mse', 'cross_entropy'}
    n_outputs : int
        1, or C.

    Returns
    -------
    callable
        (f of shape (..., B) or (..., B, C), y of shape (..., B)) -> loss of shape (..., B).

    Examples
    --------
    >>> import torch
    >>> loss_function("mse")(torch.tensor([0.0]), torch.tensor([1.0]))  # 0.5 (f - 1)^2
    tensor([0.5000])
    >>> loss_function("mse", 3)(torch.tensor([[0.0, 1.0, 0.0]]), torch.tensor([1.0]))  # 0.5 (1 + 0 + 1)
    tensor([1.])
    """
    if n_outputs > 1:
        if name == "mse":
            return lambda output, y: 0.5 * ((output - _one_vs_all(y, output)) ** 2).sum(dim=-1)
        return lambda output, y: torch.logsumexp(output, dim=-1) - output.gather(-1, y.long()[..., None])[..., 0]
    if name == "mse":
        return lambda output, y: 0.5 * (output - (2.0 * y - 1.0)) ** 2
    return lambda output, y: F.binary_cross_entropy_with_logits(output, y, reduction="none")


def _one_vs_all(y: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
    """Targets of classes y (..., B) for outputs (..., B, C), in their dtype: 1 for the class's output, -1 for
    the others."""
    return 2.0 * F.one_hot(y.long(), output.shape[-1]).to(output.dtype) - 1.0


def _optimizer(ensemble: Ensemble, config: TrainingConfig) -> torch.optim.Optimizer:
    """SGD or Adam over the trained parameters, each at the rate its parameterization gives it."""
    rates = ensemble.learning_rates(config.learning_rate)
    groups = [{"params": [parameter], "lr": rates[name]} for name, parameter in ensemble.trained().items()]
    for group in groups:
        group["params"][0].requires_grad_(True)
    if config.optimizer == "adam":
        return torch.optim.Adam(groups, lr=config.learning_rate)
    return torch.optim.SGD(groups, lr=config.learning_rate)


def _online_block(task: Task, rng: np.random.Generator, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Fresh samples of one member's two-class task: x (n, D) float32, y (n,) float32."""
    x, y = two_class(*task.models, max(2, n_samples), rng)
    return x[:n_samples].astype(np.float32, copy=False), y[:n_samples].astype(np.float32)


class SampleBlocks:
    """Each member's inputs for a block of steps: (E, steps, batch, D) and labels (E, steps, batch).

    Online: fresh samples from each member's own ``numpy`` generator (drawn on a small thread pool, one
    member per task, so the numbers do not depend on the pool).  Batch: minibatch indices into each
    member's training set from its own ``torch`` generator, drawn independently or, with
    ``order = 'epochs'``, as consecutive slices of a fresh permutation per pass.  ``train_ensemble`` draws its steps'
    samples here; drawn alone, they are what each member would see.

    Parameters
    ----------
    tasks : list of E Task
    seeds : list of E int
        Each member's sample (online) or minibatch-order (batch) seed.
    config : TrainingConfig

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> from cavitykit.imp.runner import Member, make_task
    >>> config = load_preset("ingrosso_goldt")  # online SGD, batch 1, D = 400
    >>> task, _ = make_task(config, Member("nlgp", 0), "cpu")
    >>> blocks = SampleBlocks([task], [0], config.training)
    >>> x, y = blocks.numpy(5)  # the next 5 steps' samples of the one member
    >>> blocks.close()
    >>> x.shape, y.shape
    ((1, 5, 400), (1, 5))
    """

    def __init__(self, tasks: list[Task], seeds: list[int], config: TrainingConfig):
        self.tasks, self.config = tasks, config
        if config.mode == "online":
            if any(len(task.models) != 2 for task in tasks):
                raise ValueError("online training draws two-class samples; a task of more classes needs mode = 'batch'")
            self.generators = [np.random.default_rng(seed) for seed in seeds]
        else:
            self.generators = [torch.Generator().manual_seed(seed) for seed in seeds]
        self.epochs = [torch.empty(0, dtype=torch.int64) for _ in tasks]  # each member's indices left this pass
        per_step = config.batch_size * tasks[0].x_test.shape[1] * 4
        self.block_steps = max(1, min(BLOCK_STEPS, BLOCK_BYTES // per_step))
        self.pool = ThreadPoolExecutor(max_workers=min(len(tasks), os.cpu_count() or 1))

    def close(self) -> None:
        self.pool.shutdown()

    def numpy(self, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
        """Online samples of the next ``n_steps`` steps: x (E, steps * batch, D), y (E, steps * batch)."""
        n_samples = n_steps * self.config.batch_size
        blocks = list(self.pool.map(lambda task, rng: _online_block(task, rng, n_samples), self.tasks, self.generators))
        return np.stack([x for x, _ in blocks]), np.stack([y for _, y in blocks])

    def _epoch_indices(self, member: int, n: int) -> torch.Tensor:
        """Member ``member``'s next ``n`` training-set indices in epochs (``_next_epochs``)."""
        size = len(self.tasks[member].x_train)
        index, self.epochs[member] = _next_epochs(self.epochs[member], n, size, self.generators[member])
        return index

    def torch(self, n_steps: int, device) -> tuple[torch.Tensor, torch.Tensor]:
        """The next ``n_steps`` steps' batches: x (E, steps, batch, D), y (E, steps, batch) on ``device``."""
        batch = self.config.batch_size
        if self.config.mode == "online":
            x, y = self.numpy(n_steps)
            x = torch.as_tensor(x).reshape(len(self.tasks), n_steps, batch, -1)
            return x.to(device), torch.as_tensor(y).reshape(len(self.tasks), n_steps, batch).to(device)
        xs, ys = [], []
        for member, (task, generator) in enumerate(zip(self.tasks, self.generators, strict=True)):
            if self.config.order == "epochs":
                index = self._epoch_indices(member, n_steps * batch).reshape(n_steps, batch)
            else:
                index = torch.randint(len(task.x_train), (n_steps, batch), generator=generator)
            index = index.to(task.x_train.device)
            xs.append(task.x_train[index])
            ys.append(task.y_train[index])
        return torch.stack(xs).to(device), torch.stack(ys).to(device, torch.float32)


def _next_epochs(
    left: torch.Tensor, n: int, size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The next ``n`` indices of a pass over ``size`` samples (``left``: what remains of the current pass),
    starting fresh permutations as passes end; returns them and what remains after."""
    parts, taken = [], 0
    while taken < n:
        if not len(left):
            left = torch.randperm(size, generator=generator)
        part = left[: n - taken]
        parts.append(part)
        taken += len(part)
        left = left[len(part) :]
    return torch.cat(parts), left


def train_ensemble(
    ensemble: Ensemble,
    tasks: list[Task],
    seeds: list[int],
    config: TrainingConfig,
    *,
    n_steps: int,
    capture_steps=(),
    route: str = "auto",
    progress: Callable[[int], None] | None = None,
) -> tuple[np.ndarray, dict | None]:
    """Train every member of ``ensemble`` in place for ``n_steps`` steps.

    Parameters
    ----------
    ensemble : Ensemble
        E members.
    tasks : list of E Task
    seeds : list of E int
        Each member's sample (online) or minibatch-order (batch) seed.
    config : TrainingConfig
    n_steps : int
    capture_steps : sequence of int
        Copy the parameters after each of these many steps, in [0, n_steps] (the late-rewinding
        point, training-time snapshots).  Blocks end where a copy is due, so the samples each
        step sees depend on them.
    route : {'auto', 'torch', 'kernel'}
        'auto' takes the Numba kernel where it applies (``kernel_route_applies``), torch elsewhere.
    progress : callable, optional
        Called with the number of steps done after each block.

    Returns
    -------
    train_loss : ndarray of shape (E,)
        Each member's mean loss over the last tenth of the steps (with batch normalization, by batch
        statistics; its evaluation statistics are then fitted on each member's training set).
    snapshots : dict
        ``ensemble.state()`` after each of ``capture_steps`` steps, by step.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> from cavitykit.imp.runner import Member, initial_network, make_task
    >>> net = initial_network(config, 0)
    >>> ensemble = Ensemble.stack([net], activation="relu", parameterization="standard", device="cpu")
    >>> task, _ = make_task(config, Member("nlgp", 0), "cpu")
    >>> before = accuracy(ensemble, [task])
    >>> _ = train_ensemble(ensemble, [task], [0], config.training, n_steps=300)
    >>> bool(accuracy(ensemble, [task])[0] > before[0])
    True
    """
    if route not in ROUTES:
        raise ValueError(f"route must be one of {ROUTES}, got {route!r}")
    device = ensemble.weight.device
    kernel_applies = kernel_route_applies(config, device) and not ensemble.deep and not ensemble.norm
    use_kernel = route == "kernel" or (route == "auto" and kernel_applies)
    if use_kernel and not kernel_applies:
        raise ValueError(
            f"route='kernel' needs online SGD with batch_size 1 on a CPU, one hidden layer and no batch "
            f"normalization, got {config} with {1 + len(ensemble.deep)} hidden layer(s)"
            + (" and batch normalization" if ensemble.norm else "")
        )
    if ensemble.norm and any(task.x_train is None for task in tasks):
        raise ValueError("batch normalization fits its statistics on the training set: it needs mode = 'batch'")
    if len(tasks) != ensemble.size or len(seeds) != ensemble.size:
        raise ValueError(f"need one task and one seed per member ({ensemble.size}), got {len(tasks)} and {len(seeds)}")
    captures = sorted(set(capture_steps))
    if captures and not 0 <= captures[0] <= captures[-1] <= n_steps:
        raise ValueError(f"capture_steps must lie in [0, n_steps={n_steps}], got {list(capture_steps)}")
    blocks = SampleBlocks(tasks, seeds, config)
    losses = np.empty((ensemble.size, n_steps), dtype=np.float32)
    snapshots = {}
    step_block = _kernel_steps(ensemble, blocks, config) if use_kernel else _torch_steps(ensemble, blocks, config)
    try:
        done = 0
        while True:
            if captures and captures[0] == done:
                snapshots[captures.pop(0)] = ensemble.state()
            if done == n_steps:
                break
            stop = min(done + blocks.block_steps, n_steps)
            if captures and captures[0] < stop:
                stop = captures[0]  # end the block where the next copy is due
            losses[:, done:stop] = step_block(stop - done)
            done = stop
            if progress is not None:
                progress(done)
        if ensemble.norm:  # evaluation normalizes by the training set's statistics
            ensemble.fit_normalization([task.x_train for task in tasks])
    finally:
        blocks.close()
        for parameter in ensemble.parameters():
            parameter.requires_grad_(False)
    tail = max(1, n_steps // 10)
    return losses[:, n_steps - tail :].astype(np.float64).mean(axis=1), snapshots


def _kernel_steps(ensemble: Ensemble, blocks: SampleBlocks, config: TrainingConfig):
    """A function running the next n steps of every member with the Numba kernel; returns losses (E, n)."""
    return lambda n: sgd_on_samples(ensemble, *blocks.numpy(n), config)


def _torch_steps(ensemble: Ensemble, blocks: SampleBlocks, config: TrainingConfig):
    """A function running the next n steps of every member with torch; returns losses (E, n)."""
    optimizer = _optimizer(ensemble, config)
    loss_of = loss_function(config.loss, ensemble.n_outputs)
    device = ensemble.weight.device

    size = ensemble.weight.numel() * config.batch_size
    threads = 1 if device.type == "cpu" and size < SMALL_STEP else torch.get_num_threads()

    def run(n: int) -> np.ndarray:
        x, y = blocks.torch(n, device)
        losses = torch.empty((ensemble.size, n), device=device)
        with _torch_threads(threads):
            for step in range(n):
                output = ensemble.forward(x[:, step], batch_statistics=True)
                per_member = loss_of(output, y[:, step]).mean(dim=1)  # (E,)
                optimizer.zero_grad(set_to_none=True)
                per_member.sum().backward()  # each member's gradient is its own loss's
                optimizer.step()
                ensemble.apply_masks()
                losses[:, step] = per_member.detach()
        return losses.cpu().numpy()

    return run


@contextmanager
def _torch_threads(n: int):
    """Run the block with torch's intra-op thread count set to ``n``, then restore it."""
    previous = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@torch.no_grad()
def accuracy(ensemble: Ensemble, tasks: list[Task], *, chunk: int = 8192) -> np.ndarray:
    """Each member's fraction of its test samples classified correctly, shape (E,): f > 0 means class 1
    for one output, the largest f_c class c for C outputs.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from cavitykit.data import NLGP
    >>> ensemble = Ensemble(np.ones((1, 2, 4)), np.ones((1, 2)), np.ones((1, 2, 4), bool), bias=np.ones((1, 2)))
    >>> task = Task(torch.zeros(10, 4), torch.ones(10), (NLGP(4, 1.0, 1.0), NLGP(4, 2.0, 1.0)))
    >>> accuracy(ensemble, [task])  # f > 0 everywhere: every label-1 sample right
    array([1.])
    """
    correct = np.zeros(ensemble.size)
    n_test = len(tasks[0].x_test)
    for start in range(0, n_test, chunk):
        x = torch.stack([task.x_test[start : start + chunk] for task in tasks])
        y = torch.stack([task.y_test[start : start + chunk] for task in tasks])
        output = ensemble.forward(x)
        predicted = output > 0 if ensemble.n_outputs == 1 else output.argmax(dim=-1)
        correct += (predicted.to(y.dtype) == y).sum(dim=1).cpu().numpy()
    return correct / n_test
