"""``steerstats rejection`` presented: the tables and figures of
:func:`steerstats.generate.rejection_study.run_rejection` as a Run.

    OUT/tables/side_by_side_<judge>.{csv,md,tex}   % prefer A / B / unsure per dimension, 95% CIs
    OUT/tables/pick_truth.*        true reward of each model's picks and the paired difference
    OUT/tables/best_of_n.*         expected true reward of each scorer's best-of-N pick vs N
    OUT/tables/pairwise_accuracy.* tie-aware pairwise accuracy of each scorer
    OUT/figures/best_of_n.*, side_by_side_<judge>.*
    OUT/report.md, OUT/manifest.json   (the run writer: steerstats.report.run)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.config import config_table
from steerstats.generate.rejection import AGGREGATE
from steerstats.generate.rejection_study import RejectionResult
from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run, input_records
from steerstats.report.style import pyplot


def best_of_n_figure(table: pd.DataFrame):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for scorer, g in table.groupby("scorer", sort=False):
        ax.plot(g["n"], g["mean"], marker="o", label=scorer)
        ax.fill_between(g["n"], g["mean_ci_low"], g["mean_ci_high"], alpha=0.2)
    ax.set_xscale("log", base=2)
    ns = sorted(table["n"].unique())
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xlabel("N (candidates per prompt)")
    ax.set_ylabel("expected true reward of the pick (band: 95% interval)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def side_by_side_figure(table: pd.DataFrame, a: str, b: str):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    left = np.zeros(len(table))
    for col, label, color in ((f"pct_prefer_{a}", f"prefer {a}", "tab:blue"), ("pct_unsure", "unsure", "0.8"), (f"pct_prefer_{b}", f"prefer {b}", "tab:orange")):
        ax.barh(y, table[col], left=left, color=color, label=label)
        left += table[col].to_numpy()
    ax.set_yticks(y, table["dimension"])
    ax.set_xlabel("% of votes")
    ax.legend(frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.12))
    return fig


PROMPTS = {"method": "cluster bootstrap (percentile)", "cluster": "prompts"}


def rejection_run(result: RejectionResult) -> Run:
    """The tables and figures of ``result`` as a Run (written by :func:`steerstats.report.run.write_run`)."""
    cfg, a, b = result.config, result.a, result.b
    n_boot, level, n = cfg.n_boot, cfg.level, cfg.compare.n
    tables: list[Table] = []
    figures: list[Figure] = []
    for judge, frame in result.side_by_side.items():
        name = f"side_by_side_{judge}"
        table = Table(
            name, frame, f"Side-by-side judgements ({judge}): {a} vs {b}, best of N = {n}",
            _sxs_line(frame, a, b, level),
            f"cluster bootstrap over prompts ({n_boot} replicates), percentile {level:.0%} CIs",
            notes=(f"{result.n_same_pick} of {result.n_prompts} prompts where both models picked the same candidate are excluded (nothing to compare).",
                   "Percentages are votes over all votes on that dimension (Collins et al. Table 1); attribute rows ask which image is more X."),
            **PROMPTS, level=level,
        )
        tables.append(table)
        figures.append(Figure(name, side_by_side_figure(frame, a, b), table.title, table.interpretation))
    if result.pick_truth is not None:
        tables.append(Table(
            "pick_truth", result.pick_truth, f"True reward (P(aggregate = 1)) of each model's best-of-{n} pick",
            "The oracle's view of which model picks better; same_pick is the share of prompts where both chose the same candidate.",
            f"estimand: mean over prompts; cluster bootstrap over prompts ({n_boot} replicates), percentile {level:.0%} CIs",
            **PROMPTS, level=level,
        ))
    if result.best_of_n is not None:
        bon = result.best_of_n
        tables.append(Table(
            "best_of_n", bon, "Expected true reward of the best-of-N pick", _bon_line(bon),
            f"cluster bootstrap over prompts ({n_boot} replicates); exact expectation over N-subsets per prompt",
            **PROMPTS, level=level,
        ))
        figures.append(Figure("best_of_n", best_of_n_figure(bon), "Best-of-N curves", _bon_line(bon)))
    if result.pairwise_accuracy is not None:
        tables.append(Table(
            "pairwise_accuracy", result.pairwise_accuracy, "Tie-aware pairwise accuracy (within prompts)",
            "Share of within-prompt candidate pairs ordered as the true reward orders them, ties counted when both tie (Deutsch et al. 2023).",
            f"cluster bootstrap over prompts ({n_boot} replicates)",
            **PROMPTS, level=level,
        ))
    return Run(
        command="rejection",
        title="Rejection sampling with reward models",
        summary=tables[0].interpretation if tables else "",
        tables=tables,
        figures=figures,
        config=config_table(cfg),
        seeds={"seed": cfg.seed},
        inputs=input_records(result.inputs()),
        seconds={"total": result.seconds},
        details={"n_candidates": result.n_candidates, "n_prompts": result.n_prompts, "n_same_pick": result.n_same_pick},
    )


def _sxs_line(frame: pd.DataFrame, a: str, b: str, level: float) -> str:
    row = frame[frame["dimension"] == AGGREGATE]
    if row.empty:
        return f"Votes preferring {a}'s or {b}'s pick, per dimension."
    r = row.iloc[0]
    d, lo, hi = r[f"{a}_minus_{b}"], r[f"{a}_minus_{b}_ci_low"], r[f"{a}_minus_{b}_ci_high"]
    verdict = "the CI excludes zero" if lo > 0 or hi < 0 else "the CI includes zero"
    return (f"Overall: {r[f'pct_prefer_{a}']:.1f}% prefer {a}, {r[f'pct_prefer_{b}']:.1f}% prefer {b}, "
            f"{r['pct_unsure']:.1f}% unsure; {a} minus {b} = {d:.1f} points ({level:.0%} CI {lo:.1f} to {hi:.1f}; {verdict}).")


def _bon_line(table: pd.DataFrame) -> str:
    parts = []
    for scorer, g in table.groupby("scorer", sort=False):
        parts.append(f"{scorer} {g['mean'].iloc[0]:.3f} -> {g['mean'].iloc[-1]:.3f}")
    lo, hi = table["n"].min(), table["n"].max()
    return f"Expected true reward from N = {lo} to N = {hi}: " + "; ".join(parts) + "."
