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
    parser.add_argument("--seed-producibility", default=None, metavar="FILE",
                        help="csv of condition,producibility (seed conditions 1, 2, 3, default): the seed "
                        "frontier figure's x axis (Vafa et al. Fig. 7)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes for the sections (default: 1, this one); any value gives the "
                        "same tables and figures up to float rounding (one BLAS thread per process)")
    add_quiet_arg(parser)
    parser.set_defaults(func=run, jax_cache=True)


def run(args: argparse.Namespace) -> int:
    if args.bayes:  # parallel NUTS chains: ask for 4 CPU devices before anything starts JAX
        from steerstats.uncertainty.bayes.devices import request_host_devices

        request_host_devices(4)
    from steerstats.data import load_study
    from steerstats.report import ReportContext, build_report

    guard_out(args, "report", args.data_dir, args.seed_producibility)
    options = {}
    if args.seed_producibility:
        options["seed_producibility"] = read_producibility(args.seed_producibility)
    study = load_study(args.dataset, args.data_dir, args.seed, partial=args.partial)
    context = ReportContext(seed=args.seed, n_boot=args.n_boot, bayes=args.bayes, dataset=args.dataset,
                            options=options)
    result = build_report(study, args.out, context=context, progress=not args.quiet, force=args.force,
                          jobs=args.jobs)
    print(f"wrote {len(result.tables)} tables and {len(result.figures)} figures to {args.out} "
          f"in {result.seconds['total']:.1f} s")
    return 0


def read_producibility(path: str) -> dict[str, float]:
    """condition -> producibility from a csv with those two columns (one row per condition)."""
    import math

    from steerstats.data.user_table import read_user_table
    from steerstats.errors import InputError

    frame = read_user_table(path, what="seed producibility table")
    for column in ("condition", "producibility"):
        if column not in frame.columns:
            raise InputError(f"needs a '{column}' column", file=path, column=column)
    out: dict[str, float] = {}
    for row, (cond, value) in enumerate(zip(frame["condition"], frame["producibility"], strict=True), start=1):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InputError(f"not a number: {value!r}", file=path, row=row, column="producibility") from None
        if not math.isfinite(number):
            raise InputError(f"not a finite number: {value!r}", file=path, row=row, column="producibility")
        if str(cond) in out:
            raise InputError(f"condition {cond!r} listed twice", file=path, row=row, column="condition")
        out[str(cond)] = number
    return out
