"""The weighted-statistic contract shared by metrics and the bootstrap.

Every metric that the uncertainty layer resamples is written as a *weighted* estimator:

    statistic(frame, weights) -> array

``weights`` is ``None`` (every row weight 1: the point estimate), a vector of shape (n,), or a
matrix of shape (B, n) holding B resampling weight vectors (row weight = how many times its cluster
was drawn). With a (B, n) matrix the statistic returns B replicates at once (shape (B, k)), so the
bootstrap never loops over replicates in Python. The helpers below are the building blocks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

#: ``statistic(frame, weights) -> (k,) or (B, k)``
Statistic = Callable[[pd.DataFrame, np.ndarray | None], np.ndarray]


class ClusterCountWeights:
    """(B, n) one-way cluster-bootstrap row weights ``counts[:, codes]``, kept factored.

    ``W @ X`` (the product every weighted mean, total and ratio is built from) is evaluated as
    ``counts @ (cluster sums of X)``: O(n p + B G p) instead of O(B n p), and the B x n matrix is
    never formed. Everything else (``W * x``, ``W[:, idx]``, ``np.einsum``) sees the dense matrix
    through ``__array__``, so any weighted statistic accepts it unchanged.
    """

    ndim = 2
    dtype = np.dtype(float)

    def __init__(self, counts: np.ndarray, codes: np.ndarray) -> None:
        self.counts = np.asarray(counts, dtype=float)  # (B, G)
        self.codes = np.asarray(codes, dtype=np.int64)  # (n,) cluster of each row, 0..G-1
        self.shape = (self.counts.shape[0], len(self.codes))
        self._sum_rows = None

    def __len__(self) -> int:
        return self.shape[0]

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        dense = np.take(self.counts, self.codes, axis=1)
        return dense if dtype is None else dense.astype(dtype, copy=False)

    def __getitem__(self, key):
        return np.asarray(self)[key]

    def cluster_sums(self, x: np.ndarray) -> np.ndarray:
        """(G, ...) sums of the rows of ``x`` (n, ...) within each cluster."""
        if self._sum_rows is None:
            from scipy import sparse

            n, g = self.shape[1], self.counts.shape[1]
            self._sum_rows = sparse.csr_matrix((np.ones(n), (self.codes, np.arange(n))), shape=(g, n))
        return np.asarray(self._sum_rows @ x)

    def __matmul__(self, other):
        x = np.asarray(other, dtype=float)
        if x.ndim not in (1, 2) or x.shape[0] != self.shape[1]:
            return np.asarray(self) @ x  # the shape error numpy would give
        return self.counts @ self.cluster_sums(x)

    def sum(self, axis=None):
        if axis in (1, -1):
            return self.counts @ np.bincount(self.codes, minlength=self.counts.shape[1]).astype(float)
        return np.asarray(self).sum(axis=axis)


def as_weights(weights: np.ndarray | ClusterCountWeights | None, n: int) -> np.ndarray:
    """Weights as a 2-D float array (B, n) (a :class:`ClusterCountWeights` passes through, factored);
    ``None`` -> ones((1, n))."""
    if weights is None:
        return np.ones((1, n))
    if isinstance(weights, ClusterCountWeights):
        if weights.shape[1] != n:
            raise ValueError(f"weights have {weights.shape[1]} columns for {n} rows")
        return weights
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


def weighted_mean_matrix(
    x: np.ndarray, membership: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """Weighted mean of ``x`` over each column of a 0/1 ``membership`` matrix (n, k).

    estimate_j = sum_i w_i m_ij x_i / sum_i w_i m_ij. Overlapping columns are allowed (e.g. a
    per-model column and a pooled column), so one call gives every cell of a table. Rows where
    ``x`` is NaN must have membership 0. Returns (k,) or (B, k) following the weights' shape.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(membership, dtype=float)
    w = as_weights(weights, len(x))
    num = w @ np.where(m > 0, m * x[:, None], 0.0)
    den = w @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        out = num / den
    return squeeze_like(out, weights)


def weighted_ratio_of_sums(
    numerator: np.ndarray,
    denominator: np.ndarray,
    membership: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """sum_i w_i m_ij a_i / sum_i w_i m_ij b_i per column j: a ratio of two weighted totals."""
    a = np.asarray(numerator, dtype=float)
    b = np.asarray(denominator, dtype=float)
    m = np.asarray(membership, dtype=float)
    w = as_weights(weights, len(a))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = (w @ (m * a[:, None])) / (w @ (m * b[:, None]))
    return squeeze_like(out, weights)


def indicator_matrix(codes: np.ndarray, n_groups: int, *, pooled: bool = False) -> np.ndarray:
    """(n, n_groups [+1]) 0/1 matrix from group codes (code -1 = in no group; pooled = all coded)."""
    codes = np.asarray(codes)
    m = np.zeros((len(codes), n_groups + pooled))
    keep = np.flatnonzero(codes >= 0)
    m[keep, codes[keep]] = 1.0
    if pooled:
        m[keep, -1] = 1.0
    return m


def membership_count(membership: np.ndarray) -> np.ndarray:
    """Rows in each column of a membership matrix (the estimate's n)."""
    return np.asarray(membership, dtype=float).sum(axis=0).astype(int)


def row_sem(x: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Plain standard error of the mean per column, sd(ddof=1) / sqrt(n): the release's SEM.

    It treats rows as independent; NaN where a column has fewer than two rows.
    """
    x = np.asarray(x, dtype=float)
    m = np.asarray(membership, dtype=float) > 0
    out = np.full(m.shape[1], np.nan)
    for j in range(m.shape[1]):
        v = x[m[:, j]]
        if len(v) > 1:
            out[j] = v.std(ddof=1) / np.sqrt(len(v))
    return out


def group_weight(codes: np.ndarray, n_groups: int, weights: np.ndarray | None) -> np.ndarray:
    """(B, n_groups) mean row weight of each group, for statistics defined on groups of rows.

    When the resampling clusters nest the groups (a goal image's rows always share one cluster),
    every row of a group carries the same weight, so this is the group's resampling count.
    """
    onehot = indicator_matrix(codes, n_groups)
    w = as_weights(weights, len(codes))
    size = onehot.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w @ onehot) / size


def stack_statistics(*statistics: Statistic) -> Statistic:
    """One statistic whose output concatenates several, so one bootstrap serves a whole table."""

    def stacked(frame: pd.DataFrame, weights: np.ndarray | None = None) -> np.ndarray:
        parts = [np.asarray(s(frame, weights), dtype=float) for s in statistics]
        return np.concatenate(parts, axis=-1)

    return stacked


def weighted_median(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Median of ``x`` (n,) under each row of frequency weights ``w`` (B, n): the smallest x whose
    cumulative weight reaches half the total (lower median). NaN where the weights are all 0."""
    x = np.asarray(x, float)
    w = np.atleast_2d(np.asarray(w, float))
    keep = np.isfinite(x)
    x, w = x[keep], w[:, keep]
    if x.size == 0:
        return np.full(w.shape[0], np.nan)
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[:, order], axis=1)
    total = cw[:, -1:]
    idx = np.minimum((cw < 0.5 * total).sum(axis=1), x.size - 1)
    out = x[order][idx]
    return np.where(total[:, 0] > 0, out, np.nan)


def weighted_ranks(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Mid-ranks of ``x`` (n,) in the sample that repeats row i w[b, i] times; (B, n)."""
    values, inverse = np.unique(np.asarray(x, float), return_inverse=True)
    onehot = np.zeros((len(x), len(values)))
    onehot[np.arange(len(x)), inverse] = 1.0
    per_value = w @ onehot  # (B, U) copies of each distinct value
    below = np.cumsum(per_value, axis=1) - per_value
    return (below + (per_value + 1.0) / 2.0)[:, inverse]


def weighted_spearman(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Spearman correlation (Pearson of mid-ranks) for each row of frequency weights (B, n)."""
    w = np.ones((1, len(x))) if w is None else np.atleast_2d(np.asarray(w, float))
    rx, ry = weighted_ranks(x, w), weighted_ranks(y, w)
    total = w.sum(axis=1, keepdims=True)
    mx, my = (w * rx).sum(1, keepdims=True) / total, (w * ry).sum(1, keepdims=True) / total
    cov = (w * (rx - mx) * (ry - my)).sum(1)
    with np.errstate(invalid="ignore", divide="ignore"):  # a constant replicate has no correlation: NaN
        return cov / np.sqrt((w * (rx - mx) ** 2).sum(1) * (w * (ry - my) ** 2).sum(1))


def weighted_slope(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Least-squares slope of y on x for each row of weights (B, n)."""
    total = w.sum(axis=1, keepdims=True)
    mx, my = (w * x).sum(1, keepdims=True) / total, (w * y).sum(1, keepdims=True) / total
    with np.errstate(invalid="ignore", divide="ignore"):
        return (w * (x - mx) * (y - my)).sum(1) / (w * (x - mx) ** 2).sum(1)


def _kendall_pair_matrices(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """S^x o S^y, |S^x| and |S^y| with the pair signs s^x_ij = sign(x_i - x_j)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    sx, sy = np.sign(x[:, None] - x[None, :]), np.sign(y[:, None] - y[None, :])
    return sx * sy, np.abs(sx), np.abs(sy)


def weighted_kendall(x: np.ndarray, y: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Kendall's tau-b for each row of frequency weights ``w`` (B, n): with the pair signs
    s^x_ij = sign(x_i - x_j), tau_b = w' (S^x o S^y) w / sqrt((w' |S^x| w)(w' |S^y| w)). Copies of a
    row are tied pairs, so integer weights give the tau-b of the sample that repeats each row."""
    w = np.ones((1, len(x))) if w is None else np.atleast_2d(np.asarray(w, float))
    concordance, untied_x, untied_y = (np.einsum("bi,bi->b", w @ m, w) for m in _kendall_pair_matrices(x, y))
    with np.errstate(invalid="ignore", divide="ignore"):
        return concordance / np.sqrt(untied_x * untied_y)


def kendall_cluster_sums(x: np.ndarray, y: np.ndarray, codes: np.ndarray, n_clusters: int) -> np.ndarray:
    """(3, G, G) pair sums of S^x o S^y, |S^x| and |S^y| (:func:`weighted_kendall`) between the rows
    of clusters g and h: with weights constant within clusters (a cluster bootstrap's counts c),
    w' M w = c' M_G c, so every replicate costs O(G^2) instead of O(n^2)."""
    cell = (np.asarray(codes)[:, None] * n_clusters + np.asarray(codes)[None, :]).ravel()
    return np.stack([np.bincount(cell, weights=m.ravel(), minlength=n_clusters**2).reshape(n_clusters, n_clusters)
                     for m in _kendall_pair_matrices(x, y)])


def kendall_from_cluster_sums(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """tau-b for each row of cluster weights ``counts`` (B, G) from :func:`kendall_cluster_sums`."""
    c = np.atleast_2d(np.asarray(counts, float))
    quad = [np.einsum("bg,bg->b", c @ m, c) for m in sums]
    with np.errstate(invalid="ignore", divide="ignore"):
        return quad[0] / np.sqrt(quad[1] * quad[2])
