"""``steerstats embed images|texts``: open_clip embeddings of a table column into parquet."""

from __future__ import annotations

import argparse
import os
import sys

from steerstats.cli._common import add_quiet_arg, add_scheduler_arg


def add_clip_model_args(parser: argparse.ArgumentParser) -> None:
    """The open_clip model, its weights and how it runs (shared by ``embed`` and ``score``)."""
    parser.add_argument("--model", default="ViT-B-32", help="open_clip model (default ViT-B-32)")
    parser.add_argument("--model-config", default=None, metavar="FILE.json",
                        help="custom open_clip config registered under --model")
    parser.add_argument("--weights", default=None, metavar="PATH_OR_TAG",
                        help="checkpoint file or open_clip pretrained tag (tags download: need internet)")
    parser.add_argument("--random-init", action="store_true",
                        help="no weights: seeded random init (testing and benchmarks only)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --random-init")
    parser.add_argument("--batch-size", type=int, default=64, help="items per forward pass (default: 64)")
    parser.add_argument("--workers", type=int, default=None, help="image loader threads")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"),
                        help="torch device (default: auto = cuda > mps > cpu)")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "amp_bf16", "amp_fp16"),
                        help="numeric precision (default: auto = fp16 autocast on CUDA, fp32 elsewhere)")


def add_cache_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cache-dir", default=None, help="embedding cache (default: user cache dir)")
    parser.add_argument("--no-cache", action="store_true", help="do not read or write the cache")


def cache_dir_of(args: argparse.Namespace):
    """``--cache-dir``, the user cache dir by default, None with ``--no-cache``."""
    from steerstats.embed.table import default_cache_dir

    if args.no_cache:
        return None
    return args.cache_dir if args.cache_dir is not None else default_cache_dir()


def clip_builder(args: argparse.Namespace):
    """A zero-argument ClipEmbedder builder from the model arguments (checked now, built later,
    after the input has been validated)."""
    from steerstats.embed import ClipEmbedder
    from steerstats.errors import ConfigError

    if args.weights is None and not args.random_init:
        raise ConfigError("give --weights PATH_OR_TAG (or --random-init for a random model)")
    if args.weights is not None and args.random_init:
        raise ConfigError("--weights and --random-init exclude each other")

    # absolute paths: the builder may run in a worker process with another working directory
    weights = os.path.abspath(args.weights) if args.weights and os.path.exists(args.weights) else args.weights
    config = os.path.abspath(args.model_config) if args.model_config else None

    def build() -> ClipEmbedder:
        return ClipEmbedder(args.model, weights, device=args.device, precision=args.precision,
                            batch_size=args.batch_size, num_workers=args.workers, seed=args.seed,
                            model_config=config)
    return build


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "embed",
        help="open_clip image/text embeddings of a table column (cached, resumable)",
        description=(
            "Embed a column of image paths/URLs or texts with an open_clip model. Output: parquet "
            "aligned with the ids (null embedding + status 'unreadable' for images that cannot "
            "be read, listed in <out>.unreadable.csv); model, weights identity and preprocessing "
            "in the parquet metadata. Re-running skips cached items; an interrupted run resumes."
        ),
    )
    parser.add_argument("kind", choices=("images", "texts"), help="what the column holds")
    add_clip_model_args(parser)
    parser.add_argument("--in", dest="table", required=True, help="input table (.csv/.parquet)")
    parser.add_argument("--column", required=True, help="column of image paths/URLs or texts")
    parser.add_argument("--id-column", default=None, help="unique id column (default: row number)")
    parser.add_argument("--out", required=True, help="output .parquet file (new, or a previous embedding table)")
    parser.add_argument("--force", action="store_true", help="replace an existing file that is not an embedding table")
    parser.add_argument("--root", default=None, help="base of relative image paths (default: table's dir)")
    parser.add_argument("--no-normalize", action="store_true", help="keep raw (unnormalised) vectors")
    add_cache_args(parser)
    parser.add_argument(
        "--aesthetic-head",
        default=None,
        metavar="FILE",
        help="LAION aesthetic MLP weights: output its first layer's features (Collins et al.)",
    )
    add_scheduler_arg(parser)
    add_quiet_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from steerstats._executor import make_executor
    from steerstats.embed import embed_table

    build = clip_builder(args)
    cache_dir = cache_dir_of(args)
    with make_executor(args.scheduler) as executor:
        result = embed_table(
            args.kind,
            args.table,
            args.column,
            args.out,
            embedder=build,
            id_column=args.id_column,
            normalize=not args.no_normalize,
            cache_dir=cache_dir,
            root=args.root,
            aesthetic_head=args.aesthetic_head,
            progress=not args.quiet,
            force=args.force,
            executor=executor,
        )
    print(
        f"{result.out}: {result.n_ok}/{result.n_items} embedded "
        f"({result.n_cached} from cache, {result.n_computed} computed)"
    )
    if result.n_corrupt_cache:
        print(
            f"steerstats: {result.n_corrupt_cache} corrupted cache entries recomputed",
            file=sys.stderr,
        )
    if result.n_unreadable:
        print(
            f"steerstats: {result.n_unreadable} unreadable images listed in {result.report}",
            file=sys.stderr,
        )
    return 0
