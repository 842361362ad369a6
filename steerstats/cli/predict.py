"""``steerstats predict``: the four steerability predictors, held-out R^2 by goal split."""

from __future__ import annotations

import argparse

from steerstats.cli._common import (
    add_dataset_args,
    add_embedding_args,
    add_out_arg,
    add_quiet_arg,
    embedder_options,
    embedding_files,
    goal_source,
    guard_out,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict",
        help="steerability predictors: held-out R^2 of (1) mean, (2) model, (3) +prompt, (4) +goal",
        description="Fit the paper's four predictors of per-attempt DreamSim on a goal-grouped split "
        "and write table steerability_predictors (csv/md/tex), a bar figure, report.md and "
        "manifest.json to OUT (atomically).",
    )
    add_dataset_args(parser)
    add_out_arg(parser, "out/predict")
    add_embedding_args(parser)
    parser.add_argument("--head", default="ridge", choices=("ridge", "mlp", "both"), help="regression head (default: ridge)")
    parser.add_argument("--split", default="80/20", help="'80/20' (held-out 20%% of goals) or K for grouped K-fold")
    parser.add_argument("--n-boot", type=int, default=1000, help="bootstrap replicates over test goals (default: 1000)")
    add_quiet_arg(parser)
    parser.set_defaults(func=run, jax_cache=True)


def parse_split(value: str) -> str | int:
    from steerstats.errors import ConfigError

    if value == "80/20":
        return value
    try:
        k = int(value)
    except ValueError:
        raise ConfigError(f"--split must be '80/20' or an integer K >= 2, got '{value}'") from None
    if k < 2:
        raise ConfigError(f"--split K must be at least 2, got {k}")
    return k


def run(args: argparse.Namespace) -> int:
    import time

    from steerstats.decompose.study import load_analysis_study
    from steerstats.predictors.study import run_predictors
    from steerstats.report.run import input_records, write_run
    from steerstats.report.section_decomposition import predictor_artifacts, study_run

    split = parse_split(args.split)
    guard_out(args, "predict", args.data_dir, *embedding_files(args), args.cache_dir)
    t0 = time.perf_counter()
    study = load_analysis_study(args.dataset, args.data_dir, args.seed, partial=args.partial)
    goal = goal_source(args)
    heads = ("ridge", "mlp") if args.head == "both" else (args.head,)
    res = run_predictors(
        study,
        embedder=args.embedder,
        heads=heads,
        split=split,
        goal_source=goal,
        prompt_source=args.prompt_embeddings,
        n_boot=args.n_boot,
        seed=args.seed,
        cache_dir=args.cache_dir,
        embedder_options=embedder_options(args),
        progress=not args.quiet,
    )
    table, figure, summary, gains = predictor_artifacts(res)
    config = {"embedder": args.embedder, "heads": list(heads), "split": str(split), "goal_embeddings": goal, "prompt_embeddings": args.prompt_embeddings,
              "n_boot": args.n_boot, "seed": args.seed}
    run_ = study_run(study, command="predict", tables=[table, gains], figures=[figure], summary=summary, config=config,
                     seconds=time.perf_counter() - t0, inputs=input_records(embedding_files(args)),
                     data=[("steerability_predictions", res.predictions)])
    write_run(args.out, run_, inputs=[study.source, *embedding_files(args)], force=args.force)
    cols = ["predictor", "head", "r2", "r2_ci_low", "r2_ci_high", "mse"]
    print(table.frame[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(summary)
    print(f"wrote {args.out}")
    return 0
