"""The run store: one netCDF4 file per IMP round, written atomically, combined by ``open_run``.

xarray cannot append along a dimension of an existing netCDF file (xarray #1672), so each round
(of each variant and replicate) is its own file:
``RUN/<variant>/replicate_<r>/round_<n>.nc``.  A file is written under a hidden temporary
name, flushed to disk and renamed, so a reader never sees a partial file.
"""

from __future__ import annotations

import os
import shutil
import tomllib
from contextlib import contextmanager
from pathlib import Path

import xarray as xr

from cavitykit._extras import require
from cavitykit.branches import CONTROLS, CONTROLS_DIR, branch_dir, branch_tables, without_controls
from cavitykit.config import RunConfig, load_stored_config, stored_values
from cavitykit.io.schema import decode_round, encode_booleans, missing_as_false, rounds_present

ENGINE = "netcdf4"
ROUND_GLOB = "*/replicate_*/round_*.nc"
CONFIG_FILE = "config.toml"
CUMULANTS_FILE = "cumulants.nc"


def cumulants_file(layer: int = 1) -> str:
    """The file in a run directory that ``cavitykit cumulants RUN --layer N`` writes: ``cumulants.nc`` for the
    first layer (which ``open_run(..., cumulants=True)`` merges), ``cumulants_layer<N>.nc`` for a deeper one.

    Examples
    --------
    >>> cumulants_file(), cumulants_file(2)
    ('cumulants.nc', 'cumulants_layer2.nc')
    """
    return CUMULANTS_FILE if layer == 1 else f"cumulants_layer{layer}.nc"


def round_path(run_dir, variant: str, replicate: int, round_index: int, *, control: str | None = None) -> Path:
    """``RUN/<variant>/replicate_<rr>/round_<nnn>.nc``; a control branch's rounds after the dense one
    live under ``RUN/controls/<strategy>/`` (its round 0 is the run's own).

    Examples
    --------
    >>> round_path("results/quick-0123", "nlgp", 1, 4).as_posix()
    'results/quick-0123/nlgp/replicate_01/round_004.nc'
    >>> round_path("results/quick-0123", "nlgp", 1, 4, control="random").as_posix()
    'results/quick-0123/controls/random/nlgp/replicate_01/round_004.nc'
    >>> round_path("results/quick-0123", "nlgp", 1, 0, control="random").as_posix()  # shared dense round
    'results/quick-0123/nlgp/replicate_01/round_000.nc'
    """
    base = Path(run_dir)
    if control is not None and round_index > 0:
        base = branch_dir(base, control)
    return base / variant / f"replicate_{replicate:02d}" / f"round_{round_index:03d}.nc"


def run_controls(run_dir) -> list[str]:
    """The control branches of a run with at least one round written, sorted (of a weights file:
    ``cavitykit.io.weights_controls``).

    Raises
    ------
    ValueError
        ``run_dir`` is a file (a weights file has its own ``weights_controls``), or does not exist.

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> run_controls(example_run())
    []
    """
    if Path(run_dir).is_file():
        raise ValueError(
            f"run_dir {str(run_dir)!r} is a file: the controls of a weights file are weights_controls(path)"
        )
    if not Path(run_dir).is_dir():
        raise ValueError(f"run_dir {str(run_dir)!r} does not exist")
    folder = Path(run_dir) / CONTROLS_DIR
    return sorted(p.name for p in folder.iterdir() if any(p.glob(ROUND_GLOB))) if folder.is_dir() else []


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


@contextmanager
def atomic_target(path):
    """Yield a temporary path beside ``path``; on success it is flushed and renamed to ``path``.

    On any error (or interruption) the temporary file is removed and ``path`` is untouched.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "out.txt"
    >>> with atomic_target(path) as partial:
    ...     _ = partial.write_text("done")
    >>> path.read_text()
    'done'
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield temporary
        with open(temporary, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as error:  # named by the path asked for, never by the temporary one
        raise OSError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    _fsync_directory(path.parent)


@contextmanager
def atomic_directory(path):
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` as a whole.

    A failure or an interruption while the folder is filled leaves ``path`` as it was (the previous
    report, say) and removes the temporary folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "report"
    >>> with atomic_directory(path) as folder:
    ...     _ = (folder / "report.md").write_text("new")
    >>> (path / "report.md").read_text()
    'new'
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    previous = path.with_name(f".{path.name}.{os.getpid()}.old")
    shutil.rmtree(temporary, ignore_errors=True)
    try:
        temporary.mkdir(parents=True)
        yield temporary
        if path.exists():
            os.replace(path, previous)
        os.replace(temporary, path)
    except OSError as error:
        raise OSError(f"cannot write {str(path)!r}: {error.strerror or error}") from None
    finally:
        shutil.rmtree(temporary, ignore_errors=True)
        shutil.rmtree(previous, ignore_errors=True)
    _fsync_directory(path.parent)


def write_dataset(path, dataset: xr.Dataset) -> None:
    """Write a Dataset (one round, or a run's cumulants) atomically: temporary name, fsync, rename.

    Examples
    --------
    >>> import tempfile, pathlib, xarray as xr
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.nc"
    >>> write_dataset(path, xr.Dataset({"a": ("x", [1.0, 2.0])}))
    >>> xr.load_dataset(path).a.values
    array([1., 2.])
    """
    # Encodings carried over from files read earlier would bind this file too: a string
    # coordinate kept the first round file's width and cut 'ising_clone' to 'ising'.
    dataset = dataset.drop_encoding()
    with atomic_target(path) as temporary:
        encode_booleans(dataset).to_netcdf(temporary, engine=ENGINE, format="NETCDF4")


def read_round(path, *, config_hash: str | None = None, lazy: bool = False) -> xr.Dataset:
    """Load one round file, checking that it is a cavitykit round (of the given config).

    With ``lazy`` the variables are dask arrays read from the file when computed.

    Raises
    ------
    ValueError
        The file is unreadable, not a cavitykit round file, or from another config.

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> ds = read_round(round_path(example_run(), "gaussian_clone", 1, 2))
    >>> dict(ds.weight.sizes)
    {'variant': 1, 'replicate': 1, 'round': 1, 'neuron': 8, 'input': 40}
    """
    path = Path(path)
    if lazy:
        require("dask", "reading runs lazily (open_run(lazy=True), open_sweep)")
    dataset = _opened(path, chunks={}) if lazy else _opened(path, load=True)
    dataset = decode_round(dataset, source=repr(str(path)))
    if config_hash is not None and dataset.attrs.get("config_hash") != config_hash:
        raise ValueError(
            f"{str(path)!r} belongs to config {dataset.attrs.get('config_hash', '?')[:12]}, not {config_hash[:12]}"
        )
    return dataset


def _opened(path: Path, *, load: bool = False, **options) -> xr.Dataset:
    """``xarray.open_dataset`` of a netCDF4 file (with ``load``, read whole and closed), or a ValueError
    that names the file (and, for a round file, how to recompute it)."""
    try:
        if not load:
            return xr.open_dataset(path, engine=ENGINE, **options)
        with xr.open_dataset(path, engine=ENGINE, **options) as handle:
            return handle.load()
    except (OSError, ValueError, RuntimeError) as error:
        message = f"{str(path)!r} is not a readable netCDF4 file ({error})"
        if path.match(ROUND_GLOB):
            message += (
                ": a round file cut short (an interrupted copy or a full disk?); delete it and run the same "
                "`cavitykit run` again, which recomputes that round exactly as before"
            )
        raise ValueError(message) from None


def stored_config_hash(path) -> str | None:
    """The ``config_hash`` a round file was written with, read from its header alone (None if it has none).

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> len(stored_config_hash(round_path(example_run(), "nlgp", 0, 0)))
    64
    """
    with _opened(Path(path)) as handle:
        return handle.attrs.get("config_hash")


def remove_temporaries(run_dir) -> None:
    """Delete temporary files an interrupted writer left (never read by ``open_run``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> run_dir = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (run_dir / ".round_000.nc.4242.tmp").write_text("half")  # left by a killed writer
    >>> remove_temporaries(run_dir)
    >>> list(run_dir.iterdir())
    []
    """
    for temporary in Path(run_dir).glob("**/.*.tmp"):
        if temporary.is_dir():  # a report folder being written
            shutil.rmtree(temporary, ignore_errors=True)
        else:
            temporary.unlink(missing_ok=True)


def open_run(run_dir, *, lazy: bool = False, cumulants: bool = False, control: str | None = None) -> xr.Dataset:
    """All complete rounds of a run (or of one of its control branches) as one Dataset.

    Dims ``variant``, ``replicate``, ``round``, ``neuron``, ``input``, ``label`` (and
    ``approx_order`` with the cavity expansions, ``time`` with snapshots); 2D inputs carry ``x``
    and ``y`` coordinates.  Rounds missing in one variant or replicate are NaN there.  A run
    opened without ``cumulants`` always has the same variables, whatever else the directory
    holds.  Reads the files only: neither torch nor the IMP engine is imported.

    Parameters
    ----------
    run_dir : str or Path
        A run directory written by ``cavitykit run``.
    lazy : bool
        Dask arrays read from the files when computed, instead of loading every round now.
    cumulants : bool
        Also merge the cumulant spectra of ``RUN/cumulants.nc`` (``cavitykit cumulants RUN``):
        ``CUMULANT_VARIABLES`` over the extra dims ``sample_set`` and ``order``.  Main branch only.
    control : str, optional
        A control branch (``run_controls``): its rounds after the shared dense round 0, whose
        ``pruned_next`` becomes what the branch pruned.  The attributes are the branch's (its
        config is the run's with ``imp.strategy`` set to the control) plus ``control``.

    Returns
    -------
    xarray.Dataset
        The variables of ``cavitykit.io.schema.VARIABLES`` (and, with ``cumulants``,
        ``CUMULANT_VARIABLES``).

    Raises
    ------
    ValueError
        Not a run directory, no complete round yet, a round file of another config, or a control
        branch the run does not hold.
    FileNotFoundError
        ``cumulants`` asked for and no ``cumulants.nc`` written yet.

    Examples
    --------
    >>> from cavitykit.testing import example_run
    >>> ds = open_run(example_run())
    >>> dict(ds.weight.sizes)
    {'variant': 2, 'replicate': 2, 'round': 3, 'neuron': 8, 'input': 40}
    """
    run_dir = Path(run_dir)
    config_file = run_dir / CONFIG_FILE
    if not config_file.is_file():
        raise ValueError(f"{str(run_dir)!r} is not a cavitykit run directory (no {CONFIG_FILE})")
    files = sorted(run_dir.glob(ROUND_GLOB))
    if not files:
        raise ValueError(f"run directory {str(run_dir)!r} holds no complete round yet")
    config = tomllib.loads(config_file.read_text())
    if control is None:
        rounds = [_of_config(read_round(path, lazy=lazy), config, path) for path in files]
    else:
        if control not in run_controls(run_dir):
            raise ValueError(
                f"control must be a control branch of {str(run_dir)!r} with a round written "
                f"({run_controls(run_dir)}), got {control!r}"
            )
        if cumulants:
            raise ValueError("cumulants are stored for the main branch only: open a control without cumulants")
        branch = branch_tables(config, control)
        own = sorted(branch_dir(run_dir, control).glob(ROUND_GLOB))
        dense = [path for path in files if path.name == "round_000.nc"]
        rounds = [_of_config(read_round(path, lazy=lazy), config, path) for path in dense]
        rounds += [_of_config(read_round(path, lazy=lazy), branch, path) for path in own]
    combined = xr.combine_by_coords(rounds, combine_attrs="drop_conflicts", join="outer")
    combined = missing_as_false(combined)
    combined.attrs["data_model"] = " ".join(str(v) for v in combined.variant.values)
    # Files written before and after controls were added differ in that key alone: config.toml decides.
    combined.attrs["config"] = config_file.read_text()
    if control is not None:
        combined = _branch_dense_round(combined)
        combined.attrs.update({key: rounds[-1].attrs[key] for key in ("config", "config_hash")}, control=control)
    if cumulants:
        spectra = run_dir / CUMULANTS_FILE
        if not spectra.is_file():
            raise FileNotFoundError(f"{str(spectra)!r} does not exist yet; write it with `cavitykit cumulants RUN`")
        stored = read_round(spectra, config_hash=combined.attrs["config_hash"])
        stale = cumulants_mismatch(combined, stored)
        if stale:
            raise ValueError(
                f"{str(spectra)!r} is stale: {stale}; recompute it with `cavitykit cumulants RUN --overwrite`"
            )
        combined = with_cumulants(combined, stored)
    return combined


def cumulants_mismatch(run: xr.Dataset, cumulants: xr.Dataset, *, max_order: int = 2) -> str | None:
    """Why ``cumulants`` (a ``cumulants.nc``) does not describe ``run`` as it stands, or None when it does.

    It must have been computed for the run's config, for exactly the rounds each member has written
    (``rounds_present``), and up to at least ``max_order``.

    Examples
    --------
    >>> from cavitykit.spectra import preactivation_cumulants  # doctest: +SKIP
    >>> from cavitykit.testing import example_run  # doctest: +SKIP
    >>> run = open_run(example_run())  # doctest: +SKIP
    >>> spectra = preactivation_cumulants(example_run(), max_order=4)  # doctest: +SKIP
    >>> cumulants_mismatch(run, spectra) is None, cumulants_mismatch(run, spectra, max_order=8)  # doctest: +SKIP
    (True, 'it holds orders up to 4, not 8')
    >>> cumulants_mismatch(run.isel(round=slice(0, 2)), spectra)  # doctest: +SKIP
    "it was computed for rounds 'gaussian_clone/0: 0 1 2; ...', the run now holds 'gaussian_clone/0: 0 1; ...'"
    """
    if cumulants.attrs.get("config_hash") != run.attrs.get("config_hash"):
        return f"it belongs to config {str(cumulants.attrs.get('config_hash', '?'))[:12]}"
    stored, now = cumulants.attrs.get("rounds_present"), rounds_present(run)
    if stored != now:
        if stored is None:
            return "it does not record which rounds it covers (written by an older cavitykit)"
        first = now.split("; ")[0]
        return f"it was computed for rounds '{stored.split('; ')[0]}; ...', the run now holds '{first}; ...'"
    highest = int(cumulants["order"].max())
    if highest < max_order:
        return f"it holds orders up to {highest}, not {max_order}"
    return None


def _branch_dense_round(branch: xr.Dataset) -> xr.Dataset:
    """A branch whose round 0 (the run's dense round) says what the branch pruned after it, not the run."""
    if branch.sizes["round"] < 2:
        return branch
    pruned = {"pruned_next": "mask", "readout_pruned_next": "readout_mask"}
    updates = {}
    for name, mask in pruned.items():
        if name in branch:
            # a member whose round 1 is missing (NaN) pruned nothing yet
            present = branch.test_accuracy.isel(round=1, drop=True).notnull()
            first = branch[mask].isel(round=0, drop=True).fillna(False).astype(bool)
            second = branch[mask].isel(round=1, drop=True).fillna(True).astype(bool) | ~present
            values = branch[name].copy()
            values[{"round": 0}] = (first & ~second).transpose(*values.isel(round=0).dims)
            updates[name] = values
    return branch.assign(updates)


def _of_config(dataset: xr.Dataset, config: dict, path: Path) -> xr.Dataset:
    """``dataset`` if the config it was written with is ``config`` (controls aside)."""
    stored = stored_values(tomllib.loads(dataset.attrs.get("config", "")))
    if without_controls(stored) != without_controls(stored_values(config)):
        raise ValueError(
            f"{str(path)!r} belongs to config {dataset.attrs.get('config_hash', '?')[:12]}, "
            f"not to the {CONFIG_FILE} beside it"
        )
    return dataset


def current_cumulants(path, run: xr.Dataset, *, max_order: int) -> tuple[xr.Dataset | None, str]:
    """A run's stored ``cumulants.nc`` if it describes the run as it stands up to ``max_order``
    (``cumulants_mismatch``), and why not otherwise.

    Returns
    -------
    spectra : xarray.Dataset or None
        None when the file is absent, unreadable or stale.
    why : str
        '' when the spectra are current or there is no file; else what is wrong with it.
    """
    path = Path(path)
    if not path.is_file():
        return None, ""
    try:
        stored = read_round(path)
    except ValueError as error:
        return None, str(error)
    stale = cumulants_mismatch(run, stored, max_order=max_order)
    return (None, f"{str(path)!r} is stale ({stale})") if stale else (stored, "")


def with_cumulants(run: xr.Dataset, cumulants: xr.Dataset) -> xr.Dataset:
    """The run with the pre-activation cumulant spectra of ``cavitykit cumulants`` merged in.

    Parameters
    ----------
    run : xarray.Dataset
        As ``open_run`` returns it.
    cumulants : xarray.Dataset
        As ``cavitykit.spectra.preactivation_cumulants`` returns it.

    Returns
    -------
    xarray.Dataset
        ``run`` with the cumulant variables, over the rounds ``run`` holds.

    Examples
    --------
    >>> from cavitykit.spectra import preactivation_cumulants  # doctest: +SKIP
    >>> from cavitykit.testing import example_run  # doctest: +SKIP
    >>> spectra = preactivation_cumulants(example_run(), max_order=4)  # nothing written  # doctest: +SKIP
    >>> # as open_run(RUN, cumulants=True) returns it once they are written:
    >>> ds = with_cumulants(open_run(example_run()), spectra)  # doctest: +SKIP
    >>> "preact_cumulant" in ds  # doctest: +SKIP
    True
    """
    return run.merge(cumulants, join="left", combine_attrs="override")


def run_directory(config: RunConfig, out) -> Path:
    """Where ``config``'s run lives under ``out``: ``out`` itself when it is a run directory, else the
    directory of ``out`` that already holds a run of the same training (``RunConfig.identity``, whatever
    its name or analysis settings, and directories named before the identity existed), else
    ``out/<name>-<identity[:12]>``.

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> run_directory(config, "results").name
    'quick-...'
    """
    out = Path(out)
    existing = next(folder for folder in (out.absolute(), *out.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise NotADirectoryError(f"--out: {str(out)!r} needs a folder, but {str(existing)!r} is a file")
    if (out / CONFIG_FILE).is_file():
        return out
    named = out / f"{config.name}-{config.identity[:12]}"
    if (named / CONFIG_FILE).is_file() or not out.is_dir():
        return named
    for candidate in sorted(out.glob(f"*/{CONFIG_FILE}")):
        try:
            if load_stored_config(candidate).identity == config.identity:
                return candidate.parent
        except (OSError, ValueError):  # not a run of this version's configs: not ours
            continue
    return named


def prepare_run_directory(config: RunConfig, run_dir: Path) -> None:
    """Create the directory with its config, or check that an existing one holds the same training
    (``RunConfig.identity``) and store ``config`` there: other control branches, a new name or new analysis
    settings keep the run's rounds (``cavitykit.imp.run`` re-measures them under the new settings).

    Examples
    --------
    >>> from cavitykit.config import load_preset
    >>> config = load_preset("quick")
    >>> import tempfile
    >>> run_dir = run_directory(config, tempfile.mkdtemp())
    >>> prepare_run_directory(config, run_dir)
    >>> sorted(p.name for p in run_dir.iterdir())
    ['config.toml']
    """
    config_file = run_dir / CONFIG_FILE
    if config_file.is_file():
        stored = load_stored_config(config_file)
        if stored.identity != config.identity:
            raise ValueError(
                f"{str(run_dir)!r} holds a run of a different training ({stored.name}, identity "
                f"{stored.identity[:12]}); choose another --out"
            )
        for name in config.imp.controls:
            folder = branch_dir(run_dir, name)
            if (
                CONTROLS[name].ranks_on_heldout
                and folder.is_dir()
                and stored.analysis.n_heldout != config.analysis.n_heldout
            ):
                raise ValueError(
                    f"{str(folder)!r} was pruned by cavity effects on analysis.n_heldout = "
                    f"{stored.analysis.n_heldout} held-out inputs, not {config.analysis.n_heldout}: only training "
                    "again gives this config's rounds; choose another --out"
                )
        remove_temporaries(run_dir)
        if stored != config:
            with atomic_target(config_file) as temporary:
                temporary.write_text(config.to_toml())
        return
    if run_dir.exists() and any(run_dir.iterdir()):
        raise ValueError(f"{str(run_dir)!r} exists, is not empty and holds no cavitykit config")
    with atomic_target(config_file) as temporary:
        temporary.write_text(config.to_toml())
