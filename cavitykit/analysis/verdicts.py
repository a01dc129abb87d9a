"""The claims judged as a referee would: on the units that learned a field in the dense round, at matched
survivor counts, within the rounds where the pruned networks still classify, each beside controls that
can fail, with intervals over replicates (``docs/report.md``).  Each claim is judged in its own module of
``cavitykit.analysis.claims``; ``judge`` decides which can be judged at all and gathers them.
"""

from __future__ import annotations

import dataclasses

import xarray as xr

from cavitykit.analysis.claims import (
    CLAIM_TYPES,
    Claim,
    Evidence,
    claim_cavity,
    claim_iterative,
    claim_kurtosis,
    claim_localization,
)
from cavitykit.analysis.features import feature_learning
from cavitykit.analysis.units import unit_classes
from cavitykit.variants import label

# Claims about the features IMP finds: on networks still at their initialization they would describe
# the initialization, so their verdicts are withheld unless the dense networks learned features.
FEATURE_CLAIMS = ("localization", "cavity", "iterative")


@dataclasses.dataclass(frozen=True)
class Verdicts:
    """Every claim of a run with the checks that decide whether it can be judged (``judge``).

    Attributes
    ----------
    evidence : Evidence
        The run, its controls and pair, with the unit measures computed once.
    features : xarray.Dataset
        ``feature_learning``.
    classes : xarray.DataArray
        ``unit_classes``.
    reason : str or None
        Why no claim is judged, or None.
    claims : dict of str to Claim
        Per name of ``CLAIMS``, in order, its result (not tested, with ``reason``, when nothing is judged).
    """

    evidence: Evidence
    features: xr.Dataset
    classes: xr.DataArray
    reason: str | None
    claims: dict[str, Claim]

    @property
    def verdicts(self) -> dict[str, bool | None]:
        """Per claim: True, False, or None where not judged."""
        return {name: claim.verdict for name, claim in self.claims.items()}


def _why_nothing(evidence: Evidence, features: xr.Dataset, classes: xr.DataArray) -> str | None:
    if len(evidence.pair) < 2:
        return f"the run holds no Gaussian clone of {label(evidence.pair[0])}, and every claim compares the two"
    if evidence.run.sizes["round"] < 2:
        return "the run has one round: no pruning to judge"
    if not bool(features.learned_task):
        return "the dense networks classify at chance; see the feature check"
    if not bool((classes.sel(variant=list(evidence.pair)) != "noise").any("neuron").all()):
        return "some network formed no spatial field in its dense round; see the unit classes"
    return None


def judge(run: xr.Dataset, pair: tuple[str, str], controls: dict[str, xr.Dataset]) -> Verdicts:
    """Every claim of a run, beside its controls, with the checks that decide whether it can be judged.

    No claim is judged on a run of one round, on networks at chance, or where some network formed no
    field in its dense round; the verdicts of claims 1, 3 and 4 (``FEATURE_CLAIMS``) are withheld unless
    the dense networks learned features (``feature_learning``); claim 2 needs a random branch, claim 3
    cavity effects and claim 4 a one-shot branch and learned units that one-shot pruning leaves a shape at
    a count IMP passes.

    Parameters
    ----------
    run : xarray.Dataset
        The magnitude-pruning run (``open_run`` or ``open_weights``).
    pair : (model, clone), or (model,)
        The compared variants (``variants.compared_variants``); a model alone judges no claim.
    controls : dict of str to xarray.Dataset
        Its control branches.

    Returns
    -------
    Verdicts

    Examples
    --------
    >>> from cavitykit import open_run
    >>> from cavitykit.testing import example_run
    >>> judged = judge(open_run(example_run()), ("nlgp", "gaussian_clone"), {})
    >>> list(judged.claims)
    ['localization', 'kurtosis', 'cavity', 'iterative']
    >>> judged.reason  # the tiny example's networks learned no field: nothing is judged, and why
    'some network formed no spatial field in its dense round; see the unit classes'
    >>> judged.claims["kurtosis"].verdict is None
    True

    """
    evidence = Evidence(run, tuple(pair), dict(controls))
    features, classes = feature_learning(run, pair), unit_classes(run)
    reason = _why_nothing(evidence, features, classes)
    if reason is not None:
        claims = {kind.name: kind.untested(reason) for kind in CLAIM_TYPES}
        return Verdicts(evidence, features, classes, reason, claims)
    localization = claim_localization(evidence)
    claims = {
        "localization": localization,
        "kurtosis": claim_kurtosis(evidence),
        "cavity": claim_cavity(evidence, localization),
        "iterative": claim_iterative(evidence),
    }
    if not bool(features.passed):
        withheld = "the dense network did not learn features; see the feature check"
        claims |= {name: dataclasses.replace(claims[name], withheld=withheld) for name in FEATURE_CLAIMS}
    return Verdicts(evidence, features, classes, None, claims)
