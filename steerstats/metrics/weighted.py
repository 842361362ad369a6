"""The weighted-statistic contract shared by metrics and the bootstrap.

Every metric that the uncertainty layer resamples is written as a *weighted* estimator:

    statistic(frame, weights) -> array

``weights`` is ``None`` (every row weight 1: the point estimate), a vector of shape (n,), or a
matrix of shape (B, n) holding B resampling weight vectors (row weight = how many times its cluster
was drawn). With a (B, n) matrix the statistic returns B replicates at once (shape (B, k)), so the
bootstrap never loops over replicates in Python. The helpers below are the building blocks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def as_weights(weights: np.ndarray | None, n: int) -> np.ndarray:
    """Weights as a 2-D float array (B, n); ``None`` -> ones((1, n))."""
    if weights is None:
        return np.ones((1, n))
    w = np.asarray(weights, dtype=float)
    if w.ndim == 1:
        w = w[None, :]
    if w.shape[-1] != n:
        raise ValueError(f"weights have {w.shape[-1]} columns for {n} rows")
    return w


def squeeze_like(result: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    """Drop the replicate axis again when the caller passed ``None`` or a 1-D weight vector."""
    if weights is None or np.ndim(weights) == 1:
        return result[0]
    return result


def group_codes(values: pd.Series | np.ndarray, levels: list | None = None) -> tuple[np.ndarray, list]:
    """Integer codes 0..k-1 for the groups of ``values`` (levels sorted unless given)."""
    values = pd.Series(values)
    if levels is None:
        levels = sorted(values.dropna().unique().tolist())
    cat = pd.Categorical(values, categories=levels)
    return np.asarray(cat.codes), list(levels)


def weighted_group_mean(
    x: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    weights: np.ndarray | None = None,
    *,
    pooled: bool = False,
) -> np.ndarray:
    """Weighted mean of ``x`` per group: sum_i w_i x_i 1[g_i=g] / sum_i w_i 1[g_i=g].

    Rows with code -1 are ignored. With ``pooled`` a last column holds the mean over all rows.
    Returns (k,) or (B, k) (k = n_groups + pooled) following the weights' shape.
    """
    x = np.asarray(x, dtype=float)
    w = as_weights(weights, len(x))
    keep = codes >= 0
    onehot = np.zeros((len(x), n_groups + pooled))
    onehot[np.flatnonzero(keep), codes[keep]] = 1.0
    if pooled:
        onehot[keep, -1] = 1.0
    num = w @ (onehot * x[:, None])
    den = w @ onehot
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return squeeze_like(out, weights)
