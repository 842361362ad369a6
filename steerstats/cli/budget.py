"""``steerstats budget --config analyses/budget_*.toml [--out DIR]``: cost-budget feedback sweep."""

from __future__ import annotations

import argparse

from steerstats.cli._common import add_quiet_arg, add_scheduler_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "budget",
        help="coarse vs fine-grained reward models under an annotation budget (resumable sweep)",
        description=(
            "Train coarse and concept-bottleneck reward models over training sizes, attribute "
            "sets and seeds; report held-out ROC-AUC with bootstrap CIs against N and cost. "
            "Re-running the same config resumes: finished runs are skipped."
        ),
    )
    parser.add_argument("--config", required=True, help="experiment TOML, or a shipped one by name (experiment1, experiment2; see 'steerstats config list')")
    parser.add_argument("--out", default=None, help="output directory (default: out/budget/NAME)")
    parser.add_argument(
        "--max-runs", type=int, default=None, help="stop after this many new runs (resume later)"
    )
    add_scheduler_arg(parser)
    add_quiet_arg(parser)
    parser.set_defaults(func=run, jax_cache=True)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from steerstats._io import check_output_dir
    from steerstats.budget import load_config, run_experiment
    from steerstats.report.artifacts import to_markdown
    from steerstats.report.budget import budget_run
    from steerstats.report.run import write_run_beside_state

    config = load_config(args.config)
    out = Path(args.out) if args.out else Path("out") / "budget" / config.name
    source = config.data["source"]
    check_output_dir(out, "budget", inputs=[config.source_file, None if source == "synthetic" else source,
                                            config.data.get("embeddings")])
    from steerstats._executor import make_executor

    with make_executor(args.scheduler) as executor:
        result = run_experiment(config, out, max_runs=args.max_runs, progress=not args.quiet, executor=executor)
    print(f"{result.finished}/{result.planned} runs finished in {result.out}")
    if not result.complete:
        print("re-run the same command to continue; the report is written when all runs are done")
        return 0
    run_ = budget_run(config, result.records, selection=result.selection, seconds=result.seconds)
    write_run_beside_state(out, run_)
    for table in run_.tables:
        if table.name in ("summary", "contrasts", "selection") and not table.frame.empty:
            print(f"\n{table.name}:\n" + to_markdown(table.frame))
    print(f"report: {out / 'report.md'}")
    return 0
