"""``steerstats rejection``: rejection-sampling (best-of-N) evaluation of reward models."""

from __future__ import annotations

import argparse

from steerstats.cli._common import add_out_arg, guard_out


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "rejection",
        help="best-of-N evaluation of reward models with side-by-side judges",
        description="Train the configured reward models on the synthetic feedback world (or use a "
        "pool of pre-generated items), let each pick its best of N candidates per prompt, judge "
        "the picks side by side (oracle, simulated raters, or a human judgement table) and write "
        "Collins et al. Table 1-style tables with cluster-bootstrap CIs over prompts, best-of-N "
        "curves, tie-aware pairwise accuracy, figures and a manifest (atomically).",
    )
    parser.add_argument("--config", default=None, help="analysis TOML or a shipped name (e.g. mismatch; default: the built-in = rejection_synthetic)")
    add_out_arg(parser, "out/rejection")
    parser.add_argument("--seed", type=int, default=None, help="override the config's seed")
    parser.add_argument("--n-boot", type=int, default=None, help="override the config's bootstrap replicates")
    parser.add_argument("--judgements", default=None, help="table of human side-by-side judgements (adds the 'human' judge)")
    parser.set_defaults(func=run, jax_cache=True)


def run(args: argparse.Namespace) -> int:
    from steerstats.config import resolve_config
    from steerstats.generate.rejection_study import load_config, run_rejection
    from steerstats.report.rejection import rejection_run
    from steerstats.report.run import write_run

    # the options are config keys: merged into the table and checked with it
    cfg = load_config(args.config, {"seed": args.seed, "n_boot": args.n_boot, "judges": {"human": args.judgements or None}})
    guard_out(args, "rejection", resolve_config(args.config) if args.config else None, cfg.generate.path or None,
              cfg.judges.human or None)
    result = run_rejection(cfg)
    run_ = rejection_run(result)
    write_run(args.out, run_, inputs=result.inputs(), force=args.force)
    a, b = result.a, result.b
    for judge, frame in result.side_by_side.items():
        row = frame[frame["dimension"] == "aggregate"]
        if not row.empty:
            r = row.iloc[0]
            print(f"{judge:9s} overall: prefer {a} {r[f'pct_prefer_{a}']:.1f}%  prefer {b} "
                  f"{r[f'pct_prefer_{b}']:.1f}%  unsure {r['pct_unsure']:.1f}%  ({a}-{b} "
                  f"{r[f'{a}_minus_{b}']:.1f}, CI {r[f'{a}_minus_{b}_ci_low']:.1f}..{r[f'{a}_minus_{b}_ci_high']:.1f})")
    print(f"wrote {len(run_.tables)} tables to {args.out}")
    return 0
