"""``steerstats steer`` presented: the tables and figures of
:func:`steerstats.generate.steering_study.run_steering` as a Run.

    OUT/tables/steer_evaluation.*   mean change first->last similarity, % improved (row SEs),
                                    paired difference against random proposals
    OUT/tables/learned_policy.*     posterior per (round, previous, scale bucket)
    OUT/tables/learned_schedule.*   the greedy scale per state (simulated, and released if given)
    OUT/tables/trace_schedules.*, trace_choices.*   (with --data-dir)
    OUT/tables/image_steering_table1.*, image_steering_ratios.*   (with --scores: Table 1 from scored traces)
    OUT/figures/learned_policy.*, trace_choices.*, image_steering_change.*
    OUT/learned_policy.csv          reload with ``--policy`` (generate.steering_study.load_policy)
    OUT/report.md, OUT/manifest.json   (the run writer: steerstats.report.run)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.config import config_table
from steerstats.generate.policies import PREVIOUS_NAMES, ThompsonScale
from steerstats.generate.steering_study import SteeringResult
from steerstats.generate.trace_scores import Table1
from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run
from steerstats.report.style import pyplot


def learned_policy_figure(policy: ThompsonScale):
    plt = pyplot()
    table = policy.table()
    states = table[["round", "previous"]].drop_duplicates().to_numpy().tolist()
    grid = np.array([table[(table["round"] == r) & (table["previous"] == p)]["posterior_mean"].to_numpy() for r, p in states])
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(states) + 1.5))
    im = ax.imshow(grid, aspect="auto", cmap="viridis")
    ax.scatter(grid.argmax(axis=1), np.arange(len(states)), marker="*", color="white", s=80)
    ax.set_xticks(range(len(policy.buckets)), [f"{b:.1f}" for b in policy.buckets])
    ax.set_yticks(range(len(states)), [f"round {r}, {p}" for r, p in states])
    ax.set_xlabel("mixture scale bucket")
    fig.colorbar(im, ax=ax, label="posterior mean reward (final - initial similarity)")
    ax.set_title("posterior mean per state and bucket; star: greedy choice", fontsize=10)
    return fig


def trace_choices_figure(choices: pd.DataFrame):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for cond, g in choices.groupby("condition", sort=True):
        ax.errorbar(g["round"], g["pct_kept"], yerr=1.96 * g["pct_kept_se"], marker="o", capsize=3, label=cond)
    ax.set_xlabel("round")
    ax.set_ylabel("% kept the current image (bars: 95% interval)")
    ax.set_xticks(sorted(choices["round"].unique()))
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def table1_tables(t1: Table1) -> list[Table]:
    """Table 1 (avg change, % improved per condition) and the ratios to the baseline condition."""
    pct = round(100 * t1.level)
    table, ratios = t1.table, t1.ratios
    best = table.loc[table["avg_change"].idxmax()]
    line = (f"Average change in {t1.score_column} from the first to the final image per task: "
            + "; ".join(f"{r.condition} {r.avg_change:+.3f} [{r.avg_change_ci_low:+.3f}, {r.avg_change_ci_high:+.3f}], "
                        f"{r.pct_improved:.0f}% improved" for r in table.itertuples())
            + f". Largest: {best['condition']}.")
    note = (f"estimand: mean over tasks of s(final) - s(first) and % of tasks with s(final) > s(first); {pct}% "
            f"percentile intervals of the cluster bootstrap over {table['cluster'].iloc[0]} ({t1.n_boot} replicates)")
    out = [Table("image_steering_table1", table, f"Image steering from scored traces ({t1.score_column}; Vafa et al. Table 1)",
                 line, note, method="cluster bootstrap (percentile)", cluster=str(table["cluster"].iloc[0]), level=t1.level)]
    if len(ratios):
        rline = "; ".join(f"{r.condition} / {r.baseline}: {r.ratio:.2f}x [{r.ratio_ci_low:.2f}, {r.ratio_ci_high:.2f}]"
                          for r in ratios.itertuples())
        out.append(Table("image_steering_ratios", ratios, "Average change relative to the baseline condition",
                         "Ratio of average changes: " + rline + ".",
                         note.replace("estimand: mean over tasks", "estimand: ratio of the conditions' means")
                         + "; boot_share_ratio_gt_1 is the share of replicates with ratio > 1 (not a p-value)",
                         method="cluster bootstrap (percentile)", cluster=str(ratios["cluster"].iloc[0]), level=t1.level))
    return out


def table1_figure(t1: Table1):
    """Average change per condition with its interval, and the share of tasks improved."""
    plt = pyplot()
    table = t1.table
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    y = np.arange(len(table))
    for ax, col, label in ((axes[0], "avg_change", f"average change in {t1.score_column}"),
                           (axes[1], "pct_improved", "% of tasks improved")):
        err = np.vstack([table[col] - table[f"{col}_ci_low"], table[f"{col}_ci_high"] - table[col]])
        ax.barh(y, table[col], xerr=err, color="#4c72b0", capsize=3)
        ax.set_yticks(y, table["condition"])
        ax.set_xlabel(label)
        ax.axvline(0 if col == "avg_change" else 50, color="grey", lw=0.8, ls=":")
    axes[1].set_yticks(y, [""] * len(table))
    fig.suptitle(f"Image steering, first -> final image ({round(100 * t1.level)}% CIs over users)", fontsize=10)
    fig.tight_layout()
    return fig


def steer_run(result: SteeringResult, *, inputs: list | None = None) -> Run:
    """The tables and figures of ``result`` as a Run (with ``learned_policy.csv`` to reload)."""
    cfg, policy = result.config, result.policy
    n_boot, k, rounds = cfg.n_boot, cfg.suggestions, cfg.rounds
    traces = result.trace_choices is not None
    tables = [Table(
        "steer_evaluation", result.evaluation,
        f"Simulated steering: {rounds} rounds, {k} suggestions per round (Vafa et al. Table 1 style)",
        _evaluation_line(result.evaluation),
        "row SEs over episodes (sd/sqrt(n)); diff_vs_random is the paired difference on the same tasks",
    )]
    figures = []
    if traces:
        tables.append(Table(
            "trace_schedules", result.trace_schedules, "Mixture scales used in the released image-steering traces",
            "Per condition, round and previous choice (start / kept / switched): the scales the deployed policies proposed; "
            "the random condition draws one scale per session, the learned ones follow a table over (round, previous).",
            "descriptive (no SEs)",
        ))
        choices = Table(
            "trace_choices", result.trace_choices, "Kept vs switched per round in the released traces",
            "Share of rounds in which the user kept the current image (selected index 0).",
            f"estimand: % of rounds kept per condition and round; cluster bootstrap over steering users ({n_boot} replicates)",
        )
        tables.append(choices)
        figures.append(Figure("trace_choices", trace_choices_figure(result.trace_choices), choices.title, choices.interpretation))
    if result.backend_evaluation is not None:
        b = config_table(cfg.backend)
        tables.append(Table(
            "backend_steering", result.backend_evaluation,
            f"Steering through the diffusers backend ({b['pipeline']}; Eq. 8 variations)",
            _evaluation_line(result.backend_evaluation),
            "row SEs over tasks (sd/sqrt(n)); diff_vs_random is the paired difference on the same tasks (same goal "
            "and first image); similarity = cosine of the [backend.clip] image embeddings",
        ))
    if result.table1 is not None:
        t1 = result.table1
        shown = table1_tables(t1)
        tables.extend(shown)
        figures.append(Figure("image_steering_change", table1_figure(t1), shown[0].title, shown[0].interpretation))
    tables.append(Table(
        "learned_schedule", result.schedule, "Greedy mixture scale per state of the learned policy",
        "The bucket with the highest posterior mean per (round, previous choice)"
        + (", next to the scale the released learned condition used most often." if traces else "."),
        "posterior sd = sqrt(sigma^2/(n+1))",
    ))
    posterior = Table(
        "learned_policy", policy.table(), "Thompson-sampling posterior per (round, previous, scale bucket)",
        "Posterior N(sum/(n+1), sigma^2/(n+1)) of the episode reward (final minus initial similarity).",
        "posterior sd (column posterior_sd)", se_stems={"posterior_mean": "posterior"},
    )
    tables.append(posterior)
    figures.append(Figure("learned_policy", learned_policy_figure(policy), "Learned proposal policy", posterior.interpretation))
    return Run(
        command="steer",
        title="Image steering with learned proposals",
        summary=tables[0].interpretation,
        tables=tables,
        figures=figures,
        files={"learned_policy.csv": policy.table().to_csv(index=False)},
        dataset="synthetic steering world" + (" + vafa2025 traces" if traces else ""),
        config=config_table(cfg),
        seeds={"seed": cfg.seed},
        inputs=list(inputs or []),
        seconds={"total": result.seconds},
        details={"policy": "trained" if result.trained else "loaded", "traces": traces,
                 "previous_states": list(PREVIOUS_NAMES)},
    )


def _evaluation_line(table: pd.DataFrame) -> str:
    parts = [f"{r.method}: change {r.mean_change:.3f} ({r.mean_change_se:.3f}), {r.pct_improved:.1f}% improved" for r in table.itertuples()]
    learned = table[table["method"] == "learned proposals"]
    extra = ""
    if not learned.empty:
        r = learned.iloc[0]
        extra = f" Learned minus random: {r['diff_vs_random']:.3f} (SE {r['diff_vs_random_se']:.3f})."
    return "; ".join(parts) + "." + extra
