"""Cells: labelled subsets of a frame's rows, the unit every table row is estimated on.

A metric table is a set of cells (e.g. one per model plus a pooled "Average"); each cell's
estimate is a weighted mean (or ratio of weighted totals) over its rows. Keeping the cells as a 0/1
membership matrix lets one matrix product give every cell for all bootstrap replicates at once
(see :mod:`steerstats.metrics.weighted`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.metrics.weighted import (
    indicator_matrix,
    membership_count,
    row_sem,
    weighted_mean_matrix,
)

AVERAGE = "Average"
OVERALL = "Overall"


@dataclass(frozen=True)
class Cells:
    """``labels`` (one row per cell) and the (n_rows, n_cells) 0/1 ``membership`` matrix."""

    labels: pd.DataFrame
    membership: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def n(self) -> np.ndarray:
        return membership_count(self.membership)

    def mask(self, keep: np.ndarray) -> Cells:
        """The same cells restricted to rows where ``keep`` is true."""
        return Cells(self.labels, self.membership * np.asarray(keep, dtype=float)[:, None])

    def mean(self, x: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return weighted_mean_matrix(x, self.membership, weights)

    def summary(self, x: np.ndarray, name: str = "mean") -> pd.DataFrame:
        """labels + ``n``, ``{name}`` (unweighted mean) and ``{name}_sem`` (plain row SEM)."""
        out = self.labels.copy()
        out["n"] = self.n
        out[name] = self.mean(x)
        out[f"{name}_sem"] = row_sem(x, self.membership)
        return out


def levels_of(values: pd.Series, levels: Sequence | None = None) -> list:
    """Sorted distinct values (or the given ``levels``): a stable order for table rows."""
    if levels is not None:
        return list(levels)
    return sorted(pd.Series(values).dropna().unique().tolist())


def group_cells(
    frame: pd.DataFrame,
    column: str,
    levels: Sequence | None = None,
    *,
    pooled: str | None = None,
) -> Cells:
    """One cell per level of ``column`` (rows of other levels belong to none), plus ``pooled``
    (a cell of all rows in any level, labelled e.g. "Average") if given."""
    levels = levels_of(frame[column], levels)
    codes = pd.Index(levels).get_indexer(frame[column])  # -1: not a level
    membership = indicator_matrix(codes, len(levels), pooled=pooled is not None)
    labels = [*levels, pooled] if pooled is not None else list(levels)
    return Cells(pd.DataFrame({column: labels}), membership)


def crossed_cells(
    frame: pd.DataFrame,
    outer: str,
    inner: str,
    outer_levels: Sequence | None = None,
    inner_levels: Sequence | None = None,
    *,
    pooled_outer: str | None = None,
    pooled_inner: str | None = None,
) -> Cells:
    """Cells for every (outer, inner) pair, outer-major; optional pooled levels on either axis
    (e.g. a pooled model "Average" for each attempt, or an "Average" over attempts per model)."""
    outer_cells = group_cells(frame, outer, outer_levels, pooled=pooled_outer)
    inner_cells = group_cells(frame, inner, inner_levels, pooled=pooled_inner)
    mo, mi = outer_cells.membership, inner_cells.membership
    membership = (mo[:, :, None] * mi[:, None, :]).reshape(len(frame), -1)
    labels = pd.DataFrame(
        [(a, b) for a in outer_cells.labels[outer] for b in inner_cells.labels[inner]],
        columns=[outer, inner],
    )
    return Cells(labels, membership)


def concat_cells(*cells: Cells) -> Cells:
    """Cells side by side (same rows): the labels stack, the membership columns concatenate."""
    return Cells(
        pd.concat([c.labels for c in cells], ignore_index=True),
        np.concatenate([c.membership for c in cells], axis=1),
    )
