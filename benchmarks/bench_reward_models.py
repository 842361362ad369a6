"""Reward-model training benchmark (same as `steerstats bench reward-models`).

    .venv/bin/python benchmarks/bench_reward_models.py            # paper config, 100 epochs
    steerstats bench reward-models --epochs 20                      # same, via the CLI
"""

from __future__ import annotations

import sys

from steerstats.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "reward-models", *sys.argv[1:]]))
