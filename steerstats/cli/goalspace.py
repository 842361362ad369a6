"""``steerstats goalspace``: goal-space steerability (Chang et al. 2025; SPEC section 3).

    steerstats goalspace score --in TABLE [--out DIR] [--dims ...] [--mode continuous|binned]
    steerstats goalspace llm-study [--data-dir DIR] [--out DIR]

``score`` reads a table of (source_text, goal_<dim>... or goal_text, output_text[, model]) rows
(columns documented in :mod:`steerstats.goalspace.table`) and writes per-row scores, a median (IQR)
table per model (csv/md/tex), a flow-field figure and the settings used, all atomically.
``llm-study`` runs the goal-space analysis of the released LLM headline study.
"""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    from steerstats.cli._common import add_out_arg, add_quiet_arg

    parser = subparsers.add_parser("goalspace", help="goal-space steerability (Chang et al. 2025)",
                                    description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="goalspace_command", required=True, metavar="ACTION")

    score = sub.add_parser("score", help="score a table of (source, goal, output) rows")
    score.add_argument("--in", dest="input", required=True, help="CSV or parquet table (see module docs)")
    add_out_arg(score, "out/goalspace")
    score.add_argument("--dims", nargs="+", default=None,
                       help="goal dimensions (default: all four: reading_difficulty textual_diversity "
                       "text_length formality)")
    score.add_argument("--mode", choices=("continuous", "binned"), default="continuous",
                       help="metrics on raw coordinate changes ('continuous', default) or on changes mapped to 7 bins ('binned', Chang et al.'s direct-prompt evaluation)")
    score.add_argument("--norm", default="defaults",
                       help="'defaults' (published ranges), 'table' (2.5/97.5 percentiles of the table's "
                       "texts) or a CSV with a 'text' column (percentiles of that reference corpus)")
    score.add_argument("--pair", nargs=2, default=None, metavar=("X", "Y"),
                       help="two dimensions for the flow-field figure (default: the first two)")
    add_quiet_arg(score)
    score.set_defaults(func=score_command)

    llm = sub.add_parser("llm-study", help="the released LLM headline study seen in goal space")
    llm.add_argument("--data-dir", default=None,
                     help="directory of the vafa2025 files (default: $STEERSTATS_DATA, else the user cache dir)")
    add_out_arg(llm, "out/goalspace_llm")
    llm.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (default: 2000)")
    llm.add_argument("--seed", type=int, default=0, help="seed of the bootstrap (default: 0)")
    add_quiet_arg(llm)
    llm.set_defaults(func=llm_study_command)


def score_command(args: argparse.Namespace) -> int:
    from steerstats.cli._common import guard_out
    from steerstats.errors import InputError
    from steerstats.goalspace import check_dims
    from steerstats.goalspace.table import score_table
    from steerstats.report.goalspace import score_run
    from steerstats.report.run import input_records, write_run

    dims = check_dims(args.dims)
    if args.pair is not None:
        bad = [p for p in args.pair if p not in dims]
        if bad or args.pair[0] == args.pair[1]:
            raise InputError(f"--pair needs two different dimensions among {list(dims)}, got {args.pair}")
    norm_file = args.norm if args.norm not in ("defaults", "table") else None
    guard_out(args, "goalspace score", args.input, norm_file)
    scored = score_table(args.input, dims=dims, mode=args.mode, norm=args.norm, progress=not args.quiet)
    pair = tuple(args.pair) if args.pair else (tuple(dims[:2]) if len(dims) >= 2 else None)
    run_ = score_run(scored, dims=dims, mode=args.mode, pair=pair, inputs=input_records([args.input, norm_file]))
    write_run(args.out, run_, inputs=[args.input, norm_file], force=args.force)
    print(f"scored {len(scored.rows)} rows on {', '.join(dims)} ({args.mode}); wrote {args.out}")
    return 0


def llm_study_command(args: argparse.Namespace) -> int:
    from steerstats.cli._common import guard_out
    from steerstats.data import load_study
    from steerstats.goalspace.llm_study import run_llm_study
    from steerstats.report.build import study_inputs
    from steerstats.report.goalspace import llm_study_run
    from steerstats.report.run import write_run

    guard_out(args, "goalspace llm-study", args.data_dir)
    study = load_study("vafa2025", args.data_dir)
    result = run_llm_study(study, seed=args.seed, n_boot=args.n_boot, progress=not args.quiet)
    run_ = llm_study_run(result, n_boot=args.n_boot, seed=args.seed, inputs=study_inputs(study))
    write_run(args.out, run_, inputs=[args.data_dir], force=args.force)
    print(run_.summary)
    print(f"wrote {args.out}")
    return 0
