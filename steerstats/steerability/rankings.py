"""Model rankings across steerability metrics with bootstrap rank intervals (Vafa et al. Fig. 5).

Per metric, models are ranked by their mean (1 = most steerable): DreamSim and CLIP similarity
over all attempts (``steering``), the mean 4-point rating (``sat_ratings``) and the share of
judgements preferring the last attempt (``improvement``). Each metric's per-model means are
bootstrapped by resampling steering users (goals and their judgements nest in users; the headline
cluster of the similarity tables), each replicate's models ranked, and the rank interval is the
percentile interval of a model's replicate ranks. Ties share the average rank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from steerstats.config import check_n_boot
from steerstats.uncertainty import grouped_mean_bootstrap

#: metric -> (study attribute, value column, label)
RANK_METRICS = {
    "dreamsim": ("steering", "dreamsim", "DreamSim"),
    "clip": ("steering", "clip_similarity", "CLIP similarity"),
    "rating": ("sat_ratings", "rating", "rating (4-point)"),
    "improvement": ("improvement", "last_chosen", "improvement share"),
}
CLUSTER = "steering_user_id"


def _ranks(values: np.ndarray) -> np.ndarray:
    """Rank of each column within each row, 1 = largest, ties averaged; NaN rows stay NaN."""
    out = rankdata(-values, axis=-1, method="average")
    return np.where(np.isnan(values).any(axis=-1, keepdims=True), np.nan, out)


def model_rankings(study, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """One row per (metric, model): mean, its SE, rank and the rank's percentile interval."""
    check_n_boot(n_boot)
    alpha = (1 - level) / 2
    parts = []
    seeds = np.random.SeedSequence(seed).spawn(len(RANK_METRICS))
    for (metric, (attr, column, label)), ss in zip(RANK_METRICS.items(), seeds, strict=True):
        frame = getattr(study, attr, None)
        if frame is None or column not in frame.columns:
            continue
        data = frame.assign(_value=pd.to_numeric(frame[column].astype(float), errors="coerce"))
        res, models = grouped_mean_bootstrap(data, "_value", "model", CLUSTER, n_boot=n_boot,
                                             seed=int(ss.generate_state(1)[0]))
        reps = _ranks(res.replicates)
        lo, hi = np.nanquantile(reps, [alpha, 1 - alpha], axis=0)
        parts.append(pd.DataFrame({
            "metric": metric, "label": label, "model": models, "mean": res.estimate, "mean_se": res.se,
            "rank": _ranks(res.estimate[None, :])[0], "rank_ci_low": lo, "rank_ci_high": hi,
            "boot_share_rank_1": np.mean(reps == 1, axis=0), "n_models": len(models), "cluster": CLUSTER,
        }))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def rank_agreement(rankings: pd.DataFrame) -> pd.DataFrame:
    """Spearman correlation of the models' ranks between each pair of metrics (common models)."""
    wide = rankings.pivot(index="model", columns="metric", values="rank")
    rows = []
    metrics = [m for m in RANK_METRICS if m in wide.columns]
    for i, a in enumerate(metrics):
        for b in metrics[i + 1:]:
            both = wide[[a, b]].dropna()
            rho = spearmanr(both[a], both[b]).statistic if len(both) > 2 else np.nan
            rows.append({"metric_a": a, "metric_b": b, "n_models": len(both), "spearman": float(rho)})
    return pd.DataFrame(rows)
