"""`steerstats` command line: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>``. Modules import heavy dependencies inside their functions so that
``steerstats --help`` stays fast. Every :class:`~steerstats.errors.SteerstatsError` becomes one line
on stderr and exit status 2: no tracebacks for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from steerstats.errors import SteerstatsError

COMMANDS = (
    "report",
    "data",
    "bench",
    "validate",
    "predict",
    "decompose",
    "budget",
    "embed",
    "rejection",
    "steer",
    "goalspace",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steerstats",
        description="Statistics of steerability and reward models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"steerstats.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except SteerstatsError as err:
        print(f"steerstats: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("steerstats: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
