"""The goal-space commands' written output as :class:`~steerstats.report.run.Run`: ``goalspace
score`` (per-row scores, median (IQR) table, flow field) and ``goalspace llm-study``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run
from steerstats.report.style import pyplot


def flow_field(
    z0: np.ndarray,
    z_goal: np.ndarray,
    z_out: np.ndarray,
    dims: Sequence[str],
    pair: tuple[str, str],
    *,
    grid: int = 6,
    ax=None,
    title: str | None = None,
):
    """Quiver of the mean requested move r = z* - z0 (grey) and mean realised move m = zh - z0
    (colour) per cell of a ``grid`` x ``grid`` partition of the source positions on two dimensions.

    Arrows start at the mean source position of their cell; arrow length is in goal-space units.
    Returns the matplotlib Axes.
    """
    dims = list(dims)
    i, j = dims.index(pair[0]), dims.index(pair[1])
    z0, z_goal, z_out = (np.asarray(a, float)[:, [i, j]] for a in (z0, z_goal, z_out))
    z_goal = np.where(np.isnan(z_goal), z0, z_goal)
    ok = np.isfinite(z0).all(1) & np.isfinite(z_goal).all(1) & np.isfinite(z_out).all(1)
    z0, r, m = z0[ok], (z_goal - z0)[ok], (z_out - z0)[ok]
    cell = np.minimum((z0 * grid).astype(int), grid - 1)
    key = cell[:, 0] * grid + cell[:, 1]
    if ax is None:
        _, ax = pyplot().subplots(figsize=(4.5, 4.5))
    starts, req, real, counts = [], [], [], []
    for k in np.unique(key):
        sel = key == k
        starts.append(z0[sel].mean(0))
        req.append(r[sel].mean(0))
        real.append(m[sel].mean(0))
        counts.append(sel.sum())
    if starts:
        s, q, w = np.array(starts), np.array(req), np.array(real)
        kw = dict(angles="xy", scale_units="xy", scale=1.0, width=0.006)
        ax.quiver(s[:, 0], s[:, 1], q[:, 0], q[:, 1], color="0.6", label="requested (mean r)", **kw)
        ax.quiver(s[:, 0], s[:, 1], w[:, 0], w[:, 1], color="C3", label="realised (mean m)", **kw)
        ax.scatter(s[:, 0], s[:, 1], s=8 + 2 * np.sqrt(counts), color="k", zorder=3)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(pair[0].replace("_", " "))
    ax.set_ylabel(pair[1].replace("_", " "))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.set_title(title or f"flow field, n={int(ok.sum())}", fontsize=9)
    return ax


def score_run(scored: Any, *, dims: Sequence[str], mode: str, pair: tuple[str, str] | None,
              inputs: Sequence[dict[str, Any]] = ()) -> Run:
    """``scored`` (:class:`steerstats.goalspace.table.ScoredTable`) as a Run."""
    from steerstats.goalspace.table import median_iqr_table

    summary = Table("summary", median_iqr_table(scored.summary),
                    f"Goal-space steerability ({mode} mode), median (IQR) per model",
                    f"Dimensions: {', '.join(dims)}; normalisation: {scored.normalizer.source}.",
                    "none (descriptive medians and IQRs)")
    figures = []
    if pair is not None:
        fig, ax = pyplot().subplots(figsize=(5, 5))
        flow_field(scored.z0, scored.z_goal, scored.z_out, dims, pair, ax=ax)
        figures.append(Figure("flow_field", fig, "Flow field",
                              f"mean requested (grey) vs realised moves on {pair[0]} x {pair[1]}, binned by source position"))
    config = {"dims": list(dims), "mode": mode, "goal": scored.goal_kind, "flow_pair": list(pair) if pair else None,
              "normalisation": {"source": scored.normalizer.source, "ranges": scored.normalizer.as_dict()}}
    return Run(
        command="goalspace score",
        title="Goal-space steerability",
        summary=summary.interpretation,
        tables=[summary],
        figures=figures,
        data=[("scores", scored.rows), ("summary_numeric", scored.summary)],
        dataset="user table",
        config=config,
        inputs=list(inputs),
        details={"rows": len(scored.rows)},
    )


def llm_study_run(result: Any, *, n_boot: int, seed: int, inputs: Sequence[dict[str, Any]] = ()) -> Run:
    """``result`` (:class:`steerstats.goalspace.llm_study.LLMGoalspaceResult`) as a Run."""
    from steerstats.report.section_goalspace import findings_paragraph, llm_study_artifacts

    items = llm_study_artifacts(result, n_boot=n_boot, seed=seed)
    return Run(
        command="goalspace llm-study",
        title="The LLM headline study in goal space",
        summary=findings_paragraph(result),
        tables=[t for t in items if isinstance(t, Table)],
        figures=[f for f in items if isinstance(f, Figure)],
        data=[("goalspace_llm_by_model_numeric", result.by_model), ("attempts", result.rows)],
        dataset="vafa2025",
        config={**result.info, "dims": list(result.dims), "n_boot": n_boot},
        seeds={"bootstrap": seed},
        inputs=list(inputs),
    )
