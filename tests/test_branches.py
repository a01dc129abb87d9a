"""The branch registry: every branch trains with a strategy the pruning rules know, and a control branch's
config, folder and identity come from it alone."""

from cavitykit import branches
from cavitykit.config import CONTROLS, STRATEGIES, config_from_dict
from cavitykit.imp.prune import STRATEGIES as RULES


def test_every_branch_trains_with_a_known_strategy_and_the_config_accepts_every_control():
    assert set(RULES) == set(STRATEGIES)
    assert {branch.strategy for branch in branches.BRANCHES.values()} <= set(STRATEGIES)
    assert CONTROLS == tuple(branches.CONTROLS) and branches.IMP.name not in CONTROLS
    assert [name for name, branch in branches.BRANCHES.items() if branch.ranks_on_heldout] == ["cavity"]


def test_a_control_branch_is_the_run_with_its_strategy_and_no_controls(tmp_path):
    config = config_from_dict({"name": "x", "imp": {"rounds": 3, "controls": ["random", "cavity"]}})
    for name in config.imp.controls:
        branch = config.branch(name)
        assert branch.imp.strategy == branches.CONTROLS[name].strategy and branch.imp.controls == ()
        assert branch.to_dict() == branches.branch_tables(config.to_dict(), name)
        assert branches.branch_dir(tmp_path, name) == tmp_path / "controls" / name
    # Only the branch that ranks weights on the held-out inputs keeps their number in its identity.
    more = config_from_dict({"name": "x", "imp": config.to_dict()["imp"], "analysis": {"n_heldout": 3000}})
    assert more.branch("random").identity == config.branch("random").identity
    assert more.branch("cavity").identity != config.branch("cavity").identity
    assert branches.branch_dir(tmp_path, "imp") == tmp_path
