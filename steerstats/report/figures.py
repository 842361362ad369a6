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
