"""``steerstats steer``: simulated image steering with learned proposals, and the released traces."""

from __future__ import annotations

import argparse

from steerstats.cli._common import add_out_arg, add_quiet_arg, guard_out


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "steer",
        help="simulate image steering: random vs learned mixture-scale proposals",
        description="Train the Thompson-sampling proposal policy on the synthetic steering world, "
        "evaluate it against random proposals and text-style steering on the same tasks (Vafa et "
        "al. Table 1), and with --data-dir summarise the released img_steering*.csv traces. Writes "
        "tables, figures, learned_policy.csv and manifest.json (atomically).",
    )
    parser.add_argument("--config", default=None, help="analysis TOML or a shipped name (default: the built-in = steer_synthetic)")
    add_out_arg(parser, "out/steer")
    parser.add_argument("--data-dir", default=None, help="released vafa2025 study directory: add the trace analysis")
    parser.add_argument("--partial", action="store_true",
                        help="--data-dir is a study of your own with only some of the release's files")
    parser.add_argument("--policy", default=None, help="a saved learned_policy.csv: evaluate it instead of training")
    parser.add_argument("--scores", default=None, metavar="FILE",
                        help="per (goal, image) scores of the traces' images (`steerstats score` output on --pairs-out's "
                        "table): adds Table 1 (avg change, %% improved per condition, ratios) with CIs over users")
    parser.add_argument("--score-column", default="dreamsim", help="score column of --scores (default: dreamsim)")
    parser.add_argument("--text-baseline", action="store_true",
                        help="add text steering (steering.csv, first -> last attempt of --score-column) as the baseline")
    parser.add_argument("--baseline", default=None, help="condition the ratios divide by (default: text if given, else random)")
    parser.add_argument("--pairs-out", default=None, metavar="FILE",
                        help="write the (goal_image, generated_image) pairs Table 1 needs scored (csv) and stop")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    add_quiet_arg(parser)
    parser.set_defaults(func=run, jax_cache=True)


def run(args: argparse.Namespace) -> int:
    from steerstats.config import resolve_config
    from steerstats.errors import ConfigError
    from steerstats.generate.steering_study import load_config, load_policy, run_steering
    from steerstats.report.run import input_records, write_run
    from steerstats.report.steer import steer_run

    if (args.scores or args.pairs_out or args.text_baseline) and not args.data_dir:
        raise ConfigError("--scores, --pairs-out and --text-baseline need --data-dir (the traces)")
    if args.text_baseline and not args.scores:
        raise ConfigError("--text-baseline needs --scores")
    cfg = load_config(args.config, {"seed": args.seed})  # an option is a config key, checked with it
    if args.pairs_out:
        return _write_pairs(args)
    guard_out(args, "steer", resolve_config(args.config) if args.config else None, args.data_dir, args.policy, args.scores)
    traces, inputs, steering, scores = None, input_records([args.policy, args.scores]), None, None
    if args.data_dir:
        from steerstats.data import load_study
        from steerstats.report.build import study_inputs

        study = load_study("vafa2025", args.data_dir, partial=args.partial)
        traces = study.require("image_steering")
        steering = study.require("steering") if args.text_baseline else None
        inputs += study_inputs(study)
    if args.scores:
        from steerstats.data.user_table import read_user_table

        scores = read_user_table(args.scores, what="scores table")
    policy = load_policy(args.policy, cfg) if args.policy else None
    result = run_steering(cfg, traces=traces, policy=policy, scores=scores, score_column=args.score_column,
                          text_steering=steering, baseline=args.baseline, scores_file=str(args.scores),
                          progress=not args.quiet)
    run_ = steer_run(result, inputs=inputs)
    write_run(args.out, run_, inputs=[args.data_dir, args.policy], force=args.force)
    for r in result.evaluation.itertuples():
        print(f"{r.method:24s} change {r.mean_change:.4f} (SE {r.mean_change_se:.4f})  improved {r.pct_improved:.1f}%")
    if result.table1 is not None:
        for r in result.table1.table.itertuples():
            print(f"{r.condition:24s} avg change {r.avg_change:+.4f} [{r.avg_change_ci_low:+.4f}, {r.avg_change_ci_high:+.4f}]"
                  f"  improved {r.pct_improved:.1f}%  ({r.n_tasks} tasks, {r.n_users} users)")
    print(f"wrote {len(run_.tables)} tables to {args.out}")
    return 0


def _write_pairs(args: argparse.Namespace) -> int:
    from pathlib import Path

    from steerstats._io import OutputError, atomic_write_bytes
    from steerstats.data import load_study
    from steerstats.generate.trace_scores import trace_pairs

    out = Path(args.pairs_out)
    if out.exists() and not args.force:
        raise OutputError(f"--pairs-out {out} exists; pass --force to replace it")
    pairs = trace_pairs(load_study("vafa2025", args.data_dir, partial=args.partial).require("image_steering"))
    atomic_write_bytes(out, pairs.to_csv(index=False).encode("utf-8"))
    print(f"wrote {len(pairs)} (goal_image, generated_image) pairs to {out}; score them with "
          f"`steerstats score --in {out} --metric ...` and pass the result as --scores")
    return 0
