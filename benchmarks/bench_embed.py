"""Embedding extractor vs a naive per-image open_clip loop (same as `steerstats bench embed`).

    python benchmarks/bench_embed.py [--model ViT-B-32] [--weights PATH_OR_TAG] [--n-images 96]
    python benchmarks/bench_embed.py --device cuda --n-images 4096 --batch-size 256  # on a GPU
"""

from __future__ import annotations

import sys

from steerstats.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "embed", *sys.argv[1:]]))
