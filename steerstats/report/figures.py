"""Figures of the steerability report (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.metrics.cells import AVERAGE
from steerstats.report.style import pyplot


def _critical(rows: pd.DataFrame) -> np.ndarray:
    """95% critical values per row: t(G - 1) below 50 clusters, else 1.96."""
    from steerstats.uncertainty.clusters import critical_value

    if "n_clusters" not in rows:
        return np.full(len(rows), 1.959964)
    return critical_value(0.95, rows["n_clusters"].to_numpy(float))


def similarity_by_attempt_figure(table: pd.DataFrame, se_label: str = "headline", column: str = "dreamsim"):
    """Mean similarity per attempt, one line per model, the pooled Average in black (±1 headline SE)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model, rows in table.groupby("model", sort=False):
        pooled = model == AVERAGE
        ax.errorbar(
            rows["attempt"], rows[f"{column}_mean"], yerr=rows[f"{column}_se_cluster"] if pooled else None,
            marker="o", lw=2.5 if pooled else 1.0, color="black" if pooled else None,
            alpha=1.0 if pooled else 0.8, capsize=3, label=f"{model} (±1 SE, {se_label})" if pooled else model,
        )
    ax.set_xlabel("attempt")
    ax.set_ylabel(f"mean {column} similarity to goal")
    ax.set_xticks(sorted(table["attempt"].unique()))
    ax.legend(fontsize=7, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def similarity_by_model_figure(table: pd.DataFrame, se_label: str = "headline", column: str = "dreamsim"):
    """Mean similarity per model (sorted), 95% bars from the row SEM and from the headline SE
    (t(G - 1) quantile below 50 clusters)."""
    plt = pyplot()
    rows = table[table["model"] != AVERAGE].sort_values(f"{column}_mean")
    pooled = table[table["model"] == AVERAGE]
    y = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.errorbar(rows[f"{column}_mean"], y - 0.12, xerr=1.96 * rows[f"{column}_se"], fmt="o",
                capsize=3, label="±1.96 row SEM (paper)")
    ax.errorbar(rows[f"{column}_mean"], y + 0.12, xerr=_critical(rows) * rows[f"{column}_se_cluster"], fmt="s",
                capsize=3, label=f"95% from the {se_label} SE (t(G-1) below 50 clusters)")
    if len(pooled):
        ax.axvline(float(pooled[f"{column}_mean"].iloc[0]), color="grey", ls="--", lw=1, label="Average")
    ax.set_yticks(y)
    ax.set_yticklabels(rows["model"])
    ax.set_xlabel(f"mean {column} similarity to goal")
    ax.legend(fontsize=8, frameon=False)
    ax.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def blind_steering_figure(table: pd.DataFrame):
    """Blind-steering ratio (LLM / human improvement) against the number of rewrites k."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    ax.errorbar(table["k"], table["ratio"], yerr=1.96 * table["ratio_se"], marker="o", capsize=4)
    ax.axhline(1.0, color="grey", ls="--", lw=1, label="matches human steering")
    ax.set_xlabel("k (blind LLM rewrites of the first prompt)")
    ax.set_ylabel("mean LLM improvement / mean human improvement")
    ax.set_xticks(table["k"])
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


RATING_COLOURS = ("#c44e52", "#dd8452", "#8fbbd9", "#4c72b0")  # 1 (worst) .. 4 (best)


def rating_distribution_figure(dist: pd.DataFrame):
    """Vafa et al. Fig. 2 style: share of each 4-point rating per model, one panel per attempt subset."""
    plt = pyplot()
    subsets = list(dict.fromkeys(dist["subset"]))
    models = list(dict.fromkeys(dist["model"]))
    fig, axes = plt.subplots(1, len(subsets), figsize=(4 * len(subsets), 0.35 * len(models) + 1.6), sharey=True)
    axes = np.atleast_1d(axes)
    y = np.arange(len(models))
    for ax, subset in zip(axes, subsets, strict=True):
        rows = dist[dist["subset"] == subset].set_index("model").reindex(models)
        left = np.zeros(len(models))
        for level, colour in zip((1, 2, 3, 4), RATING_COLOURS, strict=True):
            share = rows[f"share_{level}"].to_numpy(float)
            ax.barh(y, share, left=left, color=colour, label=str(level))
            left += np.nan_to_num(share)
        ax.set_title(subset, fontsize=9)
        ax.set_xlim(0, 1)
        ax.set_xlabel("share of ratings")
    axes[0].set_yticks(y, models)
    axes[0].invert_yaxis()
    axes[-1].legend(title="rating", loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    fig.tight_layout()
    return fig


def judgement_rates_figure(table: pd.DataFrame, names: tuple[str, ...], se_label: str = "headline"):
    """Vafa et al. Fig. 3 (left) style: each judgement rate per model with 95% bars from the headline SE."""
    plt = pyplot()
    rows = table.reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7.5, 0.4 * len(rows) + 1.5))
    height = 0.8 / len(names)
    y = np.arange(len(rows))
    for j, name in enumerate(names):
        se = rows[f"{name}_se_cluster"].to_numpy(float)
        crit = _critical(rows.rename(columns={f"{name}_n_clusters": "n_clusters"})[["n_clusters"]]
                         if f"{name}_n_clusters" in rows else rows[[]])
        ax.barh(y + (j - (len(names) - 1) / 2) * height, rows[name], height=height, xerr=crit * se, capsize=2,
                label=name.replace("_", " "))
    ax.set_yticks(y, rows["model"])
    ax.invert_yaxis()
    ax.axvline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(f"rate (95% bars from the headline SE, {se_label})")
    ax.legend(fontsize=8, frameon=False, loc="lower right")
    fig.tight_layout()
    return fig


def rankings_figure(rankings: pd.DataFrame):
    """Vafa et al. Fig. 5 style: each model's rank per metric (1 = best) with its bootstrap rank interval."""
    plt = pyplot()
    metrics = list(dict.fromkeys(rankings["metric"]))
    labels = rankings.drop_duplicates("metric").set_index("metric")["label"]
    models = sorted(rankings["model"].unique())
    fig, ax = plt.subplots(figsize=(1.8 * len(metrics) + 3, 0.35 * len(models) + 2))
    x = np.arange(len(metrics))
    offsets = np.linspace(-0.25, 0.25, len(models))
    for model, dx in zip(models, offsets, strict=True):
        rows = rankings[rankings["model"] == model].set_index("metric").reindex(metrics)
        r = rows["rank"].to_numpy(float)
        err = np.vstack([r - rows["rank_ci_low"], rows["rank_ci_high"] - r])
        ax.errorbar(x + dx, r, yerr=err, marker="o", ms=4, lw=1, capsize=2, label=model)
    ax.set_xticks(x, [labels[m] for m in metrics])
    ax.set_xlabel("metric (95% bootstrap rank intervals over steering users)")
    ax.set_ylabel("rank (1 = most steerable)")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def seed_frontier_figure(table: pd.DataFrame, producibility: dict | None = None, se_label: str = "headline"):
    """Vafa et al. Fig. 7 style: steerability (mean DreamSim, 95% headline bars) per seed condition;
    against a producibility value per condition when one is given, else against the number of seeds."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    rows = table.reset_index(drop=True)
    crit = _critical(rows)
    if producibility:
        x = np.array([producibility.get(str(c), np.nan) for c in rows["condition"]], dtype=float)
        ax.set_xlabel("producibility (user-supplied)")
    else:
        x = np.arange(len(rows), dtype=float)
        ax.set_xticks(x, [f"{c} seed{'s' if str(c) != '1' else ''}" if str(c).isdigit() else "unconstrained"
                          for c in rows["condition"]])
        ax.set_xlabel("seed condition (fewer seeds: a smaller producible set)")
    ax.errorbar(x, rows["dreamsim_mean"], yerr=crit * rows["dreamsim_se_cluster"], marker="o", capsize=3, lw=1.5)
    for xi, yi, c in zip(x, rows["dreamsim_mean"], rows["condition"], strict=True):
        ax.annotate(str(c), (xi, yi), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_ylabel("steerability: mean DreamSim")
    ax.set_title(f"95% bars from the headline SE ({se_label})", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
