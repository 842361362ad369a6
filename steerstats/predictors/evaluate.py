"""Held-out evaluation of steerability predictors, split by goal image.

``held_out_predictions`` refits every (predictor, head) on the training goals of each split and
returns a long table of test predictions. ``r2_mse`` is held-out R^2 and MSE written as a weighted
statistic (see :mod:`steerstats.metrics.weighted`), so a cluster bootstrap over test goals can
resample it:

    R^2(w) = 1 - sum_i w_i (y_i - yhat_i)^2 / sum_i w_i (y_i - ybar_w)^2,   MSE(w) = sum w e^2 / sum w

With ``w`` = 1 these equal ``sklearn.metrics.r2_score`` and ``mean_squared_error``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from steerstats.data.embedding_table import KeyedEmbeddings
from steerstats.features import EmbeddingCache, TextEmbedder
from steerstats.metrics.weighted import as_weights, squeeze_like
from steerstats.predictors.predictor import HEADS, PREDICTORS, SteerabilityPredictor
from steerstats.predictors.split import goal_holdout_split, goal_kfold


def r2_mse(frame: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
    """Weighted statistic: [R^2, MSE] of columns ``y`` vs ``yhat``; (2,) or (B, 2)."""
    y = frame["y"].to_numpy(dtype=float)
    yhat = frame["yhat"].to_numpy(dtype=float)
    w = as_weights(weights, len(y))
    total = w.sum(axis=1)
    sse = w @ (y - yhat) ** 2
    ybar = (w @ y) / total
    sst = (w * (y[None, :] - ybar[:, None]) ** 2).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.column_stack([1.0 - sse / sst, sse / total])
    return squeeze_like(out, weights)


def held_out_predictions(
    frame: pd.DataFrame,
    *,
    embedder: Callable[[], TextEmbedder] | None,
    predictors: Sequence[str] = tuple(PREDICTORS),
    heads: Sequence[str] = ("ridge",),
    split: str | int = "80/20",
    cache: EmbeddingCache | None = None,
    goal_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
    prompt_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
    target: str = "dreamsim",
    seed: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Test-set predictions of every (predictor, head) fitted on the training goals.

    ``split``: ``"80/20"`` (the paper's held-out 20% of goals) or an int K (grouped K-fold; every
    row is predicted once, out of fold). The training mean is fitted once (its head is ``"none"``).
    Columns: predictor, head, fold, row, goal_image, model, y, yhat.
    """
    goals = frame["goal_image"].to_numpy()
    if split == "80/20":
        splits = [goal_holdout_split(goals, test_size=0.2, seed=seed)]
    else:
        splits = list(goal_kfold(goals, int(split), seed=seed))
    jobs = [(p, "none" if p == "mean" else h) for p in predictors for h in heads]
    jobs = list(dict.fromkeys(jobs))
    out = []
    bar = tqdm(total=len(jobs) * len(splits), desc="predictors", disable=not progress)
    for fold, (train, test) in enumerate(splits):
        tr, te = frame.iloc[train], frame.iloc[test]
        for predictor, head in jobs:
            model = SteerabilityPredictor(
                predictor,
                "ridge" if head == "none" else head,
                embedder,
                cache=cache,
                goal_embeddings=goal_embeddings,
                prompt_embeddings=prompt_embeddings,
                target=target,
                seed=seed,
            ).fit(tr)
            out.append(
                pd.DataFrame(
                    {
                        "predictor": predictor,
                        "head": head,
                        "fold": fold,
                        "row": test,
                        "goal_image": te["goal_image"].to_numpy(),
                        "model": te["model"].to_numpy(),
                        "y": te[target].to_numpy(dtype=float),
                        "yhat": model.predict(te),
                    }
                )
            )
            bar.update()
    bar.close()
    return pd.concat(out, ignore_index=True)


__all__ = ["HEADS", "held_out_predictions", "r2_mse"]
