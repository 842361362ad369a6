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
    parser.add_argument("--policy", default=None, help="a saved learned_policy.csv: evaluate it instead of training")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    add_quiet_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from steerstats.config import resolve_config
    from steerstats.generate.steering_study import load_config, load_policy, run_steering
    from steerstats.report.run import input_records, write_run
    from steerstats.report.steer import steer_run

    cfg = load_config(args.config)
    if args.seed is not None:
        cfg["seed"] = args.seed
    guard_out(args, "steer", resolve_config(args.config) if args.config else None, args.data_dir, args.policy)
    traces, inputs = None, input_records([args.policy])
    if args.data_dir:
        from steerstats.data import load_study
        from steerstats.report.build import study_inputs

        study = load_study("vafa2025", args.data_dir)
        traces = study.require("image_steering")
        inputs += study_inputs(study)
    policy = load_policy(args.policy, cfg) if args.policy else None
    result = run_steering(cfg, traces=traces, policy=policy, progress=not args.quiet)
    run_ = steer_run(result, inputs=inputs)
    write_run(args.out, run_, inputs=[args.data_dir, args.policy], force=args.force)
    for r in result.evaluation.itertuples():
        print(f"{r.method:24s} change {r.mean_change:.4f} (SE {r.mean_change_se:.4f})  improved {r.pct_improved:.1f}%")
    print(f"wrote {len(run_.tables)} tables to {args.out}")
    return 0
