"""The four claims judged at every grid point of a sweep, with the criteria of the report
(``analysis.claims``): one row of numbers per point, gathered over the swept dims.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from cavitykit.analysis.verdicts import judge
from cavitykit.io.store import open_run, run_controls
from cavitykit.io.sweep_index import on_grid, sweep_points
from cavitykit.variants import compared_pair

# Each claim's number with its replicate interval: (column prefix, claim, path of attributes and keys
# into the claim's result to an Interval).
_INTERVALS = {
    "bump_model": ("localization", ("model", "bump")),
    "bump_clone": ("localization", ("clone", "bump")),
    "bump_gap": ("localization", ("bump_gap",)),
    "ipr_over_top_model": ("localization", ("model", "ipr_over_top")),
    "ipr_over_top_clone": ("localization", ("clone", "ipr_over_top")),
    "ipr_gap": ("localization", ("ipr_gap",)),
    "rise_imp": ("kurtosis", ("imp",)),
    "rise_random": ("kurtosis", ("random",)),
    "rise_clone": ("kurtosis", ("clone",)),
    "rise_gap": ("kurtosis", ("gap",)),
    "coherence_imp": ("kurtosis", ("coherence", "imp", "coherence")),
    "coherence_random": ("kurtosis", ("coherence", "random", "coherence")),
    "coherence_gap": ("kurtosis", ("coherence", "gap")),
    "raising_pruned": ("cavity", ("pruned",)),
    "raising_kept": ("cavity", ("kept",)),
    "raising_clone": ("cavity", ("clone_pruned",)),
    "raising_gap": ("cavity", ("gap",)),
    "raising_specific": ("cavity", ("specific",)),
    "rho": ("cavity", ("rho",)),
    "rho_theory": ("cavity", ("rho_theory",)),
    "rho_correlated_theory": ("cavity", ("theories", "correlated")),
    "rho_independent_theory": ("cavity", ("theories", "independent")),
    "bump_imp_matched": ("iterative", ("matched", "imp")),
    "bump_one_shot_matched": ("iterative", ("matched", "one_shot")),
    "bump_dense_cut_matched": ("iterative", ("matched", "dense_cut")),
    "iterative_gap": ("iterative", ("matched", "gap")),
    "bump_imp_final": ("iterative", ("equal_sparsity", "imp", "bump")),
    "bump_one_shot_final": ("iterative", ("equal_sparsity", "one_shot", "bump")),
    "bump_random_final": ("iterative", ("equal_sparsity", "random", "bump")),
}


def point_verdicts(run: xr.Dataset, pair: tuple[str, str], controls: dict[str, xr.Dataset]) -> dict[str, float]:
    """One run's claims as flat numbers, judged as the report judges them (``judge``).

    Parameters
    ----------
    run : xarray.Dataset
        The magnitude-pruning run (``open_run``).
    pair : (model, clone)
    controls : dict of str to xarray.Dataset
        Its control branches (``open_run(..., control=...)``).

    Returns
    -------
    dict of str to float
        ``learned_model`` and ``learned_clone`` (learned units per network, mean over replicates);
        ``n_star``; for every name of ``_INTERVALS`` its replicate mean, ``<name>_low`` and
        ``<name>_high`` (95% Student t), NaN where not computed; and per claim of ``analysis.CLAIMS``
        ``<claim>_supported``: 1 or 0, NaN where ``judge`` does not judge it; ``reason`` (str), why no
        claim is judged at all, or "".
    """
    judged = judge(run, pair, controls)
    learned = (judged.classes != "noise").sum("neuron").mean("replicate")
    out = {f"learned_{role}": float(learned.sel(variant=v)) for role, v in zip(("model", "clone"), pair, strict=True)}
    n_star = judged.claims["localization"].n_star
    out["n_star"] = np.nan if n_star is None else n_star
    for name, (claim, path) in _INTERVALS.items():
        value = judged.claims[claim]
        for key in path:
            value = value.get(key) if isinstance(value, dict) else getattr(value, key, None)
        for suffix in ("mean", "low", "high"):
            out[name if suffix == "mean" else f"{name}_{suffix}"] = np.nan if value is None else getattr(value, suffix)
    for claim, verdict in judged.verdicts.items():
        out[f"{claim}_supported"] = np.nan if verdict is None else float(verdict)
    out["reason"] = judged.reason or ""
    return out


def sweep_verdicts(path, *, name: str | None = None, variant: str | None = None) -> xr.Dataset:
    """The claims at every grid point of a sweep that has written its rounds, over the swept dims.

    Parameters
    ----------
    path : str or Path
        The results root of ``cavitykit sweep`` or its index file (``cavitykit.io.sweep_points``).
    name : str, optional
        The sweep, when the root holds several.
    variant : str, optional
        The model compared with its clone (``compared_pair``).

    Returns
    -------
    xarray.Dataset over the swept dims
        The numbers of ``point_verdicts`` (NaN at points not finished); attributes ``sweep``,
        ``swept``, ``pair`` and ``config`` (the first finished point's stored configuration, TOML).

    Examples
    --------
    >>> import tempfile, pathlib, shutil
    >>> from cavitykit.io import write_sweep_index
    >>> from cavitykit.testing import example_run
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> _ = shutil.copytree(example_run(), out / "demo-a")
    >>> _ = write_sweep_index(out, "demo", [out / "demo-a"], [{"data.gain": 10.0}])
    >>> verdicts = sweep_verdicts(out)
    >>> dict(verdicts.sizes), "bump_gap_low" in verdicts
    ({'gain': 1}, True)
    """
    dims, points, attrs = sweep_points(path, name=name)
    rows, labels, pair, config = [], [], None, None
    for point, run_dir in points:
        if run_dir is None:
            continue
        run = open_run(run_dir)
        config = run.attrs["config"] if config is None else config
        pair = compared_pair(run.variant.values, variant)
        controls = {control: open_run(run_dir, control=control) for control in run_controls(run_dir)}
        rows.append(point_verdicts(run, pair, controls))
        labels.append(point)
    if not rows:
        raise ValueError(f"no grid point of sweep {attrs['sweep']!r} has written a round yet")
    index = {dim: ("point", [label[dim] for label in labels]) for dim in dims}
    stacked = xr.Dataset({key: ("point", [row[key] for row in rows]) for key in rows[0]}, coords=index)
    out = on_grid(stacked, dims)
    out.attrs = attrs | {"pair": list(pair), "config": config}
    return out
