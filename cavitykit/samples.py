"""The samples of one network of a run, drawn from its own seed stream: the training set (minibatch
mode), the test set, and the held-out inputs of each class behind every per-round statistic.

The runner trains and measures on them; ``cavitykit cumulants`` and the report compute a run's
cumulant spectra on the same held-out inputs, so that a run's spectra and its per-round statistics
describe the same samples; ``kurtosis_after_pruning`` measures a member's networks on them once the
weights IMP prunes next are removed (what claim 3's feedback reads, and a weights file keeps).  Imports
neither torch nor the IMP engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cavitykit.data import two_class
from cavitykit.network.formulas import preactivation
from cavitykit.stats import kstats
from cavitykit.variants import VARIANT_INDEX, Stream, seed


@dataclass(frozen=True)
class MemberSamples:
    """A member's samples; labels y are the classes 0..C-1 (C = 2 but for images of more classes).

    Attributes
    ----------
    models : tuple
        The data model of each class (``config.data.models``).
    train : tuple of ndarray, or None
        (x of shape (n_train, D), y of shape (n_train,)) in minibatch mode; None for online training,
        which draws fresh samples.
    test : tuple of ndarray
        (x of shape (n_test, D), y of shape (n_test,)).
    heldout : list of ndarray of float32, shape (n_c, D)
        Held-out inputs of each class (``heldout_counts``): statistics are taken per class, since the
        two-class mixture of Gaussian clones is a scale mixture, non-Gaussian although each class is
        Gaussian.
    """

    models: tuple
    train: tuple[np.ndarray, np.ndarray] | None
    test: tuple[np.ndarray, np.ndarray]
    heldout: list[np.ndarray]


def heldout_counts(config) -> list[int]:
    """Held-out inputs of each class behind a run's statistics: ``analysis.n_heldout``, or for images the
    class's test images when they are fewer.

    A class of images gives its test images without replacement (no image counts twice), and its clone
    as many fresh draws, so that model and clone are measured on samples of one size.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> heldout_counts(load_preset("quick"))
    [20000, 20000]
    """
    n = config.analysis.n_heldout
    if config.data.periodic:
        return [n, n]
    tests = np.bincount(config.data.images().test[1])
    return [min(n, int(count)) for count in tests]


def _image_sets(config, variant: str, models, rng) -> tuple[tuple, tuple]:
    """The training and test sets of an image variant: the images' own, or as many draws of each class
    from its Gaussian clone (shuffled)."""
    images = config.data.images()
    if variant == "images":
        return images.train, images.test
    sets = []
    for _, y in (images.train, images.test):
        counts = np.bincount(y, minlength=len(models))
        drawn = np.concatenate([model.sample(int(n), rng) for model, n in zip(models, counts, strict=True)])
        labels = np.repeat(np.arange(len(models)), counts)
        order = rng.permutation(len(labels))
        sets.append((drawn[order], labels[order]))
    return sets[0], sets[1]


def member_samples(config, variant: str, replicate: int) -> MemberSamples:
    """The samples of ``(variant, replicate)`` of a run of ``config``, in the order the run draws them.

    Parameters
    ----------
    config : RunConfig
    variant : str
    replicate : int

    Returns
    -------
    MemberSamples

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> samples = member_samples(load_preset("quick"), "nlgp", 0)
    >>> samples.test[0].shape, [x.shape for x in samples.heldout]  # test set; held-out inputs per class
    ((4000, 40), [(20000, 40), (20000, 40)])
    """
    models = config.data.models(variant)
    rng = np.random.default_rng(seed(config.seed, replicate, Stream.DATA, VARIANT_INDEX[variant]))
    if not config.data.periodic:  # images (a researcher's arrays or the photographs): their own splits
        train, test = _image_sets(config, variant, models, rng)
    else:
        train = two_class(*models, config.data.n_train, rng) if config.training.mode == "batch" else None
        test = two_class(*models, config.data.n_test, rng)
    heldout = [
        model.sample(n, rng).astype(np.float32, copy=False)
        for model, n in zip(models, heldout_counts(config), strict=True)
    ]
    return MemberSamples(models, train, test, heldout)


def kurtosis_after_pruning(config, variant: str, replicate: int, member) -> np.ndarray:
    """Excess kurtosis k_4 / k_2^2 of each unit's pre-activation, each round, once the weights pruned next
    are removed and nothing retrained, on the member's held-out inputs (those of its round statistics).

    Parameters
    ----------
    config : RunConfig
    variant : str
    replicate : int
    member : xarray.Dataset
        The member's rounds (a run, or a weights file, selected to one variant and replicate):
        ``weight``, ``mask`` and ``pruned_next`` over (round, neuron, input), ``bias`` if it has one.  With
        batch normalization ``weight`` must be the weights as they act on the pixels
        (``io.schema.first_layer_fields``), which the callers in ``io`` and ``analysis`` pass.

    Returns
    -------
    ndarray of shape (R, C, K): NaN for a round the member lacks and for a unit left with no weight.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.config import load_config
    >>> from cavitykit.testing import example_run
    >>> member = open_run(example_run()).sel(variant="nlgp", replicate=0)
    >>> kurtosis_after_pruning(load_config(example_run() / "config.toml"), "nlgp", 0, member).shape
    (3, 2, 8)
    """
    member = member.transpose("round", "neuron", "input", ...)
    weight = member.weight.values.astype(np.float64)
    mask = np.nan_to_num(member["mask"].values).astype(bool)
    pruned_next = np.nan_to_num(member.pruned_next.values).astype(bool)
    bias = member.bias.values.astype(np.float64) if "bias" in member else None
    heldout = member_samples(config, variant, replicate).heldout
    out = np.full((weight.shape[0], len(heldout), weight.shape[1]), np.nan)
    for r in range(weight.shape[0]):
        if not np.isfinite(weight[r]).all():
            continue  # a round this member lacks
        kept = mask[r] & ~pruned_next[r]
        for label, inputs in enumerate(heldout):
            k = kstats(preactivation(inputs.astype(np.float64), weight[r] * kept, None if bias is None else bias[r]), 4)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[r, label] = np.where(kept.any(axis=1), k[3] / k[1] ** 2, np.nan)
    return out
