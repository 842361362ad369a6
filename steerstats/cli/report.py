"""``steerstats report``: the steerability report (tables, figures, report.md, manifest.json)."""

from __future__ import annotations

import argparse

from steerstats.cli._common import add_dataset_args, add_out_arg, add_quiet_arg, guard_out


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="steerability tables and figures for a study",
        description="Compute every steerability metric with row SEMs and cluster-bootstrap SEs and "
        "write OUT/tables, OUT/figures, OUT/report.md and OUT/manifest.json (atomically).",
    )
    add_dataset_args(parser)
    add_out_arg(parser, "out/report")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates (default: 2000)")
    parser.add_argument("--bayes", action="store_true", help="add the Bayesian sections (slow)")
    add_quiet_arg(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.bayes:  # parallel NUTS chains: ask for 4 CPU devices before anything starts JAX
        from steerstats.uncertainty.bayes.devices import request_host_devices

        request_host_devices(4)
    from steerstats.data import load_study
    from steerstats.report import ReportContext, build_report

    guard_out(args, "report", args.data_dir)
    study = load_study(args.dataset, args.data_dir, args.seed)
    context = ReportContext(seed=args.seed, n_boot=args.n_boot, bayes=args.bayes, dataset=args.dataset)
    result = build_report(study, args.out, context=context, progress=not args.quiet, force=args.force)
    print(f"wrote {len(result.tables)} tables and {len(result.figures)} figures to {args.out} "
          f"in {result.seconds['total']:.1f} s")
    return 0
