"""The coverage study's written report (:mod:`steerstats.uncertainty.coverage`) as a
:class:`~steerstats.report.run.Run`: the coverage table and its figure."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd

from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run
from steerstats.report.style import pyplot
from steerstats.uncertainty.coverage import USER_SD_SCALES, CoverageConfig, summarise


def coverage_figure(table: pd.DataFrame, config: CoverageConfig):
    """Empirical coverage (+-1.96 MC SE) and mean width per scenario x method."""
    plt = pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 0.3 * len(table) + 1.5))
    y = np.arange(len(table))
    ax1.errorbar(table["coverage"], y, xerr=1.96 * table["mc_se"], fmt="o", capsize=3)
    ax1.axvline(config.level, color="grey", ls="--", lw=1)
    ax1.set_yticks(y, table["scenario"] + ": " + table["method"], fontsize=7)
    ax1.set_xlabel("empirical coverage (bars: 95% Monte Carlo interval, +-1.96 MC SE)")
    ax2.barh(y, table["mean_width"])
    ax2.set_yticks(y, [])
    ax2.set_xlabel("mean interval width")
    fig.suptitle(f"{config.level:.0%} intervals for per-model mean {config.value}")
    fig.tight_layout()
    return fig


def coverage_run(results: pd.DataFrame, config: CoverageConfig, calibration: dict[str, Any] | None,
                 *, inputs: list[dict[str, Any]] | None = None) -> Run:
    """The replications ``results`` of :func:`~steerstats.uncertainty.coverage.run_coverage` as a Run."""
    table = summarise(results)
    reps = results.groupby(results["method"] == "bayes")["rep"].nunique()
    n_fast, n_bayes = int(reps.get(False, 0)), int(reps.get(True, 0))
    design = (
        f"Simulated studies per scenario: {n_fast} for the row SEM, the cluster bootstraps (B = {config.n_boot}) "
        f"and CR1 / CGM; {n_bayes} of them also with a NUTS fit ({config.nuts_chains} chains x "
        f"{config.nuts_samples} draws after {config.nuts_warmup} warm-up; 95% HDI). Fits failing "
        "R-hat <= 1.01 / no divergences are counted under failed_fits and left out. Scenarios: nested = the "
        "release-calibrated steering study (goals in users in models); heterogeneous = steering-user SD x "
        f"{', '.join(map(str, USER_SD_SCALES))} by model; crossed = binary judgements, raters crossing steering "
        "users (per-judgement rate); crossed_majority = the same design with 3-9 raters a goal, scored by the "
        "exact majority-vote rate. The report's headline SE is bootstrap_user for nested tables, cgm_twoway for "
        "crossed ones and cgm_jackknife for majority-vote rates; *_t use t(G - 1) below 50 clusters."
    )
    shown = Table(
        "coverage", table, f"Coverage of {config.level:.0%} intervals for per-model means and rates",
        design,
        "estimand: the probability that an interval covers the simulated truth, pooled over models; "
        "mc_se = binomial Monte Carlo SE sqrt(p(1-p)/intervals) over independent simulated studies",
        se_stems={"coverage": "mc"}, method="binomial Monte Carlo SE", cluster="simulated studies",
    )
    files = {} if calibration is None else {"calibration.json": json.dumps(calibration, indent=2, sort_keys=True) + "\n"}
    return Run(
        command="validate coverage",
        title=shown.title,
        summary=design,
        tables=[shown],
        figures=[Figure("coverage", coverage_figure(table, config), shown.title,
                        "Bars: 95% Monte Carlo interval of the coverage; dashed line: the nominal level.")],
        files=files,
        dataset="simulation (calibrated on vafa2025)" if calibration is not None else "simulation",
        config=dataclasses.asdict(config),
        seeds={"simulation_and_bootstrap": config.seed},
        caps={"reps": config.reps, "reps_bayes": config.reps_bayes, "n_boot": config.n_boot},
        inputs=inputs or [],
        truth=True,
        details={"replications": {"fast": n_fast, "bayes": n_bayes},
                 "state": ["replications_fast.jsonl", "replications_bayes.jsonl"]},
    )
