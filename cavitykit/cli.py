"""The ``cavitykit`` command line."""

from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import cavitykit
from cavitykit._extras import MissingExtra
from cavitykit.config import presets
from cavitykit.network.formulas import PREACTIVATION_CONVENTIONS
from cavitykit.variants import CLONES, SAMPLE_MODELS

BENCHMARKS = ("cumulants", "data", "cavity", "theory", "imp", "images", "sweep", "stream")
# The benchmarks are scripts beside the package in a source checkout (benchmarks/bench_NAME.py).
BENCHMARK_DIR = Path(__file__).resolve().parents[1] / "benchmarks"
N_DRAWN = 100_000  # samples drawn from --model by default
# Options that describe samples drawn from --model (argparse names); refused beside --samples FILE.
MODEL_OPTIONS = ("n_samples", "xi", "gain", "dim", "seed", "chunk_size")


def _chosen_config(args: argparse.Namespace):
    """The RunConfig of ``CONFIG.toml`` or ``--preset NAME``, exactly one of which must be given."""
    from cavitykit.config import load_config, load_preset

    if (args.config is None) == (args.preset is None):
        raise ValueError("give exactly one of CONFIG.toml or --preset NAME")
    return load_preset(args.preset) if args.preset else load_config(args.config)


def _run(args: argparse.Namespace) -> int:
    from cavitykit.device import resolve_device
    from cavitykit.imp import run

    config = _chosen_config(args)
    if resolve_device(args.device).type != "cpu":
        print(f"cavitykit run: training on {args.device} (a route not yet run on a GPU)", file=sys.stderr)
    try:
        run_dir = run(config, args.out, device=args.device, progress=not args.quiet, group_size=args.group_size)
    except KeyboardInterrupt:
        print("cavitykit run: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    print(f"run directory: {run_dir}")
    if args.report:
        from cavitykit.report import write_report

        print(f"report: {write_report(run_dir, progress=not args.quiet)}")
    return 0


def _config(args: argparse.Namespace) -> int:
    from cavitykit.config import PRESET_DIR

    config = _chosen_config(args)
    text = (PRESET_DIR / f"{args.preset}.toml").read_text() if args.preset else config.to_toml()
    print(f"# run directory: <out>/{config.name}-{config.identity[:12]} (or the one there that trains alike)")
    print(text, end="")
    return 0


def _bench(args: argparse.Namespace) -> int:
    import importlib

    if not (BENCHMARK_DIR / "_timing.py").is_file():
        raise OSError(
            f"the benchmarks are the scripts of a source checkout's benchmarks/ folder, not found at {BENCHMARK_DIR}: "
            "install cavitykit from a clone with pip install -e ."
        )
    sys.path.insert(0, str(BENCHMARK_DIR))
    try:
        for name in args.names or BENCHMARKS:
            print(f"== cavitykit bench {name}")
            importlib.import_module(f"bench_{name}").main(scale=args.scale, repeats=args.repeats)
    finally:
        sys.path.remove(str(BENCHMARK_DIR))
    return 0


def _report(args: argparse.Namespace) -> int:
    from cavitykit.report import write_report

    print(f"report: {write_report(args.run, out=args.out, variant=args.variant, progress=not args.quiet)}")
    if args.weights is not None:  # after the report, so that it may go into the report's folder
        from cavitykit.io.weights import write_weights

        print(f"weights: {write_weights(args.run, args.weights)}")
    return 0


def _index(args: argparse.Namespace) -> int:
    from cavitykit.report.published import write_results_index

    for page in write_results_index(args.folder):
        print(f"page: {page}")
    return 0


def _cumulants(args: argparse.Namespace) -> int:
    from cavitykit.io import cumulants_file
    from cavitykit.spectra import preactivation_cumulants

    if (args.run is None) == (args.weights is None):
        raise ValueError("give a run directory RUN, or --weights FILE (with --samples or --model, and --out)")
    if args.weights is not None:
        if args.layer is not None:
            raise ValueError("--layer applies to a run's deeper layers; --weights FILE is a layer of its own")
        return _weights_cumulants(args)
    own = ("key", "mask", "model", "out", "seed", "xi", "gain", "dim", "convention")
    given = [f"--{name}" for name in own if getattr(args, name) is not None]
    if given:
        verb = "apply" if len(given) > 1 else "applies"
        raise ValueError(f"{', '.join(given)} {verb} to --weights FILE; a run's samples come from its config")
    layer = 1 if args.layer is None else args.layer
    out = Path(args.run) / cumulants_file(layer)
    _writable(out, args.overwrite)
    with _streaming(args):
        result = preactivation_cumulants(
            args.run,
            max_order=args.max_order,
            samples=args.samples,
            samples_key=args.samples_key,
            n_samples=args.n_samples,
            chunk_size=args.chunk_size,
            progress=not args.quiet,
            out=out,
            layer=layer,
        )
    print(f"wrote {out}: preact_cumulant {dict(result.preact_cumulant.sizes)}")
    return 0


def _weights_cumulants(args: argparse.Namespace) -> int:
    """``cavitykit cumulants --weights FILE ...``: the spectrum of weights that are not a run."""
    from cavitykit.io import write_dataset
    from cavitykit.spectra import streamed_spectrum, weights_spectrum

    weights, bias, samples, source = _own_layer(args, streamed=args.chunk_size is not None)
    if samples is not None:
        spectrum = weights_spectrum(weights, samples, max_order=args.max_order, bias=bias, convention=args.convention)
    else:
        with _streaming(args):
            spectrum = streamed_spectrum(
                weights,
                source.model,
                source.n_samples,
                max_order=args.max_order,
                chunk_size=args.chunk_size,
                seed=source.seed,
                bias=bias,
                convention=args.convention,
            )
        source = source.text
    write_dataset(args.out, spectrum.assign_attrs(**_layer_source(args), samples=source))
    print(f"wrote {args.out}: kstat and cumulant {dict(spectrum.cumulant.sizes)}")
    return 0


def _cavity(args: argparse.Namespace) -> int:
    """``cavitykit cavity --weights FILE ...``: exact cavity effects of every weight of one's own layer."""
    from cavitykit import cavity
    from cavitykit.io import write_dataset

    if args.statistic not in cavity.STATISTICS:
        raise ValueError(f"--statistic must be one of {', '.join(cavity.STATISTICS)}; got {args.statistic!r}")
    weights, bias, samples, source = _own_layer(args, streamed=False)
    effects = cavity.layer_effects(
        weights, samples, statistic=args.statistic, convention=args.convention, bias=bias, progress=not args.quiet
    )
    dataset = effects.to_dataset(name="cavity_exact").assign_attrs(
        **_layer_source(args),
        samples=source,
        convention=args.convention,
        note="a bias shifts the pre-activation and changes no cumulant of order 2 or more",
    )
    write_dataset(args.out, dataset)
    print(f"wrote {args.out}: cavity_exact {dict(effects.sizes)} ({args.statistic})")
    return 0


def _layer_source(args: argparse.Namespace) -> dict[str, str]:
    """What an output says of the layer it was computed on: the file, the key and the mask read."""
    return {
        "weights": str(args.weights),
        "weights_key": args.key or "weight",
        "mask": str(args.mask) if args.mask else "pruned weights are the exact zeros of the weights read",
    }


class _Drawn:
    """Samples to draw from a named model (``--model``): the model, how many, the seed, and a description."""

    def __init__(self, model, n_samples: int, seed: int):
        self.model, self.n_samples, self.seed = model, n_samples, seed
        self.text = f"{n_samples} samples of {model.describe()} (seed {seed})"


def _own_layer(args: argparse.Namespace, *, streamed: bool):
    """The weights and bias of ``--weights`` and their samples, for ``cumulants --weights`` and ``cavity``.

    Returns (weights, bias, samples, source): samples (P, D) in memory with the text that describes
    them, or, when ``streamed``, None and the ``_Drawn`` samples to stream.  Refuses what conflicts.
    """
    import numpy as np

    from cavitykit._validation import check_int
    from cavitykit.arrays import load_samples, load_weights
    from cavitykit.data import named_model

    if args.out is None:
        raise ValueError("--weights needs --out OUT.nc")
    _writable(Path(args.out), args.overwrite)
    if (args.samples is None) == (args.model is None):
        raise ValueError("--weights needs exactly one of --samples FILE or --model NAME")
    if args.samples is not None:
        drawing = [f"--{name.replace('_', '-')}" for name in MODEL_OPTIONS if getattr(args, name, None) is not None]
        if drawing:
            verb = "apply" if len(drawing) > 1 else "applies"
            raise ValueError(f"{', '.join(drawing)} {verb} to samples drawn from --model, not to --samples FILE")
    if streamed and args.model is None:
        raise ValueError("--chunk-size streams samples drawn from --model; give --model NAME")
    args.convention = args.convention or "scaled"  # None only tells a RUN that it was not given
    weights, bias = load_weights(args.weights, key=args.key, mask=args.mask)
    if args.samples is not None:
        against = f"the weights in {str(args.weights)!r} of shape {weights.shape}"
        samples = load_samples(args.samples, weights.shape[1], key=args.samples_key, against=against)
        return weights, bias, samples, str(args.samples)
    model = named_model(
        args.model,
        weights.shape[1],
        dim=1 if args.dim is None else args.dim,
        xi=1.0 if args.xi is None else args.xi,
        gain=3.0 if args.gain is None else args.gain,
    )
    n_samples = N_DRAWN if args.n_samples is None else check_int("--n-samples", args.n_samples, minimum=1)
    drawn = _Drawn(model, n_samples, 0 if args.seed is None else args.seed)
    if streamed:
        return weights, bias, None, drawn
    return weights, bias, model.sample(drawn.n_samples, np.random.default_rng(drawn.seed)), drawn.text


def _writable(path: Path, overwrite: bool) -> None:
    """Refuse an output that is not a .nc file, or that exists unless ``overwrite``; the error names it."""
    if path.suffix != ".nc":
        raise ValueError(f"the output {str(path)!r} must be a netCDF file ending in .nc")
    if path.exists() and not overwrite:
        raise FileExistsError(f"{str(path)!r} exists; pass --overwrite to replace it")
    if path.parent.exists() and not path.parent.is_dir():
        raise NotADirectoryError(f"cannot write {str(path)!r}: {str(path.parent)!r} is not a directory")
    folder = next(parent for parent in path.absolute().parents if parent.exists())
    try:  # before any computation: a folder that takes no file (read-only, or /proc) fails at the end otherwise
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise PermissionError(
            f"cannot write {str(path)!r}: {str(folder)!r} takes no new file ({error.strerror})"
        ) from None


def _streaming(args: argparse.Namespace):
    """With ``--chunk-size``, the dask client that streamed spectra run on (``--scheduler`` or a
    LocalCluster of ``--workers``); without it, nothing."""
    from contextlib import nullcontext

    from cavitykit._dask import dask_client

    return nullcontext() if args.chunk_size is None else dask_client(args.scheduler, args.workers)


def _sweep(args: argparse.Namespace) -> int:
    from cavitykit.sweep_runner import SweepFailed, run_sweep

    try:
        run_dirs = run_sweep(
            args.sweep,
            args.out,
            scheduler=args.scheduler,
            workers=args.workers,
            device=args.device,
            retries=args.retries,
            progress=not args.quiet,
            base=args.base,
        )
    except SweepFailed as error:
        print(f"cavitykit sweep: {error}", file=sys.stderr)
        return 1
    print(f"{len(run_dirs)} run directories under {args.out}; open them with cavitykit.open_sweep({str(args.out)!r})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cavitykit", description="Cumulants, cavity effects and localization under iterative magnitude pruning."
    )
    parser.add_argument("--version", action="version", version=f"cavitykit {cavitykit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser("run", help="run (or resume) IMP rounds and store every round in netCDF")
    run.add_argument("config", nargs="?", metavar="CONFIG.toml", help="run configuration (TOML)")
    run.add_argument("--preset", metavar="NAME", help=f"built-in configuration: {' or '.join(presets())}")
    run.add_argument(
        "--out",
        required=True,
        metavar="DIR",
        help="results root; the run goes to DIR/<name>-<identity> or the run there that trains alike",
    )
    run.add_argument(
        "--device",
        default="cpu",
        help="cpu (default) or cuda; the CUDA route matches the CPU route in the gpu tests, which have not yet "
        "run on a GPU",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--group-size",
        type=int,
        metavar="N",
        help="networks (variant x replicate) trained together as one ensemble (default: all; same results)",
    )
    run.add_argument("--report", action="store_true", help="write the report (cavitykit report) when done")
    run.set_defaults(handler=_run)

    config = commands.add_parser(
        "config", help="print a preset as an editable TOML file (--preset NAME > mine.toml), or check a config"
    )
    config.add_argument("config", nargs="?", metavar="CONFIG.toml", help="a config to validate and print in full")
    config.add_argument("--preset", metavar="NAME", help=f"built-in configuration: {' or '.join(presets())}")
    config.set_defaults(handler=_config)

    report = commands.add_parser("report", help="figures and report.md with a verdict per claim")
    report.add_argument(
        "run", metavar="RUN", help="a run directory written by cavitykit run, or a weights file written by --weights"
    )
    report.add_argument(
        "--variant",
        choices=tuple(CLONES),
        help="the model compared with its Gaussian clone (default: the first the run holds with its clone)",
    )
    report.add_argument("--out", metavar="DIR", help="the report folder, replaced whole (default RUN/report)")
    report.add_argument("--quiet", action="store_true", help="no progress bars")
    report.add_argument(
        "--weights",
        metavar="FILE.nc",
        help="also write the run's weights file (float32: weights, masks, statistics, controls), from which "
        "`cavitykit report FILE.nc` re-judges every claim",
    )
    report.set_defaults(handler=_report)

    index = commands.add_parser(
        "index",
        help="README.md of a folder of published reports (and its sweeps' pages), every number from their data files",
    )
    index.add_argument(
        "folder", metavar="FOLDER", help="a folder whose subfolders hold weights.nc and the report written from it"
    )
    index.set_defaults(handler=_index)

    cumulants = commands.add_parser(
        "cumulants", help="cumulant spectra of pre-activations: every round of a run, or weights from a file"
    )
    cumulants.add_argument("run", nargs="?", metavar="RUN", help="a run directory (or use --weights)")
    cumulants.add_argument("--max-order", type=int, default=8, help="highest order, 2..8 (default 8)")
    cumulants.add_argument("--samples", metavar="FILE", help=".npy/.npz inputs (P, D) instead of regenerated ones")
    cumulants.add_argument("--samples-key", metavar="NAME", help="the array of a --samples .npz that holds several")
    cumulants.add_argument(
        "--layer",
        type=int,
        metavar="N",
        help="RUN's hidden layer N (default 1); a deeper layer reads the layer below on the same inputs and "
        "goes to RUN/cumulants_layerN.nc",
    )
    cumulants.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    cumulants.add_argument("--quiet", action="store_true", help="no progress bar")
    own = cumulants.add_argument_group("weights that are not a run")
    _own_layer_options(own, "netCDF file of the spectrum, dims (neuron, order)")
    drawn = cumulants.add_argument_group("drawn samples, in memory or streamed (RUN or --model)")
    drawn.add_argument(
        "--n-samples",
        type=int,
        help=f"samples drawn (per class for RUN; default: the run's n_heldout, or {N_DRAWN} for --model)",
    )
    drawn.add_argument(
        "--chunk-size",
        type=int,
        metavar="N",
        help="draw the samples at most N at a time inside dask tasks and merge their power sums "
        "(for more samples than fit in memory; the chunks are the batches of the standard errors)",
    )
    drawn.add_argument("--scheduler", metavar="ADDRESS", help="with --chunk-size: a running dask scheduler")
    drawn.add_argument("--workers", type=int, default=2, help="with --chunk-size: LocalCluster workers (default 2)")
    cumulants.set_defaults(handler=_cumulants)

    effects = commands.add_parser(
        "cavity", help="exact cavity effects of every weight of your own layer (--weights FILE, --out OUT.nc)"
    )
    effects.add_argument(
        "--statistic",
        default="excess_kurtosis",
        help="the statistic whose change is computed: k2..k8, variance, skewness or excess_kurtosis (default)",
    )
    effects.add_argument("--samples", metavar="FILE", help=".npy/.npz inputs (P, D)")
    effects.add_argument("--samples-key", metavar="NAME", help="the array of a --samples .npz that holds several")
    effects.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    effects.add_argument("--quiet", action="store_true", help="no progress bar")
    layer = effects.add_argument_group("the layer and drawn samples")
    _own_layer_options(layer, "netCDF file of the effects, dims (neuron, input)", required=True)
    layer.add_argument("--n-samples", type=int, help=f"samples drawn from --model (default {N_DRAWN})")
    effects.set_defaults(handler=_cavity, chunk_size=None)

    sweep = commands.add_parser("sweep", help="a grid of IMP runs on a dask cluster (LocalCluster by default)")
    sweep.add_argument("sweep", metavar="SWEEP.toml", help="base config and [grid] of dotted keys")
    sweep.add_argument("--out", required=True, metavar="DIR", help="results root")
    sweep.add_argument("--scheduler", metavar="ADDRESS", help="a running dask scheduler, e.g. tcp://host:8786")
    sweep.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (default 2)")
    sweep.add_argument("--device", default="cpu", help="training device on the workers (default cpu)")
    sweep.add_argument("--retries", type=int, default=2, help="retries of a task that raises (default 2)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    sweep.add_argument("--base", metavar="PRESET", help="a preset replacing the sweep file's base (e.g. medium)")
    sweep.set_defaults(handler=_sweep)

    bench = commands.add_parser(
        "bench", help="side-by-side ratio benchmarks against the named peers (benchmarks/bench_NAME.py)"
    )
    bench.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME", help=f"one of {BENCHMARKS}")
    bench.add_argument("--scale", type=float, default=1.0, help="fraction of the full sample count (default 1)")
    bench.add_argument("--repeats", type=int, default=9, help="interleaved timing rounds (default 9)")
    bench.set_defaults(handler=_bench)
    return parser


def _own_layer_options(group, out_help: str, *, required: bool = False) -> None:
    """The options that name one's own layer and the samples drawn for it (``cumulants``, ``cavity``)."""
    group.add_argument(
        "--weights",
        metavar="FILE",
        required=required,
        help=".npz (array 'weight'), .npy or torch checkpoint, (K, D), with the bias beside the weights in FILE "
        "when it holds one ('bias', or 'fc1.bias' for 'fc1.weight'); pruned weights are exact zeros",
    )
    group.add_argument(
        "--key",
        metavar="NAME",
        help="the weights' array or tensor in FILE (default 'weight'); a layer pruned with torch.nn.utils.prune "
        "(NAME_orig and NAME_mask in its state_dict) is read by its usual NAME, masked",
    )
    group.add_argument(
        "--mask",
        metavar="FILE[:KEY]",
        help="a mask of the weights' shape saved by another tool (.npy, .npz or torch checkpoint): 0 marks a "
        "pruned weight, treated as removed",
    )
    group.add_argument(
        "--convention",
        choices=tuple(PREACTIVATION_CONVENTIONS),
        help="the pre-activation the weights define: scaled, w . x / sqrt(D) + b as in the runs (default), "
        "or linear, x . W^T + b as torch.nn.Linear",
    )
    group.add_argument("--model", choices=SAMPLE_MODELS, help="draw the samples from this data model instead")
    group.add_argument("--xi", type=float, help="the model's correlation length in pixels (default 1)")
    group.add_argument("--gain", type=float, help="the model's gain (default 3)")
    group.add_argument("--dim", type=int, choices=(1, 2), help="ring (1) or torus (2) of D pixels (default 1)")
    group.add_argument("--seed", type=int, help="seed of the drawn samples (default 0)")
    group.add_argument("--out", metavar="OUT.nc", required=required, help=out_help)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    formatwarning = warnings.formatwarning
    # Warnings read as the errors do: the command and the message, not a line of the package's source.
    warnings.formatwarning = lambda message, *_, **__: f"cavitykit {args.command}: warning: {message}\n"
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError, MissingExtra) as error:
        print(f"cavitykit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cavitykit {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.formatwarning = formatwarning


if __name__ == "__main__":
    sys.exit(main())
