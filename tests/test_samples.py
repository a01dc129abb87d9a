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
