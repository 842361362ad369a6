"""Vectorised cluster bootstrap vs a plain pandas resample loop (same as `steerstats bench bootstrap`).

    python benchmarks/bench_bootstrap.py [--data-dir DIR] [--n-boot 10000] [--n-loop 200]
"""

from __future__ import annotations

import sys

from steerstats.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "bootstrap", *sys.argv[1:]]))
