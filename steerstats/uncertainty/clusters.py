"""Cluster structure of a design, and analytic cluster-robust standard errors.

:func:`cluster_structure` reads a frame's id columns (steering user, goal image, rater) and says
which are nested in which and which are crossed; :func:`headline_cluster` turns that into the
cluster(s) a table's headline SE must use:

- nested factors (every goal image steered by one user): the outermost factor alone; clustering on
  an inner factor ignores the correlation between its clusters within an outer one;
- two crossed factors (raters judge many users' images, users are judged by many raters): both,
  with the Cameron-Gelbach-Miller two-way variance.

:func:`cluster_robust_se` gives CR1 one-way and CGM two-way SEs (Cameron, Gelbach & Miller 2011,
J. Bus. Econ. Stat. 29(2)) for any smooth weighted statistic ``statistic(frame, weights)`` (a mean,
a difference of means, a ratio): the per-cluster score s_g is the derivative of the statistic in
the direction of cluster g's rows (for a mean of group k, s_g = sum_{i in g, k} (x_i - mean_k) /
n_k), computed by a central difference of the statistic at weights 1 +- h 1_g in one batched call.

    V_CR1(A)  = G_A / (G_A - 1) * sum_g s_g s_g'                    (one-way)
    V_CGM     = V_CR1(A) + V_CR1(B) - V_CR1(A x B)                  (two-way; each term its own G)

G counts the clusters that touch the component (so a per-model mean uses the clusters of that
model, as an intercept-only regression on that model's rows would). A negative CGM variance (a
small-sample artefact) is replaced by the larger one-way variance, and flagged. Small numbers of
clusters: :func:`critical_value` gives the t(G - 1) quantile below 50 clusters.

Statistics that are not functions of row weights (the exact majority-vote rate pools a goal's
raters into votes first) get :func:`jackknife_robust_se`: the same CGM combination of
delete-one-cluster jackknife variances V_J = (G - 1)/G sum_c (theta_(c) - mean theta_(.))^2
(CV3; MacKinnon, Nielsen & Webb 2021), from a ``leave_out`` function that recomputes the
statistic without each cluster.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm, t

from steerstats.errors import InputError
from steerstats.metrics.weighted import ClusterCountWeights
from steerstats.uncertainty.bootstrap import cluster_factor_codes

Statistic = Callable[[pd.DataFrame, np.ndarray | None], np.ndarray]
#: below this many clusters intervals use a t(G - 1) reference instead of the normal
SMALL_CLUSTERS = 50


@dataclass(frozen=True)
class ClusterStructure:
    """How id columns relate: ``nested[(a, b)]`` is True when every level of ``a`` sits in one
    level of ``b`` (a nested in b); a pair neither of which is nested in the other is crossed."""

    columns: tuple[str, ...]
    n_levels: dict[str, int]
    nested: dict[tuple[str, str], bool] = field(default_factory=dict)

    def is_nested(self, inner: str, outer: str) -> bool:
        return self.nested.get((inner, outer), False)

    def crossed(self, a: str, b: str) -> bool:
        return not self.is_nested(a, b) and not self.is_nested(b, a)

    def describe(self) -> str:
        parts = []
        for i, a in enumerate(self.columns):
            for b in self.columns[i + 1:]:
                if self.is_nested(a, b) and self.is_nested(b, a):
                    parts.append(f"{a} = {b}")
                elif self.is_nested(a, b):
                    parts.append(f"{a} nested in {b}")
                elif self.is_nested(b, a):
                    parts.append(f"{b} nested in {a}")
                else:
                    parts.append(f"{a} x {b} crossed")
        return "; ".join(parts) or f"one factor ({', '.join(self.columns)})"


def cluster_structure(frame: pd.DataFrame, columns: Sequence[str]) -> ClusterStructure:
    """The nesting relations among the id ``columns`` of ``frame`` (columns absent are skipped)."""
    cols = tuple(c for c in columns if c in frame.columns)
    codes = {c: pd.factorize(frame[c], sort=True)[0] for c in cols}
    nested = {}
    for a in cols:
        for b in cols:
            if a == b:
                continue
            pairs = pd.DataFrame({"a": codes[a], "b": codes[b]}).drop_duplicates()
            nested[(a, b)] = bool(pairs["a"].is_unique)  # each level of a meets one level of b
    return ClusterStructure(cols, {c: int(codes[c].max()) + 1 if len(codes[c]) else 0 for c in cols}, nested)


@dataclass(frozen=True)
class HeadlineCluster:
    """The cluster(s) of a headline SE and why: one factor (nested design) or two (crossed)."""

    factors: tuple[str, ...]
    method: str  # "cluster bootstrap" (one factor) | "CGM two-way" (two crossed factors)
    reason: str


def headline_cluster(structure: ClusterStructure) -> HeadlineCluster:
    """Outermost factor of a nested design; the two outermost crossed factors otherwise."""
    cols = list(structure.columns)
    if not cols:
        raise InputError("no cluster id column found for the headline SE")
    # a factor nested in another (and not equal to it) is inner: drop it
    outer = [a for a in cols if not any(structure.is_nested(a, b) and not structure.is_nested(b, a) for b in cols if b != a)]
    unique: list[str] = []
    for a in outer:  # identical factors (a = b) count once
        if not any(structure.is_nested(a, b) and structure.is_nested(b, a) for b in unique):
            unique.append(a)
    if len(unique) == 1:
        inner = [c for c in cols if c != unique[0]]
        why = f"{', '.join(inner)} nested in {unique[0]}" if inner else f"one factor {unique[0]}"
        return HeadlineCluster((unique[0],), "cluster bootstrap", why)
    a, b = unique[:2]
    return HeadlineCluster((a, b), "CGM two-way", f"{a} x {b} crossed")


@dataclass(frozen=True)
class RobustSE:
    """Analytic cluster-robust SEs of a vector statistic."""

    estimate: np.ndarray
    se: np.ndarray
    n_clusters: np.ndarray  # (k,) the smallest G among the factors, per component
    method: str  # "CR1" | "CGM two-way"
    cluster: tuple[str, ...]
    fallback: np.ndarray  # (k,) True where the CGM variance was negative (larger one-way used)

    def critical(self, level: float = 0.95) -> np.ndarray:
        return critical_value(level, self.n_clusters)


def critical_value(level: float, n_clusters: np.ndarray | int) -> np.ndarray:
    """Two-sided quantile: t(G - 1) below :data:`SMALL_CLUSTERS` clusters, else normal."""
    g = np.asarray(n_clusters, dtype=float)
    q = 0.5 + level / 2.0
    with np.errstate(invalid="ignore"):
        tq = t.ppf(q, np.maximum(g - 1, 1))
    return np.where(g < SMALL_CLUSTERS, tq, norm.ppf(q))


def cluster_scores(statistic: Statistic, data: pd.DataFrame, codes: np.ndarray, *, h: float = 1e-4) -> np.ndarray:
    """(G, k) derivative of the statistic in the direction of each cluster's rows (central
    difference at weights 1 +- h on the cluster's rows; exact up to O(h^2)). The perturbed weights
    go to the statistic factored (:class:`~steerstats.metrics.weighted.ClusterCountWeights`)."""
    g = int(codes.max()) + 1
    scores = []
    block = max(1, (1 << 24) // max(len(data), 1) // 2)
    for start in range(0, g, block):
        stop = min(start + block, g)
        b = stop - start
        counts = np.ones((2 * b, g))  # row r: weight 1 + h on cluster start + r; row b + r: 1 - h
        counts[np.arange(b), np.arange(start, stop)] = 1.0 + h
        counts[b + np.arange(b), np.arange(start, stop)] = 1.0 - h
        vals = np.asarray(statistic(data, ClusterCountWeights(counts, codes)), dtype=float).reshape(2 * b, -1)
        scores.append((vals[:b] - vals[b:]) / (2 * h))
    return np.concatenate(scores)


def _cr1(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """CR1 variance per component and the number of clusters touching it."""
    touched = np.abs(scores) > 1e-12 * np.maximum(np.abs(scores).max(axis=0, initial=0.0), 1e-300)
    g = touched.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        factor = np.where(g > 1, g / (g - 1), np.nan)
    return factor * (scores**2).sum(axis=0), g


def cluster_robust_se(
    statistic: Statistic,
    data: pd.DataFrame,
    cluster: str | Sequence[str],
) -> RobustSE:
    """CR1 (one column) or CGM two-way (two columns) SE of every component of ``statistic``."""
    names, codes = cluster_factor_codes(data, cluster)
    estimate = np.atleast_1d(np.asarray(statistic(data, None), dtype=float))
    var_a, g_a = _cr1(cluster_scores(statistic, data, codes[0]))
    if len(codes) == 1:
        return RobustSE(estimate, np.sqrt(var_a), g_a, "CR1", names, np.zeros(estimate.shape, bool))
    var_b, g_b = _cr1(cluster_scores(statistic, data, codes[1]))
    both, _ = pd.factorize(pd.Series(codes[0]).astype(str) + "|" + pd.Series(codes[1]).astype(str))
    var_ab, _ = _cr1(cluster_scores(statistic, data, both))
    var = var_a + var_b - var_ab
    fallback = var < 0
    var = np.where(fallback, np.maximum(var_a, var_b), var)
    return RobustSE(estimate, np.sqrt(var), np.minimum(g_a, g_b), "CGM two-way", names, fallback)


#: row cluster codes -> ((G, k) statistic with each cluster left out, (G, k) True where cluster c has rows in component j)
LeaveOut = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def _jackknife_variance(leave_out: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Delete-one-cluster jackknife variance (G - 1) / G sum_c (theta_(c) - mean theta_(.))^2 per
    component over the G clusters that have rows in it (leaving another out does not change it), and G.
    A component that a cluster's removal empties (theta_(c) undefined) has no jackknife variance."""
    values, touched = leave_out
    touched = np.asarray(touched, bool)
    g = touched.sum(axis=0).astype(float)
    mean = np.where(touched, values, 0.0).sum(axis=0) / np.maximum(g, 1)
    ss = np.where(touched, (values - mean) ** 2, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(g > 1, (g - 1) / g * ss, np.nan), g


def jackknife_robust_se(
    leave_out: LeaveOut,
    estimate: np.ndarray,
    data: pd.DataFrame,
    cluster: str | Sequence[str],
) -> RobustSE:
    """Cluster jackknife (CV3) one-way SE, or the CGM two-way combination of jackknife variances
    V_J(A) + V_J(B) - V_J(A x B) (MacKinnon, Nielsen & Webb 2021), for statistics that are not
    functions of row weights: ``leave_out(codes)`` returns the (G, k) statistic with each cluster
    of the row ``codes`` left out in turn and which clusters have rows in each component (e.g.
    :func:`steerstats.metrics.majority_rate_leave_out`, where leaving a rater out changes the vote
    counts of every group they judged). A negative CGM
    variance is replaced by the larger one-way variance, and flagged."""
    names, codes = cluster_factor_codes(data, cluster)
    estimate = np.atleast_1d(np.asarray(estimate, dtype=float))
    var_a, g_a = _jackknife_variance(leave_out(codes[0]))
    if len(codes) == 1:
        return RobustSE(estimate, np.sqrt(var_a), g_a, "jackknife", names, np.zeros(estimate.shape, bool))
    var_b, g_b = _jackknife_variance(leave_out(codes[1]))
    both, _ = pd.factorize(pd.Series(codes[0]).astype(str) + "|" + pd.Series(codes[1]).astype(str))
    var_ab, _ = _jackknife_variance(leave_out(np.asarray(both)))
    var = var_a + var_b - var_ab
    fallback = var < 0
    var = np.where(fallback, np.maximum(var_a, var_b), var)
    return RobustSE(estimate, np.sqrt(var), np.minimum(g_a, g_b), "CGM two-way jackknife", names, fallback)
