"""The budget sweep's written report: its tables (from :mod:`steerstats.budget.outputs`), learning
curves, aggregator weights and intervention curves, as a :class:`~steerstats.report.run.Run`."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from steerstats.budget.config import BudgetConfig
from steerstats.budget.outputs import (
    contrast_table,
    interventions_table,
    runs_frame,
    summary_table,
    weights_table,
)
from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run, input_records
from steerstats.report.style import pyplot


def curve_figure(summary: pd.DataFrame, x: str, title: str, level: float):
    """AUC (seed mean, bootstrap interval) against N or cost; log x."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, g in summary.groupby("arm", sort=False):
        ax.errorbar(g[x], g["auc"], yerr=[g["auc"] - g["auc_ci_low"], g["auc_ci_high"] - g["auc"]],
                    marker="o", capsize=3, label=arm)
    ax.set_xscale("log")
    ax.set_xlabel("training examples N" if x == "n" else "annotation cost")
    ax.set_ylabel(f"held-out ROC-AUC ({level:.0%} interval)")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def weights_line(weights: pd.DataFrame) -> str:
    """Which attributes' weights are distinguishable from 0 at each arm's largest N."""
    if weights.empty:
        return "No concept arm finished."
    parts = []
    for arm, g in weights.groupby("arm", sort=False):
        g = g[g["n"] == g["n"].max()]
        if g["weight_ci_low"].isna().all():
            parts.append(f"{arm} (N={int(g['n'].iloc[0])}): no interval")
            continue
        sig = g[(g["weight_ci_low"] > 0) | (g["weight_ci_high"] < 0)]
        top = g.loc[g["weight_mean"].abs().idxmax()]
        parts.append(f"{arm} (N={int(g['n'].iloc[0])}): {len(sig)} of {len(g)} weights exclude 0, the largest "
                     f"{top['attribute']} {top['weight_mean']:+.2f} [{top['weight_ci_low']:+.2f}, {top['weight_ci_high']:+.2f}]")
    return "How much each attribute moves the aggregate logit. " + "; ".join(parts) + "."


def weights_figure(weights: pd.DataFrame):
    """Stage-2 aggregator weights per attribute at each concept arm's largest N (bars: bootstrap
    interval over training groups, or sd over seeds where there is none)."""
    plt = pyplot()
    arms = list(dict.fromkeys(weights["arm"]))
    fig, axes = plt.subplots(1, len(arms), figsize=(4 * len(arms), 3.5), squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=True):
        g = weights[weights["arm"] == arm]
        g = g[g["n"] == g["n"].max()]
        has_ci = bool(g["weight_ci_low"].notna().all())
        err = (np.vstack([g["weight_mean"] - g["weight_ci_low"], g["weight_ci_high"] - g["weight_mean"]]).clip(0)
               if has_ci else g["weight_sd"].fillna(0.0))
        ax.barh(g["attribute"], g["weight_mean"], xerr=err)
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(f"{arm} (N={int(g['n'].max())})")
        ax.set_xlabel("aggregator weight (bars: " + ("bootstrap interval)" if has_ci else "sd over seeds)"))
    fig.tight_layout()
    return fig


POLICY_STYLE = {"uncertain": "-", "random": "--", "cooperative": "-.", "oracle": ":"}


def interventions_figure(table: pd.DataFrame):
    """AUC vs number of attributes intervened on, at each CBM arm's largest N."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (arm, order), g in table.groupby(["arm", "order"], sort=False):
        g = g[g["n"] == g["n"].max()]
        ax.errorbar(g["n_intervened"], g["auc"], yerr=np.vstack([g["auc"] - g["auc_ci_low"], g["auc_ci_high"] - g["auc"]]),
                    marker="o", capsize=2, ls=POLICY_STYLE.get(order, "-"), label=f"{arm} ({order}, N={int(g['n'].max())})")
    ax.set_xlabel("attributes set to their labels (test-time intervention)")
    ax.set_ylabel("held-out ROC-AUC (seed mean, t interval over seeds)")
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    return fig


def _summary_line(summary: pd.DataFrame) -> str:
    if summary.empty:
        return "No finished runs."
    top = summary.loc[summary.groupby("arm", sort=False)["n"].idxmax()]
    best = top.loc[top["auc"].idxmax()]
    return (f"At each arm's largest N the best held-out AUC is {best['auc']:.3f} "
            f"({best['arm']}, N={int(best['n'])}); " +
            "; ".join(f"{r.arm} {r.auc:.3f}" for r in top.itertuples()) + ".")


def budget_run(
    config: BudgetConfig,
    records: list[dict[str, Any]],
    *,
    selection: pd.DataFrame | None = None,
    seconds: dict[str, float] | None = None,
) -> Run:
    """The finished sweep ``records`` of ``config`` as a :class:`Run` (tables, figures, manifest)."""
    level = config.level
    interval = (f"percentile {level:.0%} interval of {config.n_boot} paired bootstrap replicates over "
                "test-split groups (the data's group column), replicate-wise averaged over seeds: "
                "test-set sampling uncertainty of the seed-mean AUC; seed_sd is the spread over seeds")
    summary = summary_table(records, config)
    contrasts = contrast_table(records, config)
    weights = weights_table(records, level)
    interventions = interventions_table(records, config.level)
    tables = [
        Table("summary", summary, "Held-out ROC-AUC per arm and training size", _summary_line(summary),
              f"estimand: held-out ROC-AUC of the seed-averaged fit; {interval}", method="cluster bootstrap (percentile)",
              cluster="test-split groups", level=level),
        Table("contrasts", contrasts, "Paired AUC differences between arms",
              "Positive diff: the first arm ranks held-out examples better at the same N.",
              f"estimand: AUC(a) - AUC(b) at the same N and seeds; paired {interval}",
              method="paired cluster bootstrap (percentile)", cluster="test-split groups", level=level),
        Table("runs", runs_frame(records), "Every finished run", "One row per (arm, N, seed).",
              f"per run: {level:.0%} percentile interval of {config.n_boot} bootstrap replicates over test groups"),
        Table("aggregator_weights", weights, "Stage-2 aggregator weights of the concept arms",
              weights_line(weights),
              f"estimand: the stage-2 weight of the model trained on N examples, given its stage 1; percentile "
              f"{level:.0%} interval of {config.weight_boot} cluster-bootstrap refits of stage 2 over training groups "
              "(stage 1 held fixed, so stage 1's own sampling noise is not in it; the draws are over the training "
              "pool's groups and shared by every seed), replicate-wise averaged over seeds; weight_sd: spread over "
              "seeds; the joint CBM trains its aggregator with stage 1 (no interval)",
              method="cluster bootstrap of stage 2 (percentile)", cluster="training groups", level=level),
        Table("interventions", interventions, "Test-time interventions",
              "Held-out AUC after setting k attributes to their labels, by policy: most uncertain first, random, "
              "cooperative (uncertainty x expected effect), oracle (greedy upper bound: sees the label); attributes "
              "not elicited for an example are never set.",
              "estimand: seed-mean held-out AUC on the fixed test split; t interval over training seeds (it leaves "
              "out the test split's sampling variability)", method="t interval over training seeds", cluster="training seed"),
    ]
    if selection is not None:
        tables.append(Table("selection", selection, "Greedy attribute selection by AUC gain per unit cost",
                            "Each step adds the attribute with the largest validation-AUC gain per unit cost.",
                            "pilot-subset validation AUC; no interval"))
    figures = []
    if not summary.empty:
        figures += [
            Figure("auc_vs_n", curve_figure(summary, "n", f"{config.name}: AUC vs N", level),
                   "Held-out AUC against training size", interval),
            Figure("auc_vs_cost", curve_figure(summary, "cost", f"{config.name}: AUC vs cost", level),
                   "Held-out AUC against annotation cost", f"cost mode '{config.cost}'; {interval}"),
        ]
    if not weights.empty:
        figures.append(Figure("aggregator_weights", weights_figure(weights), "Aggregator weights",
                              f"At each concept arm's largest N; bars: {level:.0%} bootstrap interval over training "
                              "groups (stage 2 refit), or sd over seeds where there is none."))
    if not interventions.empty:
        figures.append(Figure("interventions", interventions_figure(interventions), "Test-time interventions",
                              "At each CBM arm's largest N; seed means."))
    from steerstats.data.loaders import FEEDBACK_DATASETS

    source = config.data.get("source")
    feedback = source in FEEDBACK_DATASETS
    inputs = [config.source_file, None if source == "synthetic" or feedback else source, config.data.get("embeddings")]
    line = _summary_line(summary)
    if feedback:
        from steerstats.feedback import INPUTS_NOTE

        line += f" Data: {source}, aggregate = mean human rating >= {config.data.get('threshold', 4.0):g}; {INPUTS_NOTE}."
    return Run(
        command="budget",
        title=f"Budget sweep: {config.name}",
        summary=line,
        tables=tables,
        figures=figures,
        dataset="synthetic" if source == "synthetic" else str(source),
        config=dataclasses.asdict(config),
        seeds={"training": list(config.seeds), "split_and_bootstrap": int(config.data.get("seed", 0))},
        caps={"n_boot": config.n_boot},
        inputs=input_records(inputs),
        seconds=dict(seconds or {}),
        details={"n_runs": len(records), "n_planned": len(config.arms) * len(config.sizes) * len(config.seeds),
                 "cost_mode": config.cost, "state": "results.jsonl"},
    )
