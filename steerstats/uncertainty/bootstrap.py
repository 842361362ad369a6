"""Cluster bootstrap (first version; issue 3 extends it: BCa, two-way, fast paths, benchmark).

Resamples whole clusters with replacement. For B replicates the cluster draw counts c (B, G) are
multinomial(G, 1/G); each row gets its cluster's count as weight, and the statistic (see
:mod:`steerstats.metrics.weighted`) is evaluated for all replicates at once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

Statistic = Callable[[pd.DataFrame, np.ndarray | None], np.ndarray]


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


def cluster_weights(codes: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(B, n) row weights: each row gets the number of times its cluster was drawn."""
    n_clusters = int(codes.max()) + 1
    counts = rng.multinomial(n_clusters, np.full(n_clusters, 1.0 / n_clusters), size=n_boot)
    return counts[:, codes].astype(float)


def cluster_bootstrap(
    statistic: Statistic,
    data: pd.DataFrame,
    cluster: str,
    *,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> BootstrapResult:
    """One-way cluster bootstrap of ``statistic(data, weights)``; percentile interval."""
    codes, _ = pd.factorize(data[cluster], sort=True)
    rng = np.random.default_rng(seed)
    estimate = np.atleast_1d(np.asarray(statistic(data, None), dtype=float))
    reps = np.asarray(statistic(data, cluster_weights(codes, n_boot, rng)), dtype=float)
    reps = reps.reshape(n_boot, -1)
    alpha = (1.0 - level) / 2.0
    lo, hi = np.nanquantile(reps, [alpha, 1.0 - alpha], axis=0)
    return BootstrapResult(
        estimate=estimate,
        replicates=reps,
        se=np.nanstd(reps, axis=0, ddof=1),
        ci_low=lo,
        ci_high=hi,
        level=level,
        method="percentile",
        cluster=(cluster,),
        n_clusters=(int(codes.max()) + 1,),
        seed=seed,
    )
