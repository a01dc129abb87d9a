"""Analyses and claim statistics on constructed run data whose answers are known by hand."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

import cavitykit
from cavitykit import analysis, metrics
from cavitykit.io import RoundRecord, encode_round
from tests.imp.tiny import tiny_config

N_HELDOUT = 600
# Unit 0: one weight (IPR 1, width 0, localized).  Unit 1: two equal weights two pixels apart on a
# ring of 8 (IPR 1/2; mean resultant cos(pi/4), so width 8 / (2 pi) sqrt(ln 2) = 1.06 > 0.1 L).
WEIGHT = np.vstack([np.eye(8)[3] * 2.0, np.eye(8)[5] - np.eye(8)[7]])
WIDE = 8 / (2 * np.pi) * np.sqrt(np.log(2))
# Excess kurtosis (class, unit) per replicate in round 0; round 1 doubles it.
KURTOSIS = {0: np.array([[-1.0, 0.5], [-0.5, 1.0]]), 1: np.array([[-2.0, 1.0], [1.0, 0.0]])}


def constructed_record(replicate, round_index):
    units = WEIGHT.shape[0]
    return RoundRecord(
        variant="nlgp",
        replicate=replicate,
        round_index=round_index,
        weight=WEIGHT,
        mask=WEIGHT != 0,
        init_weight=WEIGHT,
        readout=np.ones(units),
        init_readout=np.ones(units),
        readout_mask=np.ones(units, dtype=bool),
        pruned_next=np.zeros(WEIGHT.shape, dtype=bool),
        train_loss=0.1,
        test_accuracy=0.5 + 0.1 * replicate,
        preact_variance=np.ones((2, units)),
        preact_skewness=np.zeros((2, units)),
        preact_excess_kurtosis=KURTOSIS[replicate] * (1 + round_index),
        ipr=metrics.ipr(WEIGHT),
    )


@pytest.fixture(scope="module")
def constructed_run():
    config = tiny_config(data={"L": 8}, analysis={"n_heldout": N_HELDOUT, "cavity": False})
    rounds = [encode_round(constructed_record(rep, r), config, data_description={}) for rep in (0, 1) for r in (0, 1)]
    return xr.combine_by_coords(rounds, combine_attrs="drop_conflicts")


def test_localization_of_hand_made_fields(constructed_run):
    local = analysis.localization(constructed_run).isel(variant=0, replicate=0, round=0)
    np.testing.assert_allclose(local.ipr, [1.0, 1 / 2])
    np.testing.assert_allclose(local.participation_ratio, [1.0, 2.0])
    np.testing.assert_allclose(local.random_ipr, [3 / 3, 3 / 4])
    np.testing.assert_allclose(local.rf_width, [0.0, WIDE], atol=1e-12)
    np.testing.assert_array_equal(local.localized, [True, False])


def test_localization_in_two_dimensions_needs_every_axis():
    """A field one pixel wide in x but about 3 pixels in y is not localized at 0.1 L = 2 pixels."""
    L = 20
    distance = np.minimum(np.arange(L), L - np.arange(L))
    column = np.zeros((L, L))
    column[:, 4] = np.exp(-(distance**2) / (4 * 3.0**2))  # squared weights: a Gaussian of sd 3 along y
    dot = np.zeros((L, L))
    dot[7, 2] = 1.0
    weight = np.stack([column.ravel(), dot.ravel()])
    index = np.arange(L * L)
    ds = xr.Dataset(
        {"weight": (("neuron", "input"), weight), "mask": (("neuron", "input"), weight != 0)},
        coords={"x": ("input", index % L), "y": ("input", index // L)},
    )
    ds["ipr"] = ("neuron", metrics.ipr(weight))
    local = analysis.localization(ds)
    np.testing.assert_array_equal(local.localized, [False, True])
    assert local.rf_width.values[0] == pytest.approx(3.0 / 2, rel=0.02)  # mean of widths 0 and ~3
    assert local.rf_width.values[0] < 0.1 * L  # a mean-of-axes criterion would call it localized


def test_round_summary_of_a_constructed_run(constructed_run):
    summary = analysis.round_summary(constructed_run).sel(variant="nlgp")
    r0 = summary.sel(round=0)
    assert float(r0.ipr) == pytest.approx((1 + 1 / 2) / 2)
    assert float(r0.random_ipr) == pytest.approx((1 + 3 / 4) / 2)
    assert float(r0.localized_fraction) == 0.5
    assert float(r0.rf_width) == pytest.approx(WIDE / 2)
    # Mean |kurtosis| over classes and units: 0.75 and 1.0 for the two replicates; doubled in round 1.
    np.testing.assert_allclose(summary.abs_kurtosis, [0.875, 1.75])
    np.testing.assert_allclose(summary.abs_kurtosis_sd, [0.25 / np.sqrt(2), 0.5 / np.sqrt(2)])
    np.testing.assert_allclose(summary.kurtosis, [0.0, 0.0], atol=1e-15)
    assert float(r0.test_accuracy) == pytest.approx(0.55)
    assert float(r0.sparsity) == pytest.approx(13 / 16)
    assert float(r0.abs_kurtosis_noise) == pytest.approx(np.sqrt(2 / np.pi) * np.sqrt(24 / N_HELDOUT))
    assert summary.attrs == {"n_replicates": 2, "n_heldout": N_HELDOUT}


def test_per_replicate_keeps_each_network(constructed_run):
    one = analysis.per_replicate(constructed_run).sel(variant="nlgp")
    assert set(one.dims) == {"replicate", "round"}
    # Mean |kurtosis| over classes and units of each replicate (round 1 doubles it); signed means vanish.
    np.testing.assert_allclose(one.abs_kurtosis.sel(round=0), [0.75, 1.0])
    np.testing.assert_allclose(one.abs_kurtosis.sel(round=1), [1.5, 2.0])
    np.testing.assert_allclose(one.kurtosis.sel(round=0), [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(one.ipr, 0.75)
    np.testing.assert_allclose(one.localized_fraction, 0.5)
    np.testing.assert_allclose(one.test_accuracy.sel(round=0), [0.5, 0.6])


def test_weight_movement_of_hand_made_units():
    w0 = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, 2.0]])
    w = np.array([[3.0, 4.0], [2.0, 0.0], [2.0, 0.0]])  # unmoved, scaled by 2, turned by 90 degrees
    ds = xr.Dataset({"weight": (("neuron", "input"), w), "init_weight": (("neuron", "input"), w0)})
    moved = analysis.weight_movement(ds)
    np.testing.assert_allclose(moved.relative_change, [0.0, 1.0, np.sqrt(2)])
    np.testing.assert_allclose(moved.cosine, [1.0, 1.0, 0.0], atol=1e-15)


def cavity_run():
    """One variant, replicate and round; unit 0 has 4 weights, 2 pruned next; known cavity effects."""
    mask = np.array([[True, True, True, True, False, False]])
    pruned = np.array([[True, True, False, False, False, False]])
    delta = np.array([[[-0.1, -0.2, 0.3, 0.1, np.nan, np.nan]]])  # one class
    dims = ("variant", "replicate", "round")
    return xr.Dataset(
        {
            "mask": ((*dims, "neuron", "input"), mask[None, None, None]),
            "pruned_next": ((*dims, "neuron", "input"), pruned[None, None, None]),
            "cavity_exact": ((*dims, "label", "neuron", "input"), delta[None, None, None]),
            "preact_excess_kurtosis": ((*dims, "label", "neuron"), np.full((1, 1, 1, 1, 1), -0.5)),
        },
        coords={"variant": ["nlgp"], "replicate": [0], "round": [0], "label": [0], "neuron": [0], "input": range(6)},
    )


def test_cavity_groups_on_a_constructed_run():
    groups = analysis.cavity_groups(cavity_run()).sel(variant="nlgp", round=0)
    # kurtosis -0.5: a negative delta raises |kurtosis|; both pruned weights do, neither kept one.
    assert float(groups.fraction_raising_pruned) == 1.0
    assert float(groups.fraction_raising_kept) == 0.0
    assert int(groups.count_random) == 2
    assert float(groups.mean_delta_pruned) == pytest.approx(-0.15)
    assert float(groups.mean_delta_kept) == pytest.approx(0.2)
    pruning = analysis.pruning_groups(cavity_run()).isel(variant=0, replicate=0, round=0)
    np.testing.assert_array_equal(pruning.kept.values, [[False, False, True, True, False, False]])


def test_expansion_error_is_the_median_relative_error():
    exact = np.array([1.0, -2.0, 4.0, np.nan])
    expansions = np.array(
        [[1.1, -1.0, 4.0, np.nan], [1.01, -2.02, 4.4, np.nan]]
    )  # errors 0.1, 0.5, 0 and 0.01, 0.01, 0.1
    dims = ("variant", "replicate", "round", "label", "neuron", "input")
    ds = xr.Dataset(
        {
            "cavity_exact": (dims, exact.reshape(1, 1, 1, 1, 1, 4)),
            "cavity_expansion": ((*dims[:4], "approx_order", *dims[4:]), expansions.reshape(1, 1, 1, 1, 2, 1, 4)),
        },
        coords={"variant": ["nlgp"], "approx_order": [1, 2]},
    )
    np.testing.assert_allclose(analysis.expansion_error(ds).sel(variant="nlgp"), [0.1, 0.01])


def test_kurtosis_ipr_correlation_is_pearson_over_finite_units():
    # Mean |kurtosis| over the two classes: 1, 2, 3 and NaN (a dead unit).
    kurtosis = np.array([[-1.0, 2.0, 3.0, np.nan], [1.0, -2.0, 3.0, np.nan]])
    ipr = {"a": [3.0, 5.0, 7.0, 0.5], "b": [7.0, 5.0, 3.0, 0.5]}  # exactly linear in it, rising and falling
    ds = xr.Dataset(
        {
            "preact_excess_kurtosis": (
                ("variant", "replicate", "round", "label", "neuron"),
                np.stack([kurtosis, kurtosis])[:, None, None],
            ),
            "ipr": (("variant", "replicate", "round", "neuron"), np.array([ipr["a"], ipr["b"]])[:, None, None]),
        },
        coords={"variant": ["a", "b"]},
    )
    np.testing.assert_allclose(analysis.kurtosis_ipr_correlation(ds), [1.0, -1.0])


def summary_of(**variables):
    """A round_summary-like Dataset over (variant: nlgp, gaussian_clone; round) from lists per variant."""
    return xr.Dataset(
        {name: (("variant", "round"), np.asarray(values, dtype=float)) for name, values in variables.items()},
        coords={"variant": ["nlgp", "gaussian_clone"], "round": np.arange(len(next(iter(variables.values()))[0]))},
        attrs={"n_replicates": 2, "n_heldout": 1000},
    )


def test_gaussian_kurtosis_sd_matches_sampling(rng):
    n_samples, n_draws = 2000, 2000
    estimates = cavitykit.kurtosis(rng.standard_normal((n_samples, n_draws)))
    assert estimates.std() == pytest.approx(analysis.gaussian_kurtosis_sd(n_samples), rel=0.1)


def feature_run(weight, init_weight, accuracy, *, n_test=400):
    """One dense round of NLGP and of its clone with the given weights, rewind point and accuracy."""
    config = tiny_config(data={"L": 4, "n_test": n_test}, analysis={"n_heldout": N_HELDOUT, "cavity": False})
    rounds = []
    for variant in ("nlgp", "gaussian_clone"):
        record = constructed_record(0, 0)
        record = dataclasses.replace(
            record,
            variant=variant,
            weight=weight,
            mask=np.ones(weight.shape, bool),
            init_weight=init_weight,
            pruned_next=np.zeros(weight.shape, bool),
            test_accuracy=accuracy,
            ipr=metrics.ipr(weight),
        )
        rounds.append(encode_round(record, config, data_description={}))
    return xr.combine_by_coords(rounds, combine_attrs="drop_conflicts")


INITIAL = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]])
PAIR = ("nlgp", "gaussian_clone")


def test_a_network_that_only_rescaled_its_initialization_learned_no_features():
    check = analysis.feature_learning(feature_run(1.1 * INITIAL, INITIAL, 0.99), PAIR)
    np.testing.assert_allclose(check.relative_change, 0.1)
    np.testing.assert_allclose(check.cosine, 1.0)
    assert not check.learned.any() and not bool(check.passed)


def test_a_network_that_turned_away_from_its_initialization_learned_features():
    # Each unit gains a component twice its initial one, orthogonal to it: cosine 1 / sqrt(5).
    turned = INITIAL + 2.0 * np.array([[0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    check = analysis.feature_learning(feature_run(turned, INITIAL, 0.99), PAIR)
    np.testing.assert_allclose(check.relative_change, 2.0)
    np.testing.assert_allclose(check.cosine, 1 / np.sqrt(5))
    np.testing.assert_allclose(check.random_ipr, 3 / 6)
    assert check.learned.all() and bool(check.passed)
    # The same weights at chance: 0.5 + 3 sqrt(0.25 / 400) = 0.575 is the bar.
    np.testing.assert_allclose(analysis.feature_learning(feature_run(turned, INITIAL, 0.57), PAIR).chance, 0.575)
    assert not bool(analysis.feature_learning(feature_run(turned, INITIAL, 0.57), PAIR).passed)
    assert bool(analysis.feature_learning(feature_run(turned, INITIAL, 0.58), PAIR).passed)


def test_snapshot_summary_of_hand_made_snapshots():
    config = tiny_config(data={"L": 8}, analysis={"n_heldout": N_HELDOUT, "cavity": False})
    flat = np.ones((2, 8))
    snapshots = np.stack([np.full((2, 8), np.nan), flat, WEIGHT])  # missing, flat, the constructed fields
    record = dataclasses.replace(
        constructed_record(0, 0),
        snapshot_time=np.array([0.0, 1.0, 10.0]),
        snapshot_weight=snapshots,
        snapshot_readout=np.ones((3, 2)),
    )
    summary = analysis.snapshot_summary(encode_round(record, config, data_description={}))
    one = summary.sel(variant="nlgp", replicate=0, round=0)
    assert one.ipr.isel(time=0).isnull().all() and not one.localized.isel(time=0).any()
    np.testing.assert_allclose(one.ipr.isel(time=1), 1 / 8)  # a flat field
    np.testing.assert_allclose(one.ipr.isel(time=2), [1.0, 0.5])
    np.testing.assert_array_equal(one.localized.isel(time=2), [True, False])
    np.testing.assert_allclose(summary.localized_fraction.sel(variant="nlgp", round=0), [np.nan, 0.0, 0.5])
    np.testing.assert_allclose(summary.random_ipr, 3 / 10)
    with pytest.raises(ValueError, match="keeps no snapshots"):
        analysis.snapshot_summary(encode_round(constructed_record(0, 0), config, data_description={}))
