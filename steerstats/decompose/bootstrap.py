"""Cluster bootstrap of the decomposition that refits the predictor in every replicate.

Clusters (steering users by default: in the release each goal is steered by one user, so
resampling users resamples goals too) are drawn with replacement *within each model*, keeping each
model's number of users fixed as in the design. A replicate is a vector of row weights (how often
the row's cluster was drawn); the cross-fitted ridge and the Monte Carlo averages are recomputed
with those weights. Replicate b uses ``default_rng([seed, b])``, so results do not depend on how
replicates are split across worker processes. Workers are separate processes (joblib/loky, which
spawns rather than forks: safe with JAX loaded in the parent).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm

from steerstats._parallel import parallel_map
from steerstats.config import check_n_boot
from steerstats.decompose.estimate import DecompositionData, estimate_terms


@dataclass(frozen=True)
class TermsInterval:
    """Estimate and interval of every term for every model: arrays (4, K)."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se: np.ndarray
    draws: np.ndarray  # (B, 4, K) replicates, posterior draws, or per-split estimates
    level: float
    method: str
    df: np.ndarray | None = None  # (4, K) degrees of freedom of t intervals


def replicate_weights(data: DecompositionData, seed: int, b: int) -> np.ndarray:
    """(n,) row weights of replicate ``b``: clusters resampled within each model."""
    rng = np.random.default_rng([seed, b])
    n_clusters = int(data.cluster.max()) + 1
    cluster_model = np.zeros(n_clusters, dtype=np.int64)
    cluster_model[data.cluster] = data.codes
    counts = np.zeros(n_clusters)
    for k in range(len(data.models)):
        members = np.flatnonzero(cluster_model == k)
        counts[members] = rng.multinomial(len(members), np.full(len(members), 1.0 / len(members)))
    return counts[data.cluster]


def _replicates(data: DecompositionData, seed: int, indices: list[int]) -> np.ndarray:
    return np.stack([estimate_terms(data, replicate_weights(data, seed, b)) for b in indices])


def bootstrap_terms(
    data: DecompositionData,
    *,
    n_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    n_jobs: int = 2,
    chunk: int = 10,
    progress: bool = True,
) -> TermsInterval:
    """Percentile intervals of the terms from ``n_boot`` cluster-bootstrap replicates, refitting
    mu (and the density ratios) in every replicate. Measured on the non-additive scenario (R = 200,
    28 users a model) they cover 0.97-0.99: conservative; the analytic interval of
    :func:`~steerstats.decompose.influence.influence_terms` is the default for the debiased
    estimator. This one also serves the additive estimator, which has no influence function here.
    """
    check_n_boot(n_boot)
    chunks = [list(range(i, min(i + chunk, n_boot))) for i in range(0, n_boot, chunk)]
    bar = tqdm(total=n_boot, desc="bootstrap (refit)", disable=not progress)
    parts: list[np.ndarray] = []
    for idx, part in zip(chunks, parallel_map(functools.partial(_replicates, data, seed), chunks, n_jobs), strict=True):
        parts.append(part)
        bar.update(len(idx))
    bar.close()
    draws = np.concatenate(parts)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    return TermsInterval(
        estimate=estimate_terms(data),
        ci_low=lo,
        ci_high=hi,
        se=draws.std(axis=0, ddof=1),
        draws=draws,
        level=level,
        method=f"cluster bootstrap, refit (B={n_boot})",
    )
