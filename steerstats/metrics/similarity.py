"""Similarity to the goal (SPEC section 1): mean DreamSim / CLIP per model and per attempt.

Similarities are higher-is-closer; the steerability gap of a (goal, attempt) is 1 - similarity up
to the metric's scale. Every function here is a weighted statistic (see
:mod:`steerstats.metrics.weighted`): ``weights`` None gives the point estimate, a (B, n) matrix
gives B bootstrap replicates in one call.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from steerstats.metrics.cells import AVERAGE, Cells, crossed_cells, group_cells

ATTEMPTS = (1, 2, 3, 4, 5)


def model_cells(frame: pd.DataFrame, models: Sequence[str] | None = None) -> Cells:
    """One cell per model (sorted) and a pooled "Average" cell over all rows."""
    return group_cells(frame, "model", models, pooled=AVERAGE)


def model_attempt_cells(
    frame: pd.DataFrame,
    models: Sequence[str] | None = None,
    attempts: Sequence[int] = ATTEMPTS,
) -> Cells:
    """One cell per (model, attempt), model-major, then the pooled "Average" model per attempt."""
    return crossed_cells(frame, "model", "attempt", models, attempts, pooled_outer=AVERAGE)


def similarity_by_model(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    column: str = "dreamsim",
    models: Sequence[str] | None = None,
) -> np.ndarray:
    """Mean ``column`` per model, then the pooled mean over all rows ("Average")."""
    return model_cells(frame, models).mean(frame[column].to_numpy(float), weights)


def similarity_by_attempt(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    column: str = "dreamsim",
    models: Sequence[str] | None = None,
    attempts: Sequence[int] = ATTEMPTS,
) -> np.ndarray:
    """Mean ``column`` per (model, attempt) in :func:`model_attempt_cells` order."""
    return model_attempt_cells(frame, models, attempts).mean(frame[column].to_numpy(float), weights)


def similarity_first_last(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    column: str = "dreamsim",
    models: Sequence[str] | None = None,
    first: int = 1,
    last: int = 5,
) -> np.ndarray:
    """First-attempt means per model + Average, then last-attempt means in the same order."""
    cells = model_cells(frame, models)
    x = frame[column].to_numpy(float)
    attempt = frame["attempt"].to_numpy()
    return np.concatenate(
        [cells.mask(attempt == first).mean(x, weights), cells.mask(attempt == last).mean(x, weights)],
        axis=-1,
    )


def similarity_summary(
    frame: pd.DataFrame, *, column: str = "dreamsim", models: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per model + "Average": n, mean and plain row SEM of ``column`` (what the paper printed)."""
    return model_cells(frame, models).summary(frame[column].to_numpy(float), "mean")
