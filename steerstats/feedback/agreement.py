"""Meta-evaluation of automatic judges: how well does each scorer agree with the human judgement?

For each scorer s (an image-level score: a DSG score per VQA model and per category, CLIPScore,
TIFA scores, another human panel), over the images where both are observed:

    spearman_s = Spearman(s, human mean),   kendall_s = Kendall tau-b(s, human mean)

with percentile intervals from a cluster bootstrap over prompts (the five images of a prompt share
it, so they are not independent), and paired differences between scorers on the same replicates.
The five text-to-image models are ranked by their mean human rating and by each scorer's mean; the
rank agreement is Kendall's tau over the models.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot
from steerstats.metrics.weighted import (
    kendall_cluster_sums,
    kendall_from_cluster_sums,
    weighted_kendall,
    weighted_spearman,
)


@dataclass(frozen=True)
class Agreement:
    """What :func:`run_agreement` computed."""

    table: pd.DataFrame  # scorer_agreement: scorer, kind, n, spearman (+ CI, se), kendall (+ CI, se)
    differences: pd.DataFrame  # each scorer minus the best (by Spearman), paired CIs
    ranking: pd.DataFrame  # per scorer: Kendall tau of its model ranking with the humans', and the order
    n_boot: int
    seed: int
    level: float
    cluster: str
    human: str


def _statistic(frame: pd.DataFrame, scorers: Sequence[str], human: str, cluster: str):
    """[Spearman per scorer, Kendall per scorer] as a weighted statistic. Kendall uses cluster-level
    pair sums when the weights are constant within clusters (every cluster-bootstrap replicate)."""
    y = frame[human].to_numpy(float)
    codes, levels = pd.factorize(frame[cluster], sort=True)
    first = np.unique(codes, return_index=True)[1]
    masks = {s: np.isfinite(frame[s].to_numpy(float)) & np.isfinite(y) for s in scorers}
    sums = {s: kendall_cluster_sums(frame[s].to_numpy(float)[m], y[m], codes[m], len(levels)) for s, m in masks.items()}

    def statistic(_: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
        w = np.ones((1, len(frame))) if weights is None else np.atleast_2d(np.asarray(weights, float))
        counts = w[:, first]
        by_cluster = np.array_equal(w, counts[:, codes])
        parts = [weighted_spearman(frame[s].to_numpy(float)[masks[s]], y[masks[s]], w[:, masks[s]]) for s in scorers]
        for s in scorers:
            m = masks[s]
            parts.append(kendall_from_cluster_sums(sums[s], counts) if by_cluster
                         else weighted_kendall(frame[s].to_numpy(float)[m], y[m], w[:, m]))
        out = np.stack(parts, axis=-1)  # (B, 2 K): spearman per scorer, then kendall per scorer
        return out[0] if weights is None or np.ndim(weights) == 1 else out

    return statistic


def model_ranking(frame: pd.DataFrame, scorers: Sequence[str], human: str, model: str = "t2i_model") -> pd.DataFrame:
    """Per scorer: the models ordered by its mean (best first) and Kendall's tau with the humans' order."""
    from scipy.stats import kendalltau

    means = frame.groupby(model)[[human, *scorers]].mean()
    human_order = means[human].sort_values(ascending=False)
    rows = [{"scorer": "humans", "kendall_models": 1.0, "order": " > ".join(human_order.index)}]
    for s in scorers:
        tau = kendalltau(means[s], means[human]).statistic
        rows.append({"scorer": s, "kendall_models": float(tau),
                     "order": " > ".join(means[s].sort_values(ascending=False).index)})
    return pd.DataFrame(rows)


def run_agreement(
    frame: pd.DataFrame,
    scorers: Sequence[str],
    *,
    human: str = "human_mean",
    cluster: str = "prompt_id",
    kinds: dict[str, str] | None = None,
    references: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> Agreement:
    """Agreement of each scorer column of ``frame`` (one row per image) with ``human`` (module
    docstring). Differences are taken against the best of ``references`` by Spearman (default: of
    all scorers; pass the automatic ones to leave a second human panel out)."""
    from steerstats.uncertainty.bootstrap import cluster_bootstrap

    check_n_boot(n_boot)
    scorers = list(scorers)
    boot = cluster_bootstrap(_statistic(frame, scorers, human, cluster), frame, cluster, n_boot=n_boot, seed=seed, level=level)
    k = len(scorers)
    n = [int((np.isfinite(frame[s].to_numpy(float)) & np.isfinite(frame[human].to_numpy(float))).sum()) for s in scorers]
    n_clusters = [int(frame.loc[frame[s].notna(), cluster].nunique()) for s in scorers]
    table = pd.DataFrame({
        "scorer": scorers,
        "kind": [(kinds or {}).get(s, "") for s in scorers],
        "n": n,
        "n_prompts": n_clusters,
        "spearman": boot.estimate[:k], "spearman_se": boot.se[:k],
        "spearman_ci_low": boot.ci_low[:k], "spearman_ci_high": boot.ci_high[:k],
        "kendall": boot.estimate[k:], "kendall_se": boot.se[k:],
        "kendall_ci_low": boot.ci_low[k:], "kendall_ci_high": boot.ci_high[k:],
    })
    candidates = [scorers.index(r) for r in (references or scorers)]
    best = candidates[int(np.nanargmax(boot.estimate[:k][candidates]))]
    alpha = (1 - level) / 2
    rows = []
    for j, s in enumerate(scorers):
        for offset, stat in ((0, "spearman"), (k, "kendall")):
            diff = boot.replicates[:, offset + j] - boot.replicates[:, offset + best]
            lo, hi = np.nanquantile(diff, [alpha, 1 - alpha])
            rows.append({"scorer": s, "versus": scorers[best], "statistic": stat,
                         "difference": boot.estimate[offset + j] - boot.estimate[offset + best],
                         "difference_ci_low": lo, "difference_ci_high": hi})
    differences = pd.DataFrame(rows)
    return Agreement(table, differences, model_ranking(frame, scorers, human), n_boot, seed, level, cluster, human)
