"""The claims' verdicts on hand-made runs whose answers are known: bumps against smooth fields under
magnitude pruning, noise-like units left out, controls that make a claim fail."""

import numpy as np
import pytest
import xarray as xr

from cavitykit import analysis, metrics
from cavitykit.io.schema import pixel_coordinates

L, K, ROUNDS, REPLICATES = 12, 4, 3, 3
PAIR = ("nlgp", "gaussian_clone")


def _fields(kind, rng):
    """K dense fields: two learned (bumps or smooth waves) and two white-noise units."""
    y, x = np.mgrid[:L, :L]
    centres = rng.integers(0, L, size=(2, 2))
    if kind == "bump":
        learned = [np.exp(-(((x - cx) % L) ** 2 + ((y - cy) % L) ** 2) / 3.0).ravel() for cx, cy in centres]
    else:
        learned = [np.cos(2 * np.pi * (x + cy) / L + cx).ravel() for cx, cy in centres]
    return np.stack(learned + list(rng.standard_normal((2, L * L))))


def _rounds(dense, rng, sharpen):
    """Magnitude pruning to D / 2^r per unit; the survivors' retraining sharpens them by ``sharpen``."""
    weights, masks = [], []
    for r in range(ROUNDS):
        n = (L * L) // 2**r
        keep = np.zeros_like(dense, bool)
        np.put_along_axis(keep, np.argsort(-np.abs(dense), axis=1)[:, :n], True, axis=1)
        w = np.where(keep, dense * (1 + sharpen * r * np.abs(dense) / np.abs(dense).max(1, keepdims=True)), 0.0)
        weights.append(w + 0.0 * rng.standard_normal(w.shape))
        masks.append(keep)
    return np.stack(weights), np.stack(masks)


def hand_made_run(
    kinds=("bump", "extended"), *, kurtosis_rise=(0.3, 0.0), accuracy_drop=0.0, seed=0, dense_accuracy=0.9, moved=True
):
    """A run of two variants whose learned fields are of the given kinds; |excess kurtosis| of learned
    units rises by the given amount per round.  The dense networks classify with ``dense_accuracy``
    (4000 test samples) and start from independent noise (``moved``) or from their trained weights."""
    rng = np.random.default_rng(seed)
    weight = np.zeros((2, REPLICATES, ROUNDS, K, L * L))
    mask = np.zeros(weight.shape, bool)
    for v, kind in enumerate(kinds):
        for rep in range(REPLICATES):
            weight[v, rep], mask[v, rep] = _rounds(_fields(kind, rng), rng, sharpen=0.5)
    kurtosis = np.zeros((2, REPLICATES, ROUNDS, 2, K))
    for v, rise in enumerate(kurtosis_rise):
        kurtosis[v, :, :, :, :2] = -(0.2 + rise * np.arange(ROUNDS))[None, :, None, None]
        kurtosis[v, :, :, :, :2] += 0.01 * rng.standard_normal((REPLICATES, ROUNDS, 2, 2))
    accuracy = np.full((2, REPLICATES, ROUNDS), dense_accuracy)
    accuracy[:, :, -1] -= accuracy_drop
    init_weight = rng.standard_normal(weight.shape) if moved else weight[:, :, :1].repeat(ROUNDS, axis=2)
    units = ("variant", "replicate", "round", "neuron")
    return xr.Dataset(
        {
            "weight": ((*units, "input"), weight),
            "init_weight": ((*units, "input"), init_weight),
            "mask": ((*units, "input"), mask),
            "ipr": (units, metrics.ipr(weight)),
            "preact_excess_kurtosis": (("variant", "replicate", "round", "label", "neuron"), kurtosis),
            "test_accuracy": (units[:3], accuracy),
            "sparsity": (units[:3], 1 - mask.mean(axis=(3, 4))),
        },
        coords={"variant": list(PAIR), "replicate": range(REPLICATES), "round": range(ROUNDS), "input": range(L * L)}
        | pixel_coordinates((L, L)),
        attrs={"config": "[data]\nn_test = 4000\n"},
    )


def test_unit_classes_find_the_learned_units_and_leave_noise_apart():
    counts = analysis.class_counts(analysis.unit_classes(hand_made_run())).sum("replicate")
    assert counts.sel(variant="nlgp").values.tolist() == [2 * REPLICATES, 0, 2 * REPLICATES]
    assert counts.sel(variant="gaussian_clone").values.tolist() == [0, 2 * REPLICATES, 2 * REPLICATES]


def test_claim_one_is_supported_for_bumps_against_smooth_fields_and_not_for_equal_fields():
    claim = analysis.claim_localization(analysis.Evidence(hand_made_run(), PAIR))
    assert claim.n_star == pytest.approx(L * L / 4)  # every round classifies: the last round's n
    assert claim.model["bump"].mean == 1.0 and claim.clone["bump"].mean == 0.0
    assert claim.bump_gap.low == 1.0  # no spread over replicates
    assert claim.supported and claim.verdict is True
    equal = analysis.claim_localization(analysis.Evidence(hand_made_run(("bump", "bump")), PAIR))
    assert equal.bump_gap.mean == 0.0 and equal.verdict is False


def test_claim_one_reads_only_rounds_that_still_classify():
    claim = analysis.claim_localization(analysis.Evidence(hand_made_run(accuracy_drop=0.1), PAIR))
    assert claim.accurate_round == {"nlgp": 1, "gaussian_clone": 1}
    assert claim.n_star == pytest.approx(L * L / 2)


def test_claim_two_fails_when_random_pruning_raises_kurtosis_as_much():
    run = hand_made_run(kurtosis_rise=(0.3, 0.0))
    weaker = hand_made_run(kurtosis_rise=(0.1, 0.0), seed=1)
    stronger = hand_made_run(kurtosis_rise=(0.5, 0.0), seed=2)
    alone = analysis.claim_kurtosis(analysis.Evidence(run, PAIR))
    assert alone.verdict is None and "no random-pruning branch" in alone.note and alone.gap is None
    beats = analysis.claim_kurtosis(analysis.Evidence(run, PAIR, {"random": weaker}))
    assert beats.imp.mean == pytest.approx(0.6, abs=0.03)  # 2 rounds of +0.3
    assert beats.gap.mean == pytest.approx(0.4, abs=0.05) and beats.verdict is True
    assert analysis.claim_kurtosis(analysis.Evidence(run, PAIR, {"random": stronger})).verdict is False


def test_replicate_interval_is_the_student_t_interval():
    from scipy import stats

    values = np.array([0.2, 0.5, 0.9, 0.4])
    interval = analysis.replicate_interval(xr.DataArray(values, dims="replicate"))
    low, high = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    assert float(interval.low) == pytest.approx(low) and float(interval.high) == pytest.approx(high)


def test_kurtosis_after_removing_nothing_is_the_rounds_own(tmp_path):
    from cavitykit.analysis.claims.cavity import _kurtosis_after_pruning
    from cavitykit.imp import run
    from cavitykit.io import open_run
    from tests.imp.tiny import tiny_config

    ds = open_run(run(tiny_config(imp={"rounds": 2}), tmp_path, progress=False))
    unpruned = ds.assign(pruned_next=ds.pruned_next & False)
    again = _kurtosis_after_pruning(unpruned, "nlgp", 0)  # (round, label, neuron): the same held-out samples
    stored = ds.preact_excess_kurtosis.sel(variant="nlgp", replicate=0).transpose("round", "label", "neuron")
    np.testing.assert_allclose(again, stored.values, rtol=1e-9, atol=1e-12)
    removed = _kurtosis_after_pruning(ds, "nlgp", 0)
    assert np.abs(removed - stored.values).max() > 1e-6  # removing the pruned set changes it


def test_judge_gates_the_claims_as_the_report_does():
    random_branch = hand_made_run(kurtosis_rise=(0.1, 0.0), seed=1)
    judged = analysis.judge(hand_made_run(), PAIR, {"random": random_branch})
    assert judged.reason is None
    assert judged.verdicts == {"localization": True, "kurtosis": True, "cavity": None, "iterative": None}
    claims = judged.claims
    assert "no cavity effects" in claims["cavity"].note and "no one-shot branch" in claims["iterative"].note
    # Networks that never left their initialization: only claim 2, about pre-activations, is judged; claim
    # 1's numbers are computed, its verdict withheld.
    still = analysis.judge(hand_made_run(moved=False), PAIR, {"random": random_branch})
    assert still.verdicts["localization"] is None and still.verdicts["kurtosis"] is True
    assert still.claims["localization"].tested and still.claims["localization"].n_star == pytest.approx(L * L / 4)
    assert "did not learn features" in still.claims["localization"].note
    # At chance (0.5 < 0.5 + 3 SE of 4000 samples) nothing is judged.
    chance = analysis.judge(hand_made_run(dense_accuracy=0.5), PAIR, {})
    assert "chance" in chance.reason and set(chance.verdicts.values()) == {None}
    assert all(claim.note == chance.reason for claim in chance.claims.values())


def test_point_verdicts_flatten_the_judged_claims():
    row = analysis.point_verdicts(hand_made_run(), PAIR, {"random": hand_made_run(kurtosis_rise=(0.1, 0.0), seed=1)})
    assert row["learned_model"] == row["learned_clone"] == 2.0
    assert row["n_star"] == pytest.approx(L * L / 4)
    assert (row["bump_model"], row["bump_clone"], row["bump_gap_low"]) == (1.0, 0.0, 1.0)
    assert row["rise_imp"] == pytest.approx(0.6, abs=0.03) and row["rise_gap"] == pytest.approx(0.4, abs=0.05)
    assert row["localization_supported"] == row["kurtosis_supported"] == 1.0
    assert np.isnan(row["cavity_supported"]) and np.isnan(row["raising_pruned"]) and np.isnan(row["iterative_gap"])
    assert row["reason"] == ""
    chance = analysis.point_verdicts(hand_made_run(dense_accuracy=0.5), PAIR, {})
    assert "chance" in chance["reason"] and np.isnan(chance["localization_supported"])


def one_shot_branch(imp, keep):
    """A one-shot branch of a hand-made run: round 0 its dense networks, round 1 each model unit's dense
    field kept on the pixels ``keep(unit, dense_field)`` chooses (a boolean mask, or None for all)."""
    branch = imp.isel(round=[0, 0]).assign_coords(round=[0, 1])
    weight, mask = branch.weight.values.copy(), branch["mask"].values.copy()
    model = list(branch.variant.values).index(PAIR[0])
    for rep in range(REPLICATES):
        for unit in range(K):
            kept = keep(unit, weight[model, rep, 0, unit])
            if kept is not None:
                mask[model, rep, 1, unit] = kept
                weight[model, rep, 1, unit] = np.where(kept, weight[model, rep, 0, unit], 0.0)
    return branch.assign(weight=(branch.weight.dims, weight), mask=(branch["mask"].dims, mask))


def top(field, n):
    kept = np.zeros(field.shape, bool)
    kept[np.argsort(-np.abs(field))[:n]] = True
    return kept


def test_claim_four_compares_each_unit_at_its_one_shot_survivor_count():
    imp = hand_made_run()  # IMP keeps D / 2^r = 144, 72, 36 weights per unit; 10 is outside its rounds
    y, x = np.mgrid[:L, :L]
    scattered = ((x + y) % 2 == 0).ravel()  # 72 pixels on one sublattice of the 12 x 12 torus: no two touch
    cases = {
        "top 72": lambda unit, field: [top(field, 72), top(field, 10)][unit] if unit < 2 else None,
        "scattered 72": lambda unit, field: [scattered, top(field, 10)][unit] if unit < 2 else None,
        "emptied, too few, outside": lambda unit, field: (
            [np.zeros(L * L, bool), top(field, 2)][unit] if unit < 2 else None
        ),
    }
    claims = {
        name: analysis.claim_iterative(analysis.Evidence(imp, PAIR, {"one_shot": one_shot_branch(imp, keep)}))
        for name, keep in cases.items()
    }
    same = claims["top 72"].matched
    assert claims["top 72"].tested and same.compared == REPLICATES and same.outside == REPLICATES
    # at n = 72 IMP's unit is its round-1 field (a bump); one-shot's is the dense field cut to 72, the control itself
    assert same.imp.mean == 1.0 and same.one_shot.mean == same.dense_cut.mean == 1.0
    assert same.gap.mean == 0.0 and claims["top 72"].verdict is False
    apart = claims["scattered 72"]
    assert apart.matched.one_shot.mean == 0.0 and apart.matched.gap.mean == 1.0
    assert apart.verdict is True
    none = claims["emptied, too few, outside"]
    assert none.verdict is None and not none.supported and none.matched.replicates_compared == 0
    assert none.note.endswith(f"in 0 of {REPLICATES} replicates, two needed")
    assert (none.matched.emptied, none.matched.too_few, none.matched.compared) == (REPLICATES, REPLICATES, 0)
    assert none.equal_sparsity["one_shot"].emptied.mean == 0.5
    assert analysis.claim_iterative(analysis.Evidence(imp, PAIR)).matched is None  # no one-shot branch


def test_share_intervals_are_clipped_to_the_range_a_share_can_take():
    from cavitykit.analysis.claims._common import SHARE, Interval, intervals

    shares = xr.DataArray([0.0, 0.0, 0.1], dims="replicate")  # mean 0.033, Student t interval below 0
    free = Interval.over_replicates(shares)
    assert free.low < 0
    clipped = Interval.over_replicates(shares, SHARE)
    assert clipped.low == 0.0 and clipped.mean == free.mean and clipped.high == free.high
    named = intervals({"bump": shares, "ipr_over_top": shares - 1})
    assert named["bump"].low == 0.0 and named["ipr_over_top"].low == free.low - 1


def test_a_claim_s_result_is_frozen_and_carries_its_own_statement_and_criterion():
    import dataclasses

    judged = analysis.judge(hand_made_run(), PAIR, {})
    assert list(judged.claims) == list(analysis.CLAIMS) == [kind.name for kind in analysis.CLAIM_TYPES]
    for name, claim in judged.claims.items():
        assert claim.name == name and claim.statement.startswith(f"{analysis.CLAIMS.index(name) + 1}. ")
        assert str(analysis.BUMP_MARGIN) in claim.criterion_text() or "{margin}" not in claim.criterion
        with pytest.raises(dataclasses.FrozenInstanceError):
            claim.supported = not claim.supported


def test_the_evidence_measures_each_branch_once_for_every_claim(monkeypatch):
    from cavitykit.analysis.claims import _common, cavity, iterative, kurtosis

    calls = []
    real = _common.unit_measures
    for module in (_common, cavity, iterative, kurtosis):  # every module of the claims that can measure
        monkeypatch.setattr(module, "unit_measures", lambda ds: calls.append(ds) or real(ds))
    imp = hand_made_run()
    one_shot = one_shot_branch(imp, lambda unit, field: top(field, 72))
    controls = {"random": hand_made_run(kurtosis_rise=(0.1, 0.0), seed=1), "one_shot": one_shot}
    judged = analysis.judge(imp, PAIR, controls)
    assert judged.verdicts["kurtosis"] is True and judged.claims["iterative"].tested
    assert len(calls) == 1 + len(controls)  # the run and each branch, measured once for all four claims
