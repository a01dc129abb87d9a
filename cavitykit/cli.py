"""The ``cavitykit`` command line."""

from __future__ import annotations

import argparse
import sys

import cavitykit

BENCHMARKS = ("cumulants", "data", "cavity")


def _bench(args: argparse.Namespace) -> int:
    import importlib

    names = args.names or BENCHMARKS
    for name in names:
        print(f"== cavitykit bench {name}")
        importlib.import_module(f"cavitykit.bench.{name}").main(scale=args.scale, repeats=args.repeats)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cavitykit", description="Cumulants, cavity effects and localization under iterative magnitude pruning."
    )
    parser.add_argument("--version", action="version", version=f"cavitykit {cavitykit.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    bench = commands.add_parser("bench", help="side-by-side ratio benchmarks against the named peers")
    bench.add_argument("names", nargs="*", choices=[*BENCHMARKS, []], metavar="NAME", help=f"one of {BENCHMARKS}")
    bench.add_argument("--scale", type=float, default=1.0, help="fraction of the full sample count (default 1)")
    bench.add_argument("--repeats", type=int, default=9, help="interleaved timing rounds (default 9)")
    bench.set_defaults(handler=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (ValueError, TypeError, OSError) as error:
        print(f"cavitykit {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"cavitykit {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
