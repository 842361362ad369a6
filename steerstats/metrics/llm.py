"""The LLM steering study (SPEC section 1, paper Sec. 3.3): users steer LLMs to rewrite a headline.

Per model + "Overall": mean 4-point rating, share of ratings == 4 ("very satisfied") from
``llm/sat_ratings.csv``, and the improvement rate from ``llm/improvement.csv`` (exact expectation
of the release's chunk-of-3 majority procedure over (model, target headline) groups; see
:mod:`steerstats.metrics.judgements`). The goal of an LLM sequence is its ``target_headline``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from steerstats.metrics.cells import OVERALL, Cells, group_cells
from steerstats.metrics.weighted import row_sem

LLM_GOAL = "target_headline"


def clean_headline(values: pd.Series) -> pd.Series:
    """A headline as matched and scored: surrounding whitespace and quotes removed (the release's quirks)."""
    return values.astype(str).str.strip().str.strip('"').str.strip()


def llm_cells(frame: pd.DataFrame, models: Sequence[str] | None = None) -> Cells:
    return group_cells(frame, "model", models, pooled=OVERALL)


def llm_ratings(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    models: Sequence[str] | None = None,
) -> np.ndarray:
    """[mean rating per model + Overall, share very satisfied (== 4) per model + Overall]."""
    cells = llm_cells(frame, models)
    r = frame["rating"].to_numpy(float)
    return np.concatenate([cells.mean(r, weights), cells.mean((r == 4).astype(float), weights)], axis=-1)


def llm_ratings_summary(frame: pd.DataFrame, *, models: Sequence[str] | None = None) -> pd.DataFrame:
    """Per model + Overall: n, rating_mean, rating_sem (row SEM), very_satisfied and its SEM
    sqrt(p(1-p)/n), the binomial form the release prints per model.

    (The release's "Overall" very-satisfied SEM omits the /n; steerstats does not copy that.)
    """
    cells = llm_cells(frame, models)
    r = frame["rating"].to_numpy(float)
    vs = (r == 4).astype(float)
    out = cells.labels.copy()
    out["n"] = cells.n
    out["rating_mean"] = cells.mean(r)
    out["rating_sem"] = row_sem(r, cells.membership)
    p = cells.mean(vs)
    out["very_satisfied"] = p
    out["very_satisfied_sem"] = np.sqrt(p * (1 - p) / out["n"].to_numpy())
    return out
