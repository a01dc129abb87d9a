"""Figures draw the numbers of the analyses: the data on their axes, checked as xarray's plot tests do."""

import dataclasses

import numpy as np
import pytest
import xarray as xr

from cavitykit import analysis, metrics, plot
from cavitykit.io import RoundRecord, encode_round
from tests.imp.tiny import tiny_config

L, K = 4, 4
TIMES = np.array([0.0, 1.0, 10.0, 100.0, 1000.0])


def snapshot_run():
    """A dense round of NLGP and its clone on a 4 x 4 torus whose snapshots are made by hand: each unit's
    field at time j is a bump sharpened by j (NLGP) or a flat field (clone)."""
    config = tiny_config(data={"L": L, "dim": 2}, network={"width": K}, analysis={"n_heldout": 600, "cavity": False})
    rng = np.random.default_rng(0)
    rounds = []
    for variant in ("nlgp", "gaussian_clone"):
        snapshots = np.ones((len(TIMES), K, L * L)) + 0.01 * rng.standard_normal((len(TIMES), K, L * L))
        if variant == "nlgp":
            for j in range(len(TIMES)):
                snapshots[j, :, 5] += 3.0 * j  # one pixel grows
        weight = snapshots[-1]
        record = RoundRecord(
            variant=variant,
            replicate=0,
            round_index=0,
            weight=weight,
            mask=np.ones(weight.shape, bool),
            init_weight=snapshots[0],
            readout=np.ones(K),
            init_readout=np.ones(K),
            readout_mask=np.ones(K, bool),
            pruned_next=np.zeros(weight.shape, bool),
            train_loss=0.1,
            test_accuracy=0.9,
            preact_variance=np.ones((2, K)),
            preact_skewness=np.zeros((2, K)),
            preact_excess_kurtosis=np.zeros((2, K)),
            ipr=metrics.ipr(weight),
        )
        record = dataclasses.replace(
            record, snapshot_time=TIMES, snapshot_weight=snapshots, snapshot_readout=np.ones((len(TIMES), K))
        )
        rounds.append(encode_round(record, config, data_description={}))
    return xr.combine_by_coords(rounds, combine_attrs="drop_conflicts")


@pytest.fixture(scope="module")
def run():
    return snapshot_run()


def test_training_time_draws_every_units_ipr_and_the_mean_against_t(run):
    summary = analysis.snapshot_summary(run)
    figure = plot.training_time(summary, ("nlgp", "gaussian_clone"))
    left, right = figure.axes
    shown = TIMES > 0
    for variant in ("nlgp", "gaussian_clone"):
        unit_lines = [line for line in left.lines if line.get_linewidth() < 1 and line.get_label().startswith("_")]
        assert len(unit_lines) == 2 * K
        mean = [
            line
            for line in left.lines
            if line.get_label() == {"nlgp": "NLGP", "gaussian_clone": "Gaussian clone"}[variant]
        ]
        np.testing.assert_allclose(mean[0].get_xdata(), TIMES[shown])
        np.testing.assert_allclose(mean[0].get_ydata(), summary.mean_ipr.sel(variant=variant, round=0).values[shown])
    random_line = next(line for line in left.lines if "random" in line.get_label())
    np.testing.assert_allclose(random_line.get_ydata(), 3 / (L * L + 2))
    assert left.get_xscale() == "log"
    fractions = {line.get_label(): line.get_ydata() for line in right.lines}
    np.testing.assert_allclose(fractions["NLGP"], summary.localized_fraction.sel(variant="nlgp", round=0).values[shown])
    # The hand-made NLGP fields sharpen: the last one is localized, the clone's flat ones never are.
    assert fractions["NLGP"][-1] == 1.0 and not np.any(fractions["Gaussian clone"])


def test_receptive_fields_over_time_shows_the_nearest_snapshot_of_every_unit(run):
    figure = plot.receptive_fields_over_time(run, ("nlgp", "gaussian_clone"), [9.0, 1200.0])
    axes = figure.axes
    assert [ax.get_title() for ax in axes] == [
        "NLGP, t = 10",
        "Gaussian clone, t = 10",
        "NLGP, t = 1e+03",
        "Gaussian clone, t = 1e+03",
    ]
    image = axes[2].images[0].get_array()  # NLGP at t = 1000: unit 0 is the top-left tile
    field = run.snapshot_weight.sel(variant="nlgp", time=1000.0).isel(replicate=0, round=0, neuron=0).values
    np.testing.assert_allclose(image[:L, :L], (field / np.abs(field).max()).reshape(L, L))


def test_mosaic_columns_leave_no_blank_tile_when_a_divisor_fits():
    from cavitykit.plot.figures import _mosaic_columns

    assert [_mosaic_columns(n) for n in (8, 16, 12, 7, 100)] == [4, 4, 4, 3, 10]


def test_log_ticks_are_a_few_of_the_values_spread_in_log():
    from cavitykit.plot.figures import _log_ticks

    counts = np.round(400 * 0.8 ** np.arange(14))
    ticks = _log_ticks(counts)
    assert len(ticks) <= 6 and set(ticks) <= set(counts) and {counts.min(), counts.max()} <= set(ticks)
    assert _log_ticks([400, 100]) == [100.0, 400.0]


def test_claims_by_round_draws_each_strategy_s_mean_over_replicates():
    rounds = np.arange(3)
    values = np.array([[[0.0, 0.5, 1.0], [0.2, 0.7, 1.0]], [[0.1, 0.1, 0.1], [0.3, 0.3, 0.3]]])  # (line, rep, round)
    lines = ["imp:nlgp", "random:nlgp"]
    data = {name: (("line", "replicate", "round"), values) for name in ("bump", "compactness", "ipr_over_top")}
    data |= {
        "abs_kurtosis": (("line", "replicate", "round"), values),
        "coherence": (("line", "replicate", "round"), values),
    }
    trajectories = xr.Dataset(data, coords={"line": lines, "round": rounds})
    figure = plot.claims_by_round(trajectories, ("nlgp", "gaussian_clone"))
    bump_axis = figure.axes[0]
    drawn = {line.get_label(): line.get_ydata() for line in bump_axis.get_lines()}
    np.testing.assert_allclose(drawn["IMP, NLGP"], [0.1, 0.6, 1.0])
    np.testing.assert_allclose(drawn["random pruning, NLGP"], [0.2, 0.2, 0.2])
    assert "top-n null" in [line.get_label() for line in figure.axes[2].get_lines()]
