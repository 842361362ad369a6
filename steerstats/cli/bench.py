"""``steerstats bench NAME``: speed benchmarks, each against a baseline run in the same process.

Add a benchmark by adding one line to :data:`BENCHMARKS`: name -> module defining
``add_arguments(parser)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS: dict[str, tuple[str, str]] = {
    "bootstrap": (
        "steerstats.uncertainty.benchmark",
        "vectorised cluster bootstrap vs a pandas resample loop",
    ),
    "reward_models": (
        "steerstats.models.benchmark",
        "whole-run lax.scan training vs a jitted-step loop and PyTorch eager",
    ),
    "embed": (
        "steerstats.embed.benchmark",
        "embedding extractor vs a naive per-image open_clip loop (images/s; GPU ceiling on CUDA)",
    ),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("bench", help="speed benchmarks (ratios against baselines)")
    names = parser.add_subparsers(dest="benchmark", required=True, metavar="NAME")
    for name, (module, summary) in BENCHMARKS.items():
        sub = names.add_parser(name, help=summary, description=summary)
        importlib.import_module(module).add_arguments(sub)
        sub.set_defaults(func=_runner(module))


def _runner(module: str):
    def run(args: argparse.Namespace) -> int:
        return int(importlib.import_module(module).run(args) or 0)

    return run
