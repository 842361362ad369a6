"""Blind steering (paper App. C.1): can an LLM that never sees the goal match human steering?

For each goal in both ``steering.csv`` and ``blind_steering_k.csv`` (joined on the goal image URL,
``goal_url`` in the blind file, and ``steering_user_id``):

    human improvement = max over attempts of similarity - first-attempt similarity   (>= 0)
    LLM improvement   = max(0, max over the k LLM rewrites of ``score`` - ``user_score``)

where ``user_score`` is the user's own first-attempt similarity as recorded in the blind file. The
reported ratio is mean LLM improvement / mean human improvement: the share of what humans gained
by steering that k blind rewrites of the first prompt also gain.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.metrics.weighted import as_weights, squeeze_like

GOAL_KEYS = ("goal_image", "steering_user_id")
BLIND_STATS = ("human_improvement", "llm_improvement", "ratio")


def blind_steering_goals(
    steering: pd.DataFrame, blind: pd.DataFrame, *, column: str = "dreamsim"
) -> pd.DataFrame:
    """One row per goal in both files: goal_image, steering_user_id, model, first, best,
    user_score, llm_best, human_improvement, llm_improvement (sorted by goal)."""
    keys = list(GOAL_KEYS)
    seq = steering.groupby(keys, sort=True).agg(
        model=("model", "first"),
        best=(column, "max"),
    )
    first = steering.loc[steering["attempt"] == steering.groupby(keys)["attempt"].transform("min")]
    seq["first"] = first.groupby(keys)[column].first()
    llm = (
        blind.rename(columns={"goal_url": "goal_image"})
        .groupby(keys, sort=True)
        .agg(llm_best=("score", "max"), user_score=("user_score", "first"))
    )
    goals = seq.join(llm, how="inner").reset_index()
    goals["human_improvement"] = goals["best"] - goals["first"]
    goals["llm_improvement"] = np.maximum(0.0, goals["llm_best"] - goals["user_score"])
    return goals


def blind_steering_ratio(goals: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
    """[mean human improvement, mean LLM improvement, ratio LLM / human] over goal rows."""
    w = as_weights(weights, len(goals))
    h = w @ goals["human_improvement"].to_numpy(float)
    llm = w @ goals["llm_improvement"].to_numpy(float)
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.stack([h / total, llm / total, llm / h], axis=-1)
    return squeeze_like(out, weights)
