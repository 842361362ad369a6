"""The goal-space commands' written output as :class:`~steerstats.report.run.Run`: ``goalspace
score`` (per-row scores, median (IQR) table, flow field) and ``goalspace llm-study``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run
from steerstats.report.style import pyplot


def score_run(scored: Any, *, dims: Sequence[str], mode: str, pair: tuple[str, str] | None,
              inputs: Sequence[dict[str, Any]] = ()) -> Run:
    """``scored`` (:class:`steerstats.goalspace.table.ScoredTable`) as a Run."""
    from steerstats.goalspace.figures import flow_field
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
    """``result`` (:class:`steerstats.report.section_goalspace.LLMGoalspaceResult`) as a Run."""
    from steerstats.report.section_goalspace import llm_study_artifacts

    items = llm_study_artifacts(result, n_boot=n_boot, seed=seed)
    return Run(
        command="goalspace llm-study",
        title="The LLM headline study in goal space",
        summary=result.findings,
        tables=[t for t in items if isinstance(t, Table)],
        figures=[f for f in items if isinstance(f, Figure)],
        data=[("goalspace_llm_by_model_numeric", result.by_model), ("attempts", result.rows)],
        dataset="vafa2025",
        config={**result.info, "dims": list(result.dims), "n_boot": n_boot},
        seeds={"bootstrap": seed},
        inputs=list(inputs),
    )
