"""A small stored IMP run, shipped with the package, for examples, doctests and notebooks that read a run.

The run is made by ``make_example_run`` and kept in ``cavitykit/testing/example_run/``; reading it
trains nothing.  It is read-only by convention: copy it before writing into it (a report, spectra).
When the round schema changes, regenerate it with ``store_example_run()``.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

EXAMPLE_RUN = Path(__file__).with_name("example_run")


def example_config():
    """The example run's configuration: the quick preset, cut down.

    Two replicates of NLGP and its Gaussian clone on a 40-pixel ring, 3 IMP rounds of 200 Adam
    steps, statistics and cavity effects on 2000 held-out samples per class.

    Returns
    -------
    cavitykit.config.RunConfig

    Examples
    --------
    >>> config = example_config()
    >>> config.replicates, config.imp.rounds, config.training.steps, config.data.D
    (2, 3, 200, 40)
    """
    from cavitykit.config import config_from_dict, load_preset

    settings = load_preset("quick").to_dict()
    settings["name"] = "example"
    settings["replicates"] = 2
    settings["data"] |= {"n_train": 1000, "n_test": 500}
    settings["training"] |= {"steps": 200}
    settings["imp"] |= {"rounds": 3, "controls": []}  # the shipped run has no control branches
    settings["analysis"] |= {"n_heldout": 2000}
    return config_from_dict(settings)


def make_example_run(out) -> Path:
    """Train the example run (``example_config``) under ``out``, a few seconds; return its run directory.

    Parameters
    ----------
    out : str or Path
        Results root; the run goes to ``out/example-<hash>``.

    Returns
    -------
    pathlib.Path
    """
    from cavitykit.imp import run

    with contextlib.redirect_stdout(io.StringIO()):  # the runner's per-round summary lines
        return run(example_config(), out, progress=False)


def example_run() -> Path:
    """Directory of the stored example run (``example_config``), shipped with the package.

    Two variants x 2 replicates x 3 rounds, K = 8 units on D = 40 inputs.  Read it, never write
    into it: copy it first (``shutil.copytree``) to add a report or spectra.

    Returns
    -------
    pathlib.Path
        The run directory, readable with ``cavitykit.open_run``.

    Examples
    --------
    >>> from cavitykit import open_run
    >>> ds = open_run(example_run())
    >>> ds.sizes["round"], ds.sizes["neuron"], ds.sizes["input"], sorted(map(str, ds.variant.values))
    (3, 8, 40, ['gaussian_clone', 'nlgp'])
    """
    return EXAMPLE_RUN


def store_example_run() -> None:
    """Replace the stored example run (``example_run()``) with a freshly trained one."""
    with tempfile.TemporaryDirectory() as folder:
        made = make_example_run(folder)
        shutil.rmtree(EXAMPLE_RUN, ignore_errors=True)
        shutil.copytree(made, EXAMPLE_RUN)
    print(f"wrote {EXAMPLE_RUN}")
