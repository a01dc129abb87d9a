"""A member's samples: a run on images trains on the task's training images and tests on its test images."""

import numpy as np
import pytest

from cavitykit.config import config_from_dict
from cavitykit.data.labelled import task_images
from cavitykit.samples import member_samples


@pytest.mark.parametrize("classes", [[["astronaut"], ["coffee"]], [["astronaut"], ["rocket"], ["coffee"]]])
def test_a_run_on_the_photographs_trains_on_the_training_patches_and_tests_on_the_test_patches(classes):
    pytest.importorskip("skimage")
    config = config_from_dict(
        {
            "variants": ["images", "images_clone"],
            "data": {"source": "photos", "shape": [8, 8], "classes": classes, "n_train": 600, "n_test": 300},
            "training": {"mode": "batch"},
            "analysis": {"n_heldout": 50},
        }
    )
    task = task_images(config.data)
    real, clone = (member_samples(config, variant, 0) for variant in ("images", "images_clone"))
    for drawn, own in ((real.train, task.train), (real.test, task.test)):
        # the same images with the same labels, in their order: nothing drawn again, nothing from the other split
        np.testing.assert_array_equal(drawn[0], own[0])
        np.testing.assert_array_equal(drawn[1], own[1])
    for drawn, own in ((clone.train, task.train), (clone.test, task.test)):
        assert drawn[0].shape == own[0].shape
        assert (
            np.bincount(drawn[1]).tolist()
            == np.bincount(own[1]).tolist()
            == [len(own[1]) // len(classes)] * len(classes)
        )


def test_the_kurtosis_after_pruning_is_scipys_g2_of_the_pruned_preactivations():
    """G2 = k_4 / k_2^2 (scipy's bias-corrected kurtosis) of w' x / sqrt(D) + b on the member's held-out
    inputs, w' the round's kept weights less those it prunes next."""
    from scipy import stats

    from cavitykit import open_run
    from cavitykit.config import load_config
    from cavitykit.samples import kurtosis_after_pruning, member_samples
    from cavitykit.testing import example_run

    config = load_config(example_run() / "config.toml")
    one = open_run(example_run()).sel(variant="nlgp", replicate=1).transpose("round", "neuron", "input", ...)
    mask, pruned = one["mask"].values.astype(bool), one.pruned_next.values.astype(bool)
    bias = one.bias.values if "bias" in one else np.zeros(one.weight.shape[:2])
    after = kurtosis_after_pruning(config, "nlgp", 1, one)
    heldout = member_samples(config, "nlgp", 1).heldout
    assert after.shape == (one.sizes["round"], len(heldout), one.sizes["neuron"]) and pruned.any()
    for r in range(one.sizes["round"]):
        kept = one.weight.values[r] * (mask[r] & ~pruned[r])
        for label, x in enumerate(heldout):
            h = x.astype(np.float64) @ kept.T / np.sqrt(x.shape[1]) + bias[r]
            np.testing.assert_allclose(after[r, label], stats.kurtosis(h, axis=0, bias=False), rtol=1e-9)
