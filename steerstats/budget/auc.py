"""Held-out ROC-AUC as a weighted statistic, and its cluster-bootstrap interval.

Weighted AUC (ties count one half):

    AUC(w) = sum_{i: y=1} sum_{j: y=0} w_i w_j (1[s_i > s_j] + 1/2 1[s_i = s_j]) / (W_1 W_0),

computed for a (B, n) matrix of bootstrap weights in O(B n) after one sort, so the bootstrap of
:func:`steerstats.uncertainty.bootstrap.cluster_bootstrap` evaluates all replicates at once.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.metrics.weighted import as_weights, squeeze_like
from steerstats.uncertainty.bootstrap import BootstrapResult, cluster_bootstrap


def weighted_auc(score: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """ROC-AUC of ``score`` for labels ``y`` under row weights None, (n,) or (B, n)."""
    score = np.asarray(score, float)
    y = np.asarray(y).astype(bool)
    w = as_weights(weights, score.shape[0])
    order = np.argsort(score, kind="stable")
    s, pos, w = score[order], y[order], w[:, order]
    _, block = np.unique(s, return_inverse=True)
    n_blocks = int(block.max()) + 1 if len(block) else 0
    neg_w = np.where(pos, 0.0, w)
    neg_in = np.zeros((w.shape[0], n_blocks))
    np.add.at(neg_in.T, block, neg_w.T)
    neg_below = np.cumsum(neg_in, axis=1) - neg_in
    pos_w = np.where(pos, w, 0.0)
    num = np.sum(pos_w * (neg_below[:, block] + 0.5 * neg_in[:, block]), axis=1)
    den = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = np.where(den > 0, num / den, np.nan)
    return squeeze_like(auc[:, None], weights)


def _statistic(frame: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
    return weighted_auc(frame["score"].to_numpy(), frame["y"].to_numpy(), weights)


def auc_with_ci(
    score: np.ndarray,
    y: np.ndarray,
    group: np.ndarray,
    *,
    n_boot: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapResult:
    """ROC-AUC with a percentile interval from a bootstrap over whole groups (e.g. prompts)."""
    frame = pd.DataFrame({"score": score, "y": y, "group": group})
    return cluster_bootstrap(_statistic, frame, "group", n_boot=n_boot, seed=seed, level=level)
