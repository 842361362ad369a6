"""``steerstats score``: CLIP / DreamSim similarity of image pairs and CLIPScore of prompt-image pairs."""

from __future__ import annotations

import argparse
import sys

from steerstats.cli._common import add_quiet_arg
from steerstats.cli.embed import add_cache_args, add_clip_model_args, cache_dir_of, clip_builder


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "score",
        help="similarity of (goal, output) image pairs: CLIP cosine, DreamSim, CLIPScore",
        description=(
            "Score every row of a table of image pairs: clip (cosine of open_clip image embeddings -> "
            "clip_similarity), dreamsim (1 - DreamSim distance -> dreamsim; weights from disk, never "
            "downloaded) and clipscore (2.5 max(cos(text, image), 0) of --text vs --image-b). Output: "
            "the input table with the score columns and score_status added (so it replaces the study "
            "table it came from), unreadable images in <out>.unreadable.csv. Each unique image is "
            "embedded once through the content-hash cache, so a rerun or an interrupted run resumes."
        ),
    )
    parser.add_argument("--in", dest="table", required=True, help="table of pairs (.csv/.tsv/.parquet)")
    parser.add_argument("--out", required=True, help="scored table (.csv or .parquet)")
    parser.add_argument("--metric", action="append", choices=("clip", "dreamsim", "clipscore"), default=None,
                        help="repeatable (default: clip)")
    parser.add_argument("--image-a", default="goal_image", help="first image column (default: goal_image)")
    parser.add_argument("--image-b", default="generated_image", help="second image column (default: generated_image)")
    parser.add_argument("--text", default=None, help="text column of clipscore (e.g. prompt)")
    parser.add_argument("--root", default=None, help="base of relative image paths (default: the table's dir)")
    add_clip_model_args(parser)
    parser.add_argument("--dreamsim-weights", default=None, metavar="DIR",
                        help="directory holding the dreamsim package's checkpoints")
    parser.add_argument("--dreamsim-type", default="ensemble", help="DreamSim variant (default: ensemble)")
    add_cache_args(parser)
    parser.add_argument("--replace", action="store_true", help="overwrite score columns the table already has")
    parser.add_argument("--force", action="store_true", help="replace an existing --out file")
    add_quiet_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from steerstats.embed.score import COLUMNS, score_table, unreadable_report_path

    metrics = args.metric or ["clip"]
    clip = clip_builder(args) if {"clip", "clipscore"} & set(metrics) else None
    dreamsim = None
    if "dreamsim" in metrics:
        from steerstats.embed.dreamsim import dreamsim_factory
        from steerstats.errors import ConfigError

        if args.dreamsim_weights is None:
            raise ConfigError("--metric dreamsim needs --dreamsim-weights DIR")
        dreamsim = dreamsim_factory(args.dreamsim_weights, dreamsim_type=args.dreamsim_type, device=args.device,
                                    batch_size=args.batch_size, num_workers=args.workers)
    result = score_table(args.table, args.out, root=args.root, force=args.force, metrics=metrics,
                         image_a=args.image_a, image_b=args.image_b, text=args.text, clip=clip, dreamsim=dreamsim,
                         cache_dir=cache_dir_of(args), replace=args.replace, progress=not args.quiet)
    n = len(result.frame)
    for m in result.metrics:
        col = result.frame[COLUMNS[m]]
        c = result.counts[m]
        print(f"{COLUMNS[m]:16s} mean {col.mean():.4f} over {int(col.notna().sum())}/{n} rows "
              f"({c['items']} unique items: {c['cached']} from cache, {c['computed']} computed)")
    print(f"wrote {args.out}")
    if len(result.unreadable):
        print(f"steerstats: {len(result.unreadable)} unreadable images ({n - result.n_scored} rows unscored) listed in "
              f"{unreadable_report_path(args.out)}", file=sys.stderr)
    return 0
