"""The coherence factor and the theories' agreement with exact effects, on hand-made runs whose answers
are known."""

import numpy as np
import pytest
import xarray as xr

from cavitykit import analysis, metrics
from cavitykit.analysis import mechanism
from cavitykit.analysis.claims import coherence_at_matched_survivors, theory_agreement
from cavitykit.data import NLGP, marginal_cumulants
from cavitykit.data.nlgp_cumulants import field_cumulants
from tests.analysis.test_verdicts import PAIR, hand_made_run

GAIN_CONFIG = "[data]\nn_test = 4000\nL = 12\ndim = 2\ngain = 3.0\nxi = [1.0, 2.0]\n"


def with_gain(run):
    return run.assign_attrs(config=GAIN_CONFIG)


def test_pixel_kurtosis_is_known_for_nlgp_and_ising_and_unknown_otherwise():
    run = with_gain(hand_made_run())
    assert mechanism.pixel_excess_kurtosis(run, "nlgp") == pytest.approx(marginal_cumulants(3.0, 4)[3])
    assert mechanism.pixel_excess_kurtosis(run, "ising") == -2.0
    assert mechanism.pixel_excess_kurtosis(run, "gaussian_clone") is None
    assert mechanism.pixel_excess_kurtosis(hand_made_run(), "nlgp") is None  # the config states no gain
    evidence = analysis.Evidence(hand_made_run(), PAIR, {"random": hand_made_run(seed=1)})
    assert analysis.claim_kurtosis(evidence).coherence is None


def test_coherence_factor_is_gamma_over_kappa_x_ipr_and_compared_at_matched_survivors():
    imp, random = with_gain(hand_made_run()), with_gain(hand_made_run(kurtosis_rise=(0.1, 0.0), seed=1))
    kappa_x = marginal_cumulants(3.0, 4)[3]
    factor = mechanism.coherence_factor(imp, "nlgp")
    one = imp.sel(variant="nlgp", replicate=1, round=2, neuron=0)
    assert float(factor.sel(replicate=1, round=2, neuron=0)) == pytest.approx(
        float((one.preact_excess_kurtosis / (kappa_x * one.ipr)).mean())
    )
    last = imp.sizes["round"] - 1
    compared = coherence_at_matched_survivors(imp, random, "nlgp", last)
    assert compared.n == pytest.approx(12 * 12 / 4)  # both prune every unit to D / 4 by the last round
    learned = analysis.unit_measures(imp).learned.sel(variant="nlgp")  # classed on the dense round

    def expected(run):
        values = mechanism.coherence_factor(run, "nlgp").isel(round=last).where(learned).mean("neuron")
        return float(values.mean("replicate"))

    assert compared.imp["coherence"].mean == pytest.approx(expected(imp))
    assert compared.random["coherence"].mean == pytest.approx(expected(random))
    assert compared.gap.mean == pytest.approx(expected(imp) - expected(random))
    assert compared.higher == (compared.gap.low > 0)
    assert compared.higher  # the same fields, IMP's kurtosis rising three times faster


def theory_run(exact_from):
    """A hand-made NLGP run whose exact cavity effects are set to a theory's prediction."""
    run = with_gain(hand_made_run())
    units = analysis.unit_measures(run).learned.sel(variant="nlgp")
    theory = mechanism.correlated_theory(run, "nlgp", units)
    if exact_from == "correlated":
        kurtosis, delta = theory.gamma, theory.delta
    else:
        kappa_x = marginal_cumulants(3.0, 4)[3]
        kurtosis = (kappa_x * run.ipr.sel(variant="nlgp")).expand_dims(label=[0, 1])
        delta = mechanism.independent_effects(run, "nlgp").expand_dims(label=[0, 1])
    shape = ("replicate", "round", "label", "neuron")
    cavity = delta.transpose(*shape, "input").expand_dims(variant=["nlgp"]).reindex(variant=list(PAIR))
    stats = kurtosis.transpose(*shape).expand_dims(variant=["nlgp"]).reindex(variant=list(PAIR))
    return run.assign(cavity_exact=cavity.fillna(0.0), preact_excess_kurtosis=stats), units


@pytest.mark.parametrize("source", ["correlated", "independent"])
def test_a_theory_that_is_the_exact_effect_ranks_it_perfectly(source):
    run, units = theory_run(source)
    kept = run["mask"].sel(variant="nlgp")
    pruned = xr.zeros_like(kept) | (np.abs(run.weight.sel(variant="nlgp")) < 0.3) & kept
    result = theory_agreement(run, "nlgp", units, pruned)
    assert getattr(result, source).mean == pytest.approx(1.0)
    other = "independent" if source == "correlated" else "correlated"
    assert getattr(result, other).mean < 1.0
    assert result.n_units == int(units.sum())
    assert 0 <= result.pruned_raise.mean <= 1 and 0 <= result.kept_raise.mean <= 1


def test_correlated_theory_predicts_each_class_with_its_own_correlation_length():
    run = with_gain(hand_made_run())
    units = analysis.unit_measures(run).learned.sel(variant="nlgp")
    theory = mechanism.correlated_theory(run, "nlgp", units)
    field = (run.weight * run["mask"]).sel(variant="nlgp", replicate=0, round=1).values
    unit = int(np.flatnonzero(units.sel(replicate=0).values)[0])
    for label, xi in enumerate((1.0, 2.0)):
        expected = field_cumulants(NLGP(12, xi, 3.0, dim=2), field[[unit]])
        np.testing.assert_allclose(
            theory.gamma.sel(replicate=0, round=1, label=label, neuron=unit), expected.excess_kurtosis[0]
        )
        kept = field[unit] != 0
        np.testing.assert_allclose(
            theory.delta.sel(replicate=0, round=1, label=label, neuron=unit).values[kept],
            expected.removal_change(field[[unit]])[0][kept],
        )
    assert np.isnan(theory.gamma.where(~units).values).all()  # units not asked for are not predicted
    assert mechanism.correlated_theory(run, "gaussian_clone", units) is None


def test_ipr_after_removal_matches_recomputing():
    weights = np.random.default_rng(0).standard_normal((3, 7))
    after = metrics.ipr_after_removal(weights)
    for k in range(3):
        for j in range(7):
            assert after[k, j] == pytest.approx(metrics.ipr(np.delete(weights[k], j)))


def test_compactness_feedback_correlates_the_predicted_step_with_the_next_rounds_compactness_change():
    from scipy import stats

    from cavitykit import cavity
    from cavitykit.analysis.claims import compactness_feedback

    run = with_gain(hand_made_run())
    # Nested random survivors (144, 72, 36 per unit), so that compactness changes from round to round.
    rng = np.random.default_rng(3)
    mask = np.ones(run["mask"].shape, bool)
    for index in np.ndindex(mask.shape[:2] + mask.shape[3:4]):
        variant, replicate, unit = index
        kept = np.arange(144)
        for r in range(1, run.sizes["round"]):
            kept = rng.choice(kept, size=len(kept) // 2, replace=False)
            mask[variant, replicate, r, unit] = np.isin(np.arange(144), kept)
    dense = run.weight.isel(round=0).values[:, :, None]
    run = run.assign(mask=(run["mask"].dims, mask), weight=(run.weight.dims, np.where(mask, dense, 0.0)))
    pruned = (run["mask"].shift(round=-1, fill_value=False) ^ run["mask"]) & run["mask"]  # what the next round drops
    run = run.assign(pruned_next=pruned)
    units = analysis.unit_measures(run).learned.sel(variant="nlgp")
    result = compactness_feedback(run, "nlgp", units)
    # the same by hand for replicate 0: cavity.nlgp_theory per class, metrics.compactness, scipy's Spearman
    one = run.sel(variant="nlgp", replicate=0)
    learned = np.flatnonzero(units.sel(replicate=0).values)
    predicted, change = [], []
    for r in range(run.sizes["round"] - 1):
        field = (one.weight * one["mask"]).isel(round=r).values[learned]
        step = []
        for xi in (1.0, 2.0):
            effects = cavity.nlgp_theory(field, NLGP(12, xi, 3.0, dim=2))
            summed = np.nansum(np.where(one.pruned_next.isel(round=r).values[learned], effects.values, np.nan), axis=1)
            gamma = effects.statistic_value.values
            step.append(np.abs(gamma + summed) - np.abs(gamma))
        predicted += list(np.mean(step, axis=0))
        after = (one.weight * one["mask"]).isel(round=r + 1).values[learned]
        change += list(metrics.compactness(after, (12, 12)) - metrics.compactness(field, (12, 12)))
    assert result.pairs == int(units.sum()) * (run.sizes["round"] - 1)
    single = compactness_feedback(run.isel(replicate=[0]), "nlgp", units.isel(replicate=[0]))
    assert single.rho.mean == pytest.approx(stats.spearmanr(predicted, change).statistic)


def test_learned_trajectories_put_one_shot_at_the_runs_final_round():
    from tests.analysis.test_verdicts import one_shot_branch, top

    imp = with_gain(hand_made_run())
    branch = one_shot_branch(imp, lambda unit, field: top(field, 36))  # every unit cut to IMP's final count
    lines = analysis.learned_trajectories(imp, {"one_shot": branch}, PAIR)
    assert list(lines.line.values) == ["imp:nlgp", "imp:gaussian_clone", "one_shot:nlgp"]
    last = imp.sizes["round"] - 1
    one_shot = lines.sel(line="one_shot:nlgp")
    assert np.isnan(one_shot.bump.sel(round=1)).all() and np.isfinite(one_shot.bump.sel(round=last)).all()
    measures = analysis.unit_measures(branch).sel(variant="nlgp").isel(round=-1)
    expected = measures.compactness.where(measures.learned).mean("neuron")
    np.testing.assert_allclose(one_shot.compactness.sel(round=last), expected)
    assert np.isnan(lines.coherence.sel(line="imp:gaussian_clone")).all()  # a clone has no pixel kurtosis
