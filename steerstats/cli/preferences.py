"""``steerstats preferences``: preference reward models and fine-grained errors on qa-feedback."""

from __future__ import annotations

import argparse

from steerstats.cli._common import add_out_arg, add_quiet_arg, guard_out


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preferences",
        help="pairwise-preference reward models (Bradley-Terry, concept bottleneck) on qa-feedback",
        description="On the qa-feedback dev split: how each fine-grained error type of answer 1 relates to the "
        "human preference, and learning curves of coarse vs concept-bottleneck Bradley-Terry reward models on "
        "held-out questions (cluster-bootstrap CIs over questions). Writes the run layout.",
    )
    parser.add_argument("--config", default=None, help="TOML or a shipped name (default: preferences_qa_feedback's defaults)")
    parser.add_argument("--data-dir", default=None, help="the qa_feedback directory (dev_feedback.json)")
    add_out_arg(parser, "out/preferences")
    add_quiet_arg(parser)
    parser.set_defaults(func=run, jax_cache=True)


def run(args: argparse.Namespace) -> int:
    import time

    from steerstats.config import resolve_config
    from steerstats.data import load_study
    from steerstats.feedback.preferences import load_config, run_preference_study
    from steerstats.report.build import study_inputs
    from steerstats.report.preferences import preference_run
    from steerstats.report.run import input_records, write_run

    t0 = time.perf_counter()
    cfg = load_config(args.config)
    guard_out(args, "preferences", args.data_dir, resolve_config(args.config) if args.config else None)
    study = load_study("qa_feedback", args.data_dir)
    result = run_preference_study(study, cfg, progress=not args.quiet)
    inputs = study_inputs(study) + input_records([resolve_config(args.config) if args.config else None])
    run_ = preference_run(result, inputs=inputs, seconds=time.perf_counter() - t0,
                          warnings=[str(w) for w in study.warnings])
    write_run(args.out, run_, inputs=[args.data_dir], force=args.force)
    cols = ["arm", "n_questions", "cost", "accuracy", "accuracy_ci_low", "accuracy_ci_high"]
    print(result.experiment.curve[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(run_.summary)
    print(f"wrote {args.out}")
    return 0
