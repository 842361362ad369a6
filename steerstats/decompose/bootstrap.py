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
from steerstats.decompose.estimate import DecompositionData, estimate_terms


@dataclass(frozen=True)
class TermsInterval:
    """Estimate and interval of every term for every model: arrays (4, K)."""

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    se: np.ndarray
    draws: np.ndarray  # (B, 4, K) replicates or posterior draws
    level: float
    method: str


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


def _fixed_nuisance_bootstrap(data: DecompositionData, *, n_boot: int, seed: int, level: float) -> TermsInterval:
    from steerstats.decompose.estimate import crossfit_mu, riesz_weights
    from steerstats.decompose.terms import debiased_terms

    mu, _ = crossfit_mu(data)
    riesz = riesz_weights(data)
    estimate = debiased_terms(data.y, data.codes, mu, data.reference, riesz)
    draws = np.stack([
        debiased_terms(data.y, data.codes, mu, data.reference, riesz, replicate_weights(data, seed, b))
        for b in range(n_boot)
    ])
    alpha = (1.0 - level) / 2.0
    lo, hi = np.quantile(draws, [alpha, 1.0 - alpha], axis=0)
    return TermsInterval(
        estimate=estimate, ci_low=lo, ci_high=hi, se=draws.std(axis=0, ddof=1), draws=draws, level=level,
        method=f"cluster bootstrap, cross-fitted nuisances fixed (B={n_boot})",
    )


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
    refit: bool | None = None,
) -> TermsInterval:
    """Percentile intervals of the terms from ``n_boot`` cluster-bootstrap replicates.

    ``refit`` (default True): refit mu (and the density ratios) in every replicate; False
    resamples only the final averages with the cross-fitted nuisances held fixed (debiased
    estimator only; ~100x cheaper, valid to first order by Neyman orthogonality, Chernozhukov et
    al. 2018). Measured on the non-additive scenario (R = 60, 28 users a model) the fixed-nuisance
    intervals cover 0.83-0.97 and the refit ones 0.97-0.99 (R = 200): refit is the default, the
    fixed one is for exploration.
    """
    if refit is None:
        refit = True
    if not refit:
        if data.estimator == "additive":
            from steerstats.errors import ConfigError

            raise ConfigError("the fixed-nuisance bootstrap needs the debiased (interacted) estimator")
        return _fixed_nuisance_bootstrap(data, n_boot=n_boot, seed=seed, level=level)
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
