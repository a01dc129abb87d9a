"""A tiny IMP run made on demand, for examples, doctests and notebooks that need a stored run."""

from __future__ import annotations

import contextlib
import functools
import io
import tempfile
from pathlib import Path


@functools.cache
def example_run() -> Path:
    """Directory of a small stored run (quick preset, cut down), made once per process in a temporary folder.

    Two replicates of NLGP and its Gaussian clone, 3 IMP rounds of 200 Adam steps on a 40-pixel
    ring, statistics and cavity effects on 2000 held-out samples per class: a few seconds.

    Returns
    -------
    pathlib.Path
        The run directory, readable with ``cavitykit.open_run``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> ds = open_run(example_run())
    >>> ds.sizes["round"], sorted(map(str, ds.variant.values))
    (3, ['gaussian_clone', 'nlgp'])
    """
    from cavitykit.config import config_from_dict, load_preset
    from cavitykit.imp import run

    settings = load_preset("quick").to_dict()
    settings["name"] = "example"
    settings["replicates"] = 2
    settings["data"] |= {"n_train": 1000, "n_test": 500}
    settings["training"] |= {"steps": 200}
    settings["imp"] |= {"rounds": 3}
    settings["analysis"] |= {"n_heldout": 2000}
    with contextlib.redirect_stdout(io.StringIO()):  # the runner's per-round summary lines
        return run(config_from_dict(settings), tempfile.mkdtemp(prefix="cavitykit-example-"), progress=False)
