"""``steerstats validate NAME``: simulation studies that check a method against known truth.

Add a validation by adding one entry to :data:`VALIDATIONS`: name -> (summary, add_arguments, run),
with ``run(args) -> int`` importing its heavy dependencies inside.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from steerstats.cli._common import add_quiet_arg, add_scheduler_arg


def _coverage_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--reps", type=int, default=1000, help="replications per scenario for SEM, bootstrap, CR1/CGM (default 1000)")
    parser.add_argument("--reps-bayes", type=int, default=100, help="replications with a NUTS fit (default 100)")
    parser.add_argument("--n-boot", type=int, default=2000, help="bootstrap replicates per study")
    parser.add_argument("--nuts-warmup", type=int, default=1000, help="NUTS warm-up iterations per chain")
    parser.add_argument("--nuts-samples", type=int, default=1000, help="NUTS draws per chain")
    parser.add_argument("--nuts-chains", type=int, default=4, help="NUTS chains (run in parallel on host devices)")
    parser.add_argument("--scenarios", default="nested,heterogeneous,crossed,crossed_majority",
                        help="comma-separated designs: nested (release-calibrated), heterogeneous (per-model user SD), "
                        "crossed (raters x users judgements, per-judgement rate), crossed_majority (the same "
                        "scored by the exact majority-vote rate)")
    parser.add_argument("--data-dir", default=None, help="vafa2025 data (to fit the simulation parameters)")
    parser.add_argument("--out", default="out/coverage", help="output directory (resumable)")
    parser.add_argument("--seed", type=int, default=0, help="seed of every simulation and bootstrap")
    add_scheduler_arg(parser)
    add_quiet_arg(parser)


def _coverage_run(args: argparse.Namespace) -> int:
    from steerstats.uncertainty.bayes.devices import request_host_devices

    request_host_devices(args.nuts_chains)  # before anything starts JAX
    from steerstats._io import check_output_dir
    from steerstats.report.artifacts import to_markdown
    from steerstats.report.coverage import coverage_run
    from steerstats.report.run import write_run_beside_state
    from steerstats.uncertainty.coverage import CoverageConfig, default_params, run_coverage

    config = CoverageConfig(
        reps=args.reps, reps_bayes=args.reps_bayes, n_boot=args.n_boot, seed=args.seed,
        nuts_warmup=args.nuts_warmup, nuts_samples=args.nuts_samples, nuts_chains=args.nuts_chains,
        scenarios=tuple(x.strip() for x in args.scenarios.split(",") if x.strip()),
    )
    check_output_dir(args.out, "validate coverage", inputs=[args.data_dir])
    params, components, files = default_params(args.data_dir)
    from steerstats._executor import make_executor

    with make_executor(args.scheduler) as executor:
        results = run_coverage(args.out, params, config, progress=not args.quiet, executor=executor)
    run_ = coverage_run(results, config, components.as_dict(), inputs=files)
    write_run_beside_state(args.out, run_)
    table = run_.tables[0]
    print(f"{table.title}\n\n{table.interpretation}\n\n" + to_markdown(table.frame))
    print(f"wrote tables/coverage.*, figures/coverage.*, report.md, manifest.json to {args.out}")
    return 0 if len(table.frame) else 1


VALIDATIONS: dict[str, tuple[str, Callable, Callable]] = {
    "coverage": (
        "coverage of SEM, cluster-bootstrap and Bayesian intervals on simulated studies",
        _coverage_arguments,
        _coverage_run,
    ),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("validate", help="simulation checks against known truth")
    names = parser.add_subparsers(dest="validation", required=True, metavar="NAME")
    for name, (summary, add_arguments, run) in VALIDATIONS.items():
        sub = names.add_parser(name, help=summary, description=summary)
        add_arguments(sub)
        sub.set_defaults(func=run, jax_cache=True)
