"""The one mask type: prunable layers as strategies see them, removals, stacking, float32 views, storage."""

import numpy as np
import pytest

from cavitykit.io import stored_mask, stored_pruning
from cavitykit.io.store import read_round, round_path
from cavitykit.network import Mask
from cavitykit.testing import example_run


def test_a_first_layer_mask_alone_keeps_the_whole_readout():
    mask = Mask(np.array([[True, False], [False, False]]))
    assert mask.readout.tolist() == [True, True] and not mask.prunes_readout
    assert [layer.shape for layer in mask.layers()] == [(2, 2)]
    assert mask.sparsity == 0.75


def test_removing_weights_from_each_prunable_layer():
    mask = Mask.dense(2, 3, prunes_readout=True)
    removed = [np.array([[False, True, False], [False, False, True]]), np.array([[True, False]])]
    smaller = mask.without(removed)
    assert smaller.weight.tolist() == [[True, False, True], [True, True, False]]
    assert smaller.readout.tolist() == [False, True]
    assert mask.weight.all()  # the original is unchanged
    first, deep, readout = smaller.split(removed)
    assert first is removed[0] and deep == () and readout.tolist() == [True, False]
    assert Mask.dense(2, 3).split(removed[:1])[2] is None


def test_a_deeper_network_prunes_each_hidden_layer_then_the_readout():
    mask = Mask.dense((3, 2), 4, n_outputs=5, prunes_readout=True)  # D = 4 -> 3 -> 2 -> 5 outputs
    assert [layer.shape for layer in mask.layers()] == [(3, 4), (2, 3), (5, 2)]
    removed = [np.zeros((3, 4), bool), np.eye(2, 3, dtype=bool), np.zeros((5, 2), bool)]
    removed[2][4, 1] = True
    smaller = mask.without(removed)
    assert smaller.deep[0].tolist() == [[False, True, True], [True, False, True]]
    assert smaller.readout[4].tolist() == [True, False] and smaller.readout.sum() == 9
    assert smaller.weight.all() and mask.deep[0].all()
    stacked = Mask.stack([smaller, mask])
    assert stacked.deep[0].shape == (2, 2, 3) and int(stacked.keep("cpu")[2][0].sum()) == 10
    with pytest.raises(ValueError, match="deeper layer"):
        Mask(np.ones((3, 4), bool), deep=(np.ones((2, 2), bool),))  # fan-in 2, but the layer below has 3 units


def test_members_stack_along_a_leading_axis_and_give_float_views():
    torch = pytest.importorskip("torch")
    masks = [Mask.dense(2, 3, prunes_readout=True).without([np.eye(2, 3, dtype=bool), np.zeros((1, 2), bool)])] * 2
    stacked = Mask.stack(masks)
    assert stacked.weight.shape == (2, 2, 3) and stacked.readout.shape == (2, 2)
    weight, readout, deep = stacked.keep("cpu")
    assert weight.dtype == torch.float32 and weight.sum().item() == 8 and readout.sum().item() == 4 and deep == ()
    assert Mask.dense(2, 3).keep("cpu")[1] is None  # an unprunable readout is never multiplied


@pytest.mark.parametrize(
    ("weight", "readout", "message"),
    [
        (np.ones((2, 3)), None, "boolean"),
        (np.ones((2, 3), bool), np.ones(3, bool), r"\(\.\.\., K\)"),
        (np.ones(3, bool), None, r"\(\.\.\., K, D\)"),
    ],
)
def test_bad_masks_are_refused(weight, readout, message):
    with pytest.raises(ValueError, match=message):
        Mask(weight, readout)


def test_a_stored_round_gives_back_its_mask_and_pruning():
    one = read_round(round_path(example_run(), "nlgp", 1, 1)).isel(variant=0, replicate=0, round=0)
    mask = stored_mask(one)
    np.testing.assert_array_equal(mask.weight, one["mask"].values)
    pruned = stored_pruning(one)
    after = mask.without(pruned)
    assert after.weight.sum() == mask.weight.sum() - pruned[0].sum()
    assert not (after.weight & pruned[0]).any()


def test_a_readout_of_three_outputs_is_a_prunable_layer_of_three_rows():
    mask = Mask.dense(2, 3, n_outputs=3, prunes_readout=True)
    assert mask.readout.shape == (3, 2) and mask.n_outputs == 3 and Mask.dense(2, 3).n_outputs == 1
    assert [layer.shape for layer in mask.layers()] == [(2, 3), (3, 2)]
    removed = [np.zeros((2, 3), bool), np.array([[True, False], [False, False], [False, True]])]
    smaller = mask.without(removed)
    assert smaller.readout.tolist() == [[False, True], [True, True], [True, False]]
    assert smaller.split(removed)[2].shape == (3, 2)
    stacked = Mask.stack([smaller, mask])
    assert stacked.readout.shape == (2, 3, 2) and stacked.n_outputs == 3
    with pytest.raises(ValueError, match=r"\(\.\.\., C, K\)"):
        Mask(np.ones((2, 3), bool), np.ones((3, 3), bool))
