"""Arguments shared by several subcommands."""

from __future__ import annotations

import argparse


def add_dataset_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        default="synthetic",
        help="'synthetic' (built-in simulated study, known truth), 'vafa2025' (released steerability study), "
        "'tifa160' (report only: AI attribute judgements vs human ratings); predict and decompose also take "
        "'synthetic-nonadditive' (model-specific slopes, non-linear goal effect)",
    )
    parser.add_argument(
        "--data-dir",
        default=None,
        help="directory of the dataset's files (default: $STEERSTATS_DATA, else the user cache dir)",
    )
    parser.add_argument("--partial", action="store_true",
                        help="a study of your own in the release's layout with only some of its files "
                        "(steering.csv at least): load those, skip the sections of the others")
    parser.add_argument("--seed", type=int, default=0, help="seed for every random step")


def add_out_arg(parser: argparse.ArgumentParser, default: str) -> None:
    """``--out DIR`` and ``--force``: a new or empty directory, or a previous output of the same
    command (replaced); ``--force`` also replaces another steerstats command's output."""
    parser.add_argument(
        "--out", default=default,
        help=f"output directory (default: {default}); must be new, empty or this command's previous output",
    )
    parser.add_argument(
        "--force", action="store_true",
        help="replace a previous output of another steerstats command (never data steerstats did not write)",
    )


def guard_out(args: argparse.Namespace, command: str, *inputs: str | None) -> None:
    """Refuse ``args.out`` before any work if writing there would destroy data (see
    :func:`steerstats._io.check_output_dir`); ``inputs`` are the paths the command reads."""
    from steerstats._io import check_output_dir

    check_output_dir(args.out, command, inputs=inputs, force=getattr(args, "force", False))


def add_embedding_args(parser: argparse.ArgumentParser) -> None:
    """Text embedder, goal representation and embedding cache of the steerability predictors."""
    parser.add_argument("--embedder", default="tfidf", choices=("tfidf", "minilm", "clip"), help="text embedder (default: tfidf)")
    parser.add_argument(
        "--goal-embeddings",
        default=None,
        help="'text' (embed reference_prompt), 'truth' (a simulated study's goal features) or a "
        "keyed embedding table: `steerstats embed images --id-column goal_image` output, or a "
        "csv/parquet of goal_image + numeric columns (default: truth on synthetic, else text)",
    )
    parser.add_argument(
        "--prompt-embeddings",
        default=None,
        metavar="FILE",
        help="keyed embedding table of the prompts (`steerstats embed texts --column prompt --id-column "
        "prompt` output, or prompt + numeric columns) instead of the text embedder",
    )
    parser.add_argument("--cache-dir", default=None, help="on-disk embedding cache (default: none)")
    parser.add_argument("--clip-model", default="ViT-B-32", help="open_clip model for --embedder clip")
    parser.add_argument("--clip-weights", default=None, help="checkpoint file or open_clip pretrained tag for --embedder clip")


def goal_source(args: argparse.Namespace) -> str:
    """``--goal-embeddings``, defaulting to the true goal features on synthetic data, else text."""
    return args.goal_embeddings or ("truth" if args.dataset.startswith("synthetic") else "text")


def embedding_files(args: argparse.Namespace) -> list[str]:
    """The ``--goal-embeddings`` (unless 'text' / 'truth') and ``--prompt-embeddings`` files given."""
    goal = getattr(args, "goal_embeddings", None)
    files = [goal if goal not in (None, "text", "truth") else None, getattr(args, "prompt_embeddings", None)]
    return [f for f in files if f is not None]


def embedder_options(args: argparse.Namespace) -> dict:
    """Keyword options of the chosen ``--embedder`` (only clip has any)."""
    if args.embedder == "clip":
        return {"model": args.clip_model, "weights": args.clip_weights}
    return {}


def add_quiet_arg(parser: argparse.ArgumentParser) -> None:
    """``-q/--quiet``: no progress bars (the same name in every command)."""
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bars")


def add_scheduler_arg(parser: argparse.ArgumentParser) -> None:
    """``--scheduler``: where the job's tasks run (steerstats._executor)."""
    parser.add_argument("--scheduler", default=None,
                        help="'local' (default; or $STEERSTATS_SCHEDULER), 'local:N' (a Dask LocalCluster of N worker "
                        "processes on 127.0.0.1) or tcp://HOST:PORT (a running Dask scheduler; the 'dask' extra)")
