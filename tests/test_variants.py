"""The experiment vocabulary: pairs, seed streams and data models of every variant."""

import numpy as np
import pytest

from cavitykit import variants
from cavitykit.variants import CLONES, VARIANT_INDEX, VARIANTS, Stream, compared_pair, seed


def test_every_variant_has_a_label_a_colour_and_a_source():
    for variant in VARIANTS:
        assert variants.label(variant) != variant and variants.colour(variant) != "k"
        assert variants.source_model(variant) in CLONES
    assert set(CLONES) | set(CLONES.values()) == set(VARIANTS)
    with pytest.raises(ValueError, match="variant must be one of"):
        variants.source_model("mnist")


def test_seed_streams_are_stable():
    # Stored runs reproduce only if these never change: the original variants keep streams 0 and 1.
    assert VARIANT_INDEX["nlgp"] == 0 and VARIANT_INDEX["gaussian_clone"] == 1
    assert [int(s) for s in Stream] == [0, 1, 2, 3, 4, 5]  # new streams take new numbers
    assert seed(3, 0, Stream.DATA, 1) == int(np.random.SeedSequence([3, 0, 1, 1]).generate_state(1)[0])
    assert len({seed(3, r, stream) for r in range(3) for stream in Stream}) == 18


def test_compared_pair_prefers_nlgp_and_names_what_is_missing():
    assert compared_pair(["ising", "ising_clone", "nlgp", "gaussian_clone"]) == ("nlgp", "gaussian_clone")
    assert compared_pair(["ising_clone", "ising", "nlgp"]) == ("ising", "ising_clone")
    assert compared_pair(["nlgp", "gaussian_clone", "ising", "ising_clone"], "ising") == ("ising", "ising_clone")
    with pytest.raises(ValueError, match=r"compares a model with its clone.*this run has \['nlgp'\]"):
        compared_pair(["nlgp"])
    with pytest.raises(ValueError, match="variant='ising' needs ising and ising_clone"):
        compared_pair(["nlgp", "gaussian_clone"], "ising")
    with pytest.raises(ValueError, match="variant must be one of"):
        compared_pair(["nlgp", "gaussian_clone"], "gaussian_clone")
