"""Satisfaction with the steered images (SPEC section 1): 4-point ratings by independent raters.

Per model and "Overall": mean rating over all rows, over first- and last-attempt rows; the share of
ratings <= 2 ("unsatisfied"), == 1 ("very unsatisfied"), == 4 ("very satisfied"); and
``rating_max``: the best rating a (model, goal) sequence received over all attempts and raters,
averaged over goals (the release's ``rating_max_avg``). All are weighted statistics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from steerstats.metrics.cells import OVERALL, Cells, group_cells
from steerstats.metrics.weighted import group_weight, row_sem, squeeze_like

#: the row-level rating statistics, in the order :func:`satisfaction_by_model` stacks them
RATING_STATS = (
    "rating_mean",
    "first_attempt_mean",
    "last_attempt_mean",
    "share_unsatisfied",
    "share_very_unsatisfied",
    "share_very_satisfied",
)


def rating_cells(frame: pd.DataFrame, models: Sequence[str] | None = None) -> Cells:
    """One cell per model (sorted) and a pooled "Overall" cell."""
    return group_cells(frame, "model", models, pooled=OVERALL)


def _row_stats(frame: pd.DataFrame, first: int, last: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """(value, row mask) for each entry of RATING_STATS."""
    r = frame["rating"].to_numpy(float)
    a = frame["attempt"].to_numpy()
    every = np.ones(len(frame), dtype=bool)
    return [
        (r, every),
        (r, a == first),
        (r, a == last),
        ((r <= 2).astype(float), every),
        ((r == 1).astype(float), every),
        ((r == 4).astype(float), every),
    ]


def satisfaction_by_model(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    models: Sequence[str] | None = None,
    first: int = 1,
    last: int = 5,
) -> np.ndarray:
    """RATING_STATS stacked: for each, the per-model values then "Overall" ((len * (k+1),))."""
    cells = rating_cells(frame, models)
    parts = [cells.mask(keep).mean(x, weights) for x, keep in _row_stats(frame, first, last)]
    return np.concatenate(parts, axis=-1)


def _goal_max(frame: pd.DataFrame, goal: str) -> tuple[np.ndarray, pd.DataFrame]:
    """Group codes of (model, goal) per row, and one row per group with its best rating."""
    codes, uniques = pd.MultiIndex.from_frame(frame[["model", goal]]).factorize()
    best = frame.groupby(codes, sort=True)["rating"].max()
    groups = pd.DataFrame({"model": uniques.get_level_values(0), "rating_max": best.to_numpy(float)})
    return np.asarray(codes), groups


def rating_max_by_model(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    models: Sequence[str] | None = None,
    goal: str = "goal_image",
) -> np.ndarray:
    """Mean over (model, goal) groups of the best rating in the group; per model + "Overall".

    A group's weight is its rows' mean weight (its resampling count under goal or user clusters).
    """
    codes, groups = _goal_max(frame, goal)
    gw = group_weight(codes, len(groups), weights)
    cells = rating_cells(groups, models)
    out = np.atleast_2d(cells.mean(groups["rating_max"].to_numpy(), gw))
    return squeeze_like(out, weights)


def satisfaction_summary(
    frame: pd.DataFrame,
    *,
    models: Sequence[str] | None = None,
    goal: str = "goal_image",
    first: int = 1,
    last: int = 5,
) -> pd.DataFrame:
    """Per model + "Overall": n (ratings), n_goals, every RATING_STATS value and rating_max_mean,
    each with its plain SEM (``_sem``; rows for ratings and shares, goals for rating_max)."""
    cells = rating_cells(frame, models)
    out = cells.labels.copy()
    out["n"] = cells.n
    for name, (x, keep) in zip(RATING_STATS, _row_stats(frame, first, last), strict=True):
        masked = cells.mask(keep)
        out[name] = masked.mean(x)
        out[f"{name}_sem"] = row_sem(x, masked.membership)
    _, groups = _goal_max(frame, goal)
    gcells = rating_cells(groups, models)
    out["n_goals"] = gcells.n
    out["rating_max_mean"] = gcells.mean(groups["rating_max"].to_numpy())
    out["rating_max_mean_sem"] = row_sem(groups["rating_max"].to_numpy(), gcells.membership)
    return out
