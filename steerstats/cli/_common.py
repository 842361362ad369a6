"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse


def add_dataset_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default="synthetic",
        help="'synthetic' (built-in simulated study, known truth) or 'vafa2025' (released data)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="directory of the dataset's files (default: $STEERSTATS_DATA, else the user cache dir)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for every random step")


def add_out_arg(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--out", default=default, help=f"output directory (default: {default})")
