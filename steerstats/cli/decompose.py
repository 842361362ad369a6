"""``steerstats decompose``: steering mechanism vs producible set (Vafa et al. 2025, Sec. 4)."""

from __future__ import annotations

import argparse
import sys

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
        "decompose",
        help="split each model's steerability gain over a reference into steering and producibility",
        description="Estimate E_p2[mu2 - mu1] (steering mechanism) and E_p2[mu1] - E_p1[mu1] "
        "(producible set) for every model against --reference, with cluster-robust influence-function "
        "intervals over repeated cross-fitting (or a refit cluster bootstrap, --interval bootstrap; and a Bayesian "
        "model with --bayes); also the seed-constraint trade-off. With --validate, "
        "check bias and coverage on repeated simulations instead. Writes OUT atomically.",
    )
    add_dataset_args(parser)
    add_out_arg(parser, "out/decompose")
    add_embedding_args(parser)
    parser.add_argument("--reference", default="dall-e-2", help="reference model m1 (default: dall-e-2)")
    parser.add_argument("--interval", choices=("influence", "bootstrap"), default=None,
                        help="interval of the terms: 'influence' (default for the interacted estimator: CR1 over "
                        "users, t reference, averaged over --splits cross-fitting splits) or 'bootstrap' (refit "
                        "cluster bootstrap; the only one for the additive estimator)")
    parser.add_argument("--splits", type=int, default=None,
                        help="cross-fitting splits averaged by the influence interval (default: 20)")
    parser.add_argument("--n-boot", type=int, default=200, help="refit bootstrap replicates for --interval bootstrap (default: 200)")
    parser.add_argument("--estimator", default=None, choices=("interacted", "additive"),
                        help="predictor of mu_i: 'interacted' (default: goal features act differently per model, "
                        "non-linear shared effect) or 'additive' (one slope for all models; forces the steering "
                        "term to an intercept difference); with --validate, the one estimator to check (default: both)")
    parser.add_argument("--blocks", default="model,goal", choices=("model,goal", "model,prompt,goal"),
                        help="what mu_i conditions on (default model,goal: prompts adapt to the model, so they are "
                        "post-treatment; model,prompt,goal conditions on them too)")
    parser.add_argument("--components", type=int, default=None,
                        help="reduce the goal (and prompt) features to their Q leading principal components before "
                        "estimating (no outcome used; mu_i then conditions on them, which changes the estimand); "
                        "for embeddings with more dimensions than ~1/9 of the smallest model's goals")
    parser.add_argument("--scenarios", default="additive,nonadditive",
                        help="--validate: comma-separated simulation scenarios (additive, nonadditive, nonadditive_sine, "
                        "nonadditive_highdim, nonadditive_spiked)")
    parser.add_argument("--bayes", action="store_true", help="add the Bayesian hierarchical model (NUTS, ~1-2 min)")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes for the bootstrap (default: 2)")
    parser.add_argument("--validate", action="store_true", help="run the simulation study of bias and coverage")
    parser.add_argument("--n-sims", type=int, default=100, help="simulations for --validate (default: 100)")
    add_quiet_arg(parser)
    parser.set_defaults(func=run, jax_cache=True)


def run(args: argparse.Namespace) -> int:
    import time

    from steerstats.errors import ConfigError

    if args.interval == "influence" and args.estimator == "additive":  # fail before loading anything
        raise ConfigError("--interval influence needs --estimator interacted (the additive plug-in estimator has no "
                          "debiased influence function); use --interval bootstrap")
    if args.prompt_embeddings and "prompt" not in args.blocks.split(","):
        raise ConfigError("--prompt-embeddings needs --blocks model,prompt,goal (the default blocks leave prompts out)")
    from steerstats.decompose.influence import N_SPLITS

    if args.splits is None:
        args.splits = N_SPLITS
    t0 = time.perf_counter()
    command = "decompose --validate" if args.validate else "decompose"
    guard_out(args, command, args.data_dir, *embedding_files(args), args.cache_dir)
    if args.validate:
        return _validate(args, t0)
    if args.bayes:
        from steerstats.uncertainty.bayes import request_host_devices

        request_host_devices(2)
    from steerstats.decompose.study import load_analysis_study, run_decomposition
    from steerstats.report.run import input_records, write_run
    from steerstats.report.section_decomposition import (
        decomposition_artifacts,
        nuts_sentence,
        seed_tradeoff_outputs,
        study_run,
    )

    study = load_analysis_study(args.dataset, args.data_dir, args.seed, partial=args.partial)
    goal = goal_source(args)
    res = run_decomposition(
        study,
        embedder=args.embedder,
        reference=args.reference,
        goal_source=goal,
        prompt_source=args.prompt_embeddings,
        n_boot=args.n_boot,
        interval=args.interval,
        n_splits=args.splits,
        bayes=args.bayes,
        seed=args.seed,
        n_jobs=args.jobs,
        cache_dir=args.cache_dir,
        embedder_options=embedder_options(args),
        progress=not args.quiet,
        estimator=args.estimator or "interacted",
        blocks=tuple(args.blocks.split(",")),
        components=args.components,
    )
    table, figure, diagnostics = decomposition_artifacts(res)
    if res.caution:
        print(f"warning: {res.caution}", file=sys.stderr)
    tables, figures = [table, *diagnostics], [figure]
    summary = table.interpretation
    if study.seed_constraint:
        seed_table, seed_figure = seed_tradeoff_outputs(study)
        tables.append(seed_table)
        figures.append(seed_figure)
    else:
        summary += "\n\nThe seed-constraint trade-off needs the seed-constraint files; this study has none."
    if nuts_sentence(res):
        summary += "\n\n" + nuts_sentence(res)
    config = {"embedder": args.embedder, "reference": args.reference, "goal_embeddings": goal, "prompt_embeddings": args.prompt_embeddings, "n_boot": args.n_boot,
              "n_splits": args.splits, "bayes": args.bayes, "seed": args.seed, "jobs": args.jobs, **res.info}
    run_ = study_run(study, command="decompose", tables=tables, figures=figures, summary=summary, config=config,
                     seconds=time.perf_counter() - t0, inputs=input_records(embedding_files(args)),
                     posteriors={"decomposition": res.posterior} if res.posterior is not None else None)
    write_run(args.out, run_, inputs=[study.source, *embedding_files(args)], force=args.force)
    cols = [c for c in table.frame.columns if not c.endswith(("_ci_low", "_ci_high")) and c != "reference"]
    print(table.frame[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    for extra in tables[1:]:
        print(f"\n{extra.name}:\n" + extra.frame.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(f"wrote {args.out}")
    return 0


def _validate(args: argparse.Namespace, t0: float) -> int:
    import time

    from steerstats.decompose import ESTIMATORS, validate_decomposition
    from steerstats.errors import ConfigError
    from steerstats.report.decompose_validation import validation_run
    from steerstats.report.run import write_run

    if args.n_sims < 2:
        raise ConfigError(f"--n-sims must be at least 2, got {args.n_sims}")
    scenarios = tuple(x.strip() for x in args.scenarios.split(",") if x.strip())
    sims, summary = validate_decomposition(
        scenarios=scenarios, n_sims=args.n_sims, n_boot=args.n_boot, seed=args.seed, n_jobs=args.jobs,
        progress=not args.quiet, interval=args.interval, n_splits=args.splits,
        estimators=(args.estimator,) if args.estimator else ESTIMATORS, components=args.components,
    )
    run_ = validation_run(sims, summary, scenarios=scenarios, n_sims=args.n_sims, n_boot=args.n_boot,
                          n_splits=args.splits, seed=args.seed, interval=args.interval, seconds=time.perf_counter() - t0,
                          components=args.components)
    write_run(args.out, run_, force=args.force)
    terms = summary[summary["term"].isin(["steering_term", "producible_term"])]
    line = run_.summary
    cols = ["scenario", "estimator", "model", "term", "truth", "bias", "bias_mcse", "bias_over_sd", "empirical_sd",
            "mean_se", "coverage", "coverage_mcse"]
    print(terms[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    print(line)
    print(f"wrote {args.out}")
    return 0
