"""The branches of a run, in one place: IMP itself and the control branches that prune its dense networks
another way.

A branch has a name (the entry of ``imp.controls``, and the folder ``controls/<name>`` of the run
directory), the pruning strategy it trains with (``imp.strategy``; ``cavitykit.imp.prune.STRATEGIES``
holds the rules), its label in reports and its line style in figures, and whether its pruning ranks
weights on the held-out inputs (then their number, ``analysis.n_heldout``, determines its weights and
belongs to its identity).  The config, the store, the analyses, the report and the figures read names,
labels and folders from here.  Imports nothing but the standard library.

Examples
--------
>>> CONTROLS["one_shot"].label, branch_dir("run", "random")
('one-shot pruning', PosixPath('run/controls/random'))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Where a run directory keeps its control branches' rounds.
CONTROLS_DIR = "controls"


@dataclass(frozen=True)
class Branch:
    """One branch of a run.

    Attributes
    ----------
    name : str
        Its key: ``imp.controls`` entries, folder names, claim results.
    strategy : str
        The ``imp.strategy`` it trains with.
    label : str
        How reports and figure legends name it.
    style : str
        Its matplotlib line style in the per-round figures.
    ranks_on_heldout : bool
        Its pruning ranks weights by statistics of the held-out inputs.
    reinitializes : bool
        Each of its rounds trains IMP's mask of that round from a fresh random initialization (Frankle and
        Carbin's control of the lottery ticket) instead of pruning by its strategy; the strategy then only
        says what ``pruned_next`` records.
    """

    name: str
    strategy: str
    label: str
    style: str
    ranks_on_heldout: bool = False
    reinitializes: bool = False


IMP = Branch("imp", "magnitude", "IMP", "o-")
RANDOM = Branch("random", "random", "random pruning", "s--")
ONE_SHOT = Branch("one_shot", "one_shot", "one-shot pruning", "D:")
CAVITY = Branch("cavity", "cavity", "cavity-guided", "^-.", ranks_on_heldout=True)
REINIT = Branch("reinit", "magnitude", "random re-initialisation", "v-.", reinitializes=True)
# The control branches a magnitude-pruning run can train beside it, by name.
CONTROLS = {branch.name: branch for branch in (RANDOM, ONE_SHOT, CAVITY, REINIT)}
# Every branch, IMP first.
BRANCHES = {IMP.name: IMP} | CONTROLS


def ranks_on_heldout(strategy: str) -> bool:
    """Whether the pruning strategy ``strategy`` ranks weights on the held-out inputs.

    Examples
    --------
    >>> ranks_on_heldout("cavity"), ranks_on_heldout("magnitude")
    (True, False)
    """
    return any(branch.ranks_on_heldout for branch in BRANCHES.values() if branch.strategy == strategy)


def branch_dir(run_dir, name: str) -> Path:
    """The folder of branch ``name``'s own rounds: the run directory for IMP, ``controls/<name>`` for a
    control (whose round 0 is the run's)."""
    return Path(run_dir) if name == IMP.name else Path(run_dir) / CONTROLS_DIR / name


def without_controls(values: dict) -> dict:
    """Config tables without ``imp.controls``: what the run's own rounds depend on (a branch never changes
    them), hashed and compared without it.

    Examples
    --------
    >>> without_controls({"name": "a", "imp": {"rounds": 3, "controls": ["random"]}})
    {'name': 'a', 'imp': {'rounds': 3}}
    """
    return values | {"imp": {key: value for key, value in values.get("imp", {}).items() if key != "controls"}}


def branch_tables(values: dict, name: str) -> dict:
    """The config tables of control branch ``name`` of a run whose tables are ``values``: the run's, with
    the branch's strategy and no controls.

    Examples
    --------
    >>> branch_tables({"imp": {"rounds": 3, "controls": ["random"]}}, "random")
    {'imp': {'rounds': 3, 'strategy': 'random'}}
    """
    values = without_controls(values)
    return values | {"imp": values["imp"] | {"strategy": CONTROLS[name].strategy}}
