"""Cluster bootstrap, vectorised over replicates.

Resamples whole clusters with replacement (Davison & Hinkley 1997, sec. 3.8). For B replicates the
cluster draw counts c (B, G) are multinomial(G, 1/G) (drawn as G uniform cluster indices per
replicate); each row gets its cluster's count as weight, and the statistic (a weighted statistic,
see :mod:`steerstats.metrics.weighted`) is evaluated for all replicates in one call.

Two-way clustering (e.g. steering user x goal image) uses the pigeonhole / product-weights scheme
(McCullagh 2000; Owen 2007): users and goals are resampled independently and a row's weight is the
product of its user's and its goal's draw counts.

Intervals: percentile, and BCa (Efron 1987) with the acceleration estimated by the jackknife over
clusters (one cluster left out at a time; for several cluster factors, the multi-sample formula of
Davison & Hinkley eq. 3.18 sums the factors' jackknife influence terms).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from steerstats.config import check_n_boot
from steerstats.errors import InputError
from steerstats.metrics.weighted import ClusterCountWeights

Statistic = Callable[[pd.DataFrame, np.ndarray | None], np.ndarray]
METHODS = ("percentile", "bca")


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate, replicates and intervals of a (vector) statistic."""

    estimate: np.ndarray  # (k,)
    replicates: np.ndarray  # (B, k)
    se: np.ndarray  # (k,) sd of the replicates (ddof=1)
    ci_low: np.ndarray
    ci_high: np.ndarray
    level: float
    method: str  # "percentile" | "bca"
    cluster: tuple[str, ...]
    n_clusters: tuple[int, ...]
    seed: int


# ---------------------------------------------------------------------------- resampling weights


def cluster_counts(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(B, G) draw counts: each replicate draws G clusters uniformly with replacement.

    Equivalent to multinomial(G, 1/G) per row, but drawn as indices + one bincount (faster).
    """
    return _draw_counts(n_clusters, check_n_boot(n_boot), rng)


def _draw_counts(n_clusters: int, rows: int, rng: np.random.Generator) -> np.ndarray:
    """(rows, G) counts from ``rows`` x G uniform indices (any rows >= 1: a chunk of replicates)."""
    idx = rng.integers(0, n_clusters, size=(rows, n_clusters), dtype=np.int64)
    idx += (np.arange(rows, dtype=np.int64) * n_clusters)[:, None]
    return np.bincount(idx.ravel(), minlength=rows * n_clusters).reshape(rows, n_clusters)


#: cluster-count entries (replicates x clusters) drawn at once: bounds the draws' memory
MAX_COUNT_CELLS = 1 << 20  # 8 MiB of int64 counts (a chunk peaks at ~3x: indices, counts, float copy)


def count_chunks(n_clusters: int, n_boot: int, rng: np.random.Generator, size: int | None = None):
    """``(slice of replicates, (b, G) counts)`` in chunks of ``size`` replicates (default: at most
    :data:`MAX_COUNT_CELLS` entries). The rows are drawn one after another from ``rng``, so the
    concatenated chunks equal :func:`cluster_counts` for any chunk size."""
    n_boot = check_n_boot(n_boot)
    size = int(size or max(1, MAX_COUNT_CELLS // max(n_clusters, 1)))
    for start in range(0, n_boot, size):
        b = min(size, n_boot - start)
        yield slice(start, start + b), _draw_counts(n_clusters, b, rng)


def factor_generators(seed: int, n_factors: int) -> list[np.random.Generator]:
    """One generator per cluster factor: the first is ``default_rng(seed)`` (so one-way draws are
    those of :func:`grouped_mean_bootstrap`), factor j >= 1 has its own stream
    ``SeedSequence([seed, j])``, so each factor's draws can be made chunk by chunk."""
    return [np.random.default_rng(seed)] + [np.random.default_rng(np.random.SeedSequence([seed, j]))
                                             for j in range(1, n_factors)]


def cluster_weights(codes: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(B, n) row weights: each row gets the number of times its cluster was drawn."""
    n_clusters = int(codes.max()) + 1
    return cluster_counts(n_clusters, n_boot, rng)[:, codes].astype(float)


def product_weights(codes: Sequence[np.ndarray], n_boot: int, seed: int) -> np.ndarray:
    """(B, n) pigeonhole weights: product over factors of the row's cluster draw counts, factor j
    drawn from :func:`factor_generators` (the draws of :func:`cluster_bootstrap` for ``seed``).
    Materialises B x n: for inspection and tests; the bootstrap itself works in chunks."""
    w = np.ones((check_n_boot(n_boot), len(codes[0])))
    for rng, c in zip(factor_generators(seed, len(codes)), codes, strict=True):
        w *= cluster_counts(int(c.max()) + 1, n_boot, rng)[:, c]
    return w


# ---------------------------------------------------------------------------- intervals


def percentile_interval(replicates: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Equal-tailed percentile interval of the replicates (B, k), ignoring NaN replicates."""
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(replicates, [alpha, 1.0 - alpha], axis=0)
    return lo, hi


def jackknife_acceleration(jackknife: Sequence[np.ndarray]) -> np.ndarray:
    """BCa acceleration a from leave-one-cluster-out estimates, one (G_f, k) array per factor.

    With jackknife influence values U_fi = (G_f - 1)(mean_j theta_f(j) - theta_f(i)) of factor f,
    a = sum_f G_f^-3 sum_i U_fi^3 / (6 (sum_f G_f^-2 sum_i U_fi^2)^{3/2}) (Davison & Hinkley 1997,
    eq. 3.18, the multi-sample form: each factor's terms on the scale of its own G_f). For one
    factor the G factors cancel to sum U^3 / (6 (sum U^2)^{3/2}). Without the G_f scaling, a factor
    with many clusters swamps one with few and a shrinks towards 0.
    """
    num = 0.0
    den = 0.0
    for theta in jackknife:
        theta = np.asarray(theta, dtype=float)
        g = theta.shape[0]
        u = (g - 1) * (np.nanmean(theta, axis=0) - theta)
        num = num + np.nansum(u**3, axis=0) / float(g) ** 3
        den = den + np.nansum(u**2, axis=0) / float(g) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / (6.0 * den**1.5), 0.0)


def bca_interval(
    replicates: np.ndarray,
    estimate: np.ndarray,
    acceleration: np.ndarray,
    level: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Bias-corrected and accelerated interval (Efron 1987; Efron & Tibshirani 1993, ch. 14).

    z0 = Phi^-1(#{theta*_b < theta_hat} / B); the alpha quantiles are moved to
    Phi(z0 + (z0 + z_alpha) / (1 - a (z0 + z_alpha))). Replicates equal to theta_hat (up to
    rounding: discrete statistics, few clusters) count one half. NaN replicates are left out.
    """
    reps = np.asarray(replicates, dtype=float)
    est = np.asarray(estimate, dtype=float)
    valid = np.isfinite(reps)
    n_valid = valid.sum(axis=0)
    tie = np.isclose(reps, est, rtol=1e-12, atol=1e-15) & valid
    below = (reps < est) & valid & ~tie
    with np.errstate(invalid="ignore", divide="ignore"):
        z0 = ndtri((below.sum(axis=0) + 0.5 * tie.sum(axis=0)) / n_valid)
    alpha = (1.0 - level) / 2.0
    lo = np.full(est.shape, np.nan)
    hi = np.full(est.shape, np.nan)
    for j in range(est.shape[0]):  # loop over the k statistics, not the replicates
        col = reps[valid[:, j], j]
        if col.size == 0 or not np.isfinite(z0[j]):
            continue
        za = ndtri(np.array([alpha, 1.0 - alpha]))
        adj = ndtr(z0[j] + (z0[j] + za) / (1.0 - acceleration[j] * (z0[j] + za)))
        lo[j], hi[j] = np.quantile(col, adj)
    return lo, hi


# ---------------------------------------------------------------------------- generic bootstrap


def cluster_factor_codes(data: pd.DataFrame, cluster: str | Sequence[str]) -> tuple[tuple[str, ...], list[np.ndarray]]:
    """(names, integer codes per factor) of one or two cluster columns; missing ids are errors."""
    names = (cluster,) if isinstance(cluster, str) else tuple(cluster)
    if not 1 <= len(names) <= 2:
        raise InputError(f"cluster must name one or two columns, got {len(names)}")
    codes = []
    for name in names:
        if name not in data.columns:
            raise InputError("cluster column missing from the data", column=name)
        c, _ = pd.factorize(data[name], sort=True)
        if (c < 0).any():
            row = int(np.flatnonzero(c < 0)[0]) + 1
            raise InputError("missing cluster id", row=row, column=name)
        codes.append(c)
    return names, codes


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise InputError(f"unknown bootstrap method {method!r}; use one of {', '.join(METHODS)}")


def _result(
    estimate: np.ndarray,
    reps: np.ndarray,
    *,
    level: float,
    method: str,
    jackknife: Callable[[], list[np.ndarray]],
    cluster: tuple[str, ...],
    n_clusters: tuple[int, ...],
    seed: int,
) -> BootstrapResult:
    """SE and interval (percentile, or BCa with the jackknife run only then) of the replicates."""
    if method == "percentile":
        lo, hi = percentile_interval(reps, level)
    else:
        lo, hi = bca_interval(reps, estimate, jackknife_acceleration(jackknife()), level)
    return BootstrapResult(
        estimate=estimate,
        replicates=reps,
        se=np.nanstd(reps, axis=0, ddof=1),
        ci_low=lo,
        ci_high=hi,
        level=level,
        method=method,
        cluster=cluster,
        n_clusters=n_clusters,
        seed=seed,
    )


MAX_WEIGHT_CELLS = 1 << 22  # (rows x replicates) weight entries held at once (32 MiB)


def _evaluate_in_chunks(
    statistic: Statistic, data: pd.DataFrame, total: int, weights_for: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """statistic(data, W) for W = weights_for(rows), rows in chunks bounding memory -> (total, k)."""
    size = max(1, MAX_WEIGHT_CELLS // max(len(data), 1))
    parts = []
    for start in range(0, total, size):
        rows = np.arange(start, min(start + size, total))
        parts.append(np.asarray(statistic(data, weights_for(rows)), dtype=float).reshape(len(rows), -1))
    return np.concatenate(parts, axis=0)


def cluster_bootstrap(
    statistic: Statistic,
    data: pd.DataFrame,
    cluster: str | Sequence[str],
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    method: str = "percentile",
) -> BootstrapResult:
    """Cluster bootstrap of ``statistic(data, weights)``, all replicates per call (B x n weight
    matrices, in chunks of at most ``MAX_WEIGHT_CELLS`` entries so memory stays bounded). One-way
    weights (and the jackknife's leave-one-cluster-out weights) come factored as
    :class:`~steerstats.metrics.weighted.ClusterCountWeights`: ``W @ X`` costs O(B G), not O(B n).

    ``cluster`` is one column (one-way) or a list of two (two-way, product weights). ``method``
    picks the interval: "percentile" or "bca" (jackknife over clusters for the acceleration).
    """
    _check_method(method)
    n_boot = check_n_boot(n_boot)
    names, codes = cluster_factor_codes(data, cluster)
    rngs = factor_generators(seed, len(codes))
    sizes = [int(c.max()) + 1 for c in codes]
    estimate = np.atleast_1d(np.asarray(statistic(data, None), dtype=float))
    # replicates in chunks: each factor's counts drawn for the chunk from its own stream (so the
    # replicates do not depend on the chunking), then the chunk's (b, n) product weights
    chunk = max(1, min(MAX_WEIGHT_CELLS // max(len(data), 1), MAX_COUNT_CELLS // max(sizes)))
    parts = []
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        if len(codes) == 1:  # one-way: W = counts[:, codes] kept factored (W @ X = counts @ cluster sums)
            w = ClusterCountWeights(_draw_counts(sizes[0], b, rng=rngs[0]), codes[0])
        else:
            w = None
            for rng, g, c in zip(rngs, sizes, codes, strict=True):
                factor = np.take(_draw_counts(g, b, rng).astype(float), c, axis=1)
                w = factor if w is None else np.multiply(w, factor, out=w)
        parts.append(np.asarray(statistic(data, w), dtype=float).reshape(b, -1))
    reps = np.concatenate(parts, axis=0)

    def jackknife() -> list[np.ndarray]:
        out = []
        for c in codes:
            g = int(c.max()) + 1
            # (chunk, n) leave-one-cluster-out weights, factored: (chunk, G) cluster indicators
            out.append(
                _evaluate_in_chunks(
                    statistic, data, g,
                    lambda rows, c=c, g=g: ClusterCountWeights(np.arange(g)[None, :] != rows[:, None], c),
                )
            )
        return out

    return _result(
        estimate,
        reps,
        level=level,
        method=method,
        jackknife=jackknife,
        cluster=names,
        n_clusters=tuple(int(c.max()) + 1 for c in codes),
        seed=seed,
    )


# ---------------------------------------------------------------------------- grouped-mean fast path


def cluster_group_sums(
    x: np.ndarray, cluster_codes: np.ndarray, group_codes: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Sufficient statistics of per-group means: (G, K) sums of x and counts per cluster x group."""
    g = int(cluster_codes.max()) + 1
    flat = cluster_codes * n_groups + group_codes
    sums = np.bincount(flat, weights=x, minlength=g * n_groups).reshape(g, n_groups)
    counts = np.bincount(flat, minlength=g * n_groups).reshape(g, n_groups).astype(float)
    return sums, counts


def grouped_mean_bootstrap(
    data: pd.DataFrame,
    value: str,
    group: str | None,
    cluster: str,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    method: str = "percentile",
    pooled: bool = False,
) -> tuple[BootstrapResult, list]:
    """Fast one-way cluster bootstrap of the per-group mean of ``value`` (e.g. DreamSim by model).

    Replicate b of group k is (c_b @ S[:, k]) / (c_b @ N[:, k]) with S, N the cluster x group sums
    and counts, so B replicates cost one (B, G) x (G, 2K) product, done in chunks of replicates
    (memory O(chunk x G), never O(B x G); :func:`count_chunks`). Same seed -> the same cluster
    draws (hence the same replicates) as :func:`cluster_bootstrap` with a weighted group mean.
    Returns the result and the group levels (sorted; ``pooled`` adds a last "all rows" column).
    """
    _check_method(method)
    for col in (value, cluster, *([group] if group else [])):
        if col not in data.columns:
            raise InputError("column missing from the data", column=col)
    x = pd.to_numeric(data[value], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(x).all():
        row = int(np.flatnonzero(~np.isfinite(x))[0]) + 1
        raise InputError("value is missing or not a number", row=row, column=value)
    _, (ccodes,) = cluster_factor_codes(data, cluster)
    if group is None:
        gcodes, levels = np.zeros(len(x), dtype=np.int64), ["all"]
    else:
        gcodes, found = pd.factorize(data[group], sort=True)
        if (gcodes < 0).any():
            row = int(np.flatnonzero(gcodes < 0)[0]) + 1
            raise InputError("missing group label", row=row, column=group)
        levels = list(found)
    sums, counts = cluster_group_sums(x, ccodes, gcodes, len(levels))
    if pooled and group is not None:
        sums = np.column_stack([sums, sums.sum(axis=1)])
        counts = np.column_stack([counts, counts.sum(axis=1)])
        levels.append("all")
    rng = np.random.default_rng(seed)
    k = sums.shape[1]
    stacked = np.hstack([sums, counts])  # one product per chunk: [c @ S | c @ N]
    reps = np.empty((check_n_boot(n_boot), k))
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = sums.sum(axis=0) / counts.sum(axis=0)
        for rows, c in count_chunks(sums.shape[0], n_boot, rng):
            both = c.astype(float) @ stacked
            reps[rows] = both[:, :k] / both[:, k:]

    def jackknife() -> list[np.ndarray]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return [(sums.sum(axis=0) - sums) / (counts.sum(axis=0) - counts)]

    result = _result(
        estimate,
        reps,
        level=level,
        method=method,
        jackknife=jackknife,
        cluster=(cluster,),
        n_clusters=(sums.shape[0],),
        seed=seed,
    )
    return result, levels
