"""Reward-model training speed: whole-run lax.scan vs a jitted-step Python loop vs PyTorch eager.

    .venv/bin/python benchmarks/bench_reward_models.py            # paper config, 100 epochs
    steerstats bench reward_models --epochs 20                      # same, via the CLI

Implementation: :mod:`steerstats.models.benchmark`.
"""

from __future__ import annotations

import argparse
import sys

from steerstats.models.benchmark import add_arguments, run

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))
