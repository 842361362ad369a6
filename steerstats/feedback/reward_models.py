"""Coarse vs concept-bottleneck reward models on a feedback study: the report's compact version of
``steerstats budget --config analyses/budget_tifa160.toml`` (one training seed).

Three views, each from the budget sweep's own run (:func:`steerstats.budget.runner.fit_one`) and
summaries (:mod:`steerstats.budget.outputs`):

- the learning curve: every arm at training sizes ``sizes`` (whole prompts, nested subsets);
- the threshold sensitivity: every arm on the full training split with the aggregate binarised at
  each threshold of the human mean rating (the same grouped split at every threshold);
- the stage-2 aggregator weights with cluster-bootstrap intervals over training prompts.

Every AUC interval is a cluster bootstrap over test prompts with the same draws for every arm (and
threshold), so contrasts are paired.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.data.feedback_io import FeedbackData
from steerstats.data.tifa160 import CATEGORIES

#: the report's arms: (name, kind, VQA model whose category scores are the attributes, params)
ARMS = (
    ("coarse", "coarse", None, {}),
    ("cbm_pali17b", "cbm", "pali17b", {}),
    ("cbm_pali17b_joint", "cbm", "pali17b", {"mode": "joint"}),
    ("attributes_only_pali17b", "attributes", "pali17b", {}),
)
MODEL = {"hidden": [64], "epochs": 150, "learning_rate": 1e-3, "batch_size": 64}
#: training sizes of the learning curve (those below the training split's size, then the full split)
SIZES = (100, 200, 400)


@dataclass(frozen=True)
class RewardComparison:
    """Held-out AUC per arm along the learning curve and across thresholds, paired contrasts
    against the coarse model, and the aggregator weights."""

    table: pd.DataFrame  # at the full training split and the default threshold: arm, kind, n_train, ..., auc (+ CI)
    contrasts: pd.DataFrame  # arm - coarse per N: contrast, n, diff, diff_ci_low, diff_ci_high
    curve: pd.DataFrame  # summary_table: arm, n, auc, auc_ci_low, auc_ci_high, ...
    thresholds: pd.DataFrame  # threshold, share_good, arm, auc (+ CI), diff vs coarse (+ CI)
    weights: pd.DataFrame  # weights_table at the full split: arm, n, attribute, weight_mean, weight_ci_low/high
    n_boot: int
    weight_boot: int
    level: float
    threshold: float | None  # the aggregate's threshold of ``data`` (None: not stated)


def _config(sizes: Sequence[int], *, seed: int, n_boot: int, weight_boot: int, level: float,
            test_fraction: float):
    from steerstats.budget.config import parse_config

    arms = [{"name": name, "kind": kind, "params": params,
             **({"attributes": [f"{vqa}_{c}" for c in CATEGORIES]} if vqa else {})} for name, kind, vqa, params in ARMS]
    return parse_config({
        "budget": {"name": "report", "sizes": list(sizes), "seeds": [seed], "n_boot": n_boot, "level": level,
                   "weight_boot": weight_boot},
        "data": {"source": "memory", "test_fraction": test_fraction, "seed": seed},
        "model": MODEL, "arm": arms,
        "contrast": [{"a": name, "b": "coarse"} for name, *_ in ARMS[1:]],
    })


def run_reward_comparison(
    data: FeedbackData,
    *,
    sizes: Sequence[int] = SIZES,
    thresholds: Mapping[float, np.ndarray] | None = None,
    threshold: float | None = None,
    n_boot: int = 500,
    weight_boot: int = 200,
    seed: int = 0,
    level: float = 0.95,
    test_fraction: float = 0.25,
) -> RewardComparison:
    """Train :data:`ARMS` on ``data``'s training split (grouped by prompt) at each of ``sizes`` and
    the full split, and (``thresholds``: threshold -> aggregate per row of ``data``) on the full
    split for each other binarisation of the human judgement; ``threshold`` names ``data``'s own."""
    from steerstats.budget.outputs import contrast_table, summary_table, weights_table
    from steerstats.budget.runner import fit_one, make_split

    split = make_split(data, _config([1], seed=seed, n_boot=n_boot, weight_boot=weight_boot, level=level,
                                     test_fraction=test_fraction))
    n = len(split.train)
    config = _config(sorted({*(s for s in sizes if s < n), n}), seed=seed, n_boot=n_boot, weight_boot=weight_boot,
                     level=level, test_fraction=test_fraction)
    records = [fit_one(config, split, arm, size, seed) for size in config.sizes for arm in config.arms]
    full = [r for r in records if r["n"] == n]
    curve = summary_table(records, config)
    contrasts = contrast_table(records, config)
    table = pd.DataFrame([{"arm": r["arm"], "kind": r["kind"], "n_train": n, "n_test": len(split.test),
                           "n_attributes": r["n_attributes"], "auc": r["auc"], "auc_ci_low": r["ci_low"],
                           "auc_ci_high": r["ci_high"]} for r in full])
    by_threshold = {} if threshold is None else {float(threshold): full}
    share = {} if threshold is None else {float(threshold): float(np.mean(data.aggregate))}
    for t, aggregate in (thresholds or {}).items():
        share[float(t)] = float(np.mean(aggregate))
        if float(t) not in by_threshold:  # the same grouped split: it depends on the prompts only
            other = make_split(dataclasses.replace(data, aggregate=np.asarray(aggregate, int)), config)
            by_threshold[float(t)] = [fit_one(config, other, arm, n, seed) for arm in config.arms]
    parts = []
    for t in sorted(by_threshold):  # the sweep's own summaries, one threshold at a time (a single N)
        runs = by_threshold[t]
        part = summary_table(runs, config)[["arm", "auc", "auc_ci_low", "auc_ci_high"]]
        diffs = contrast_table(runs, config).assign(arm=lambda c: c["contrast"].str.removesuffix(" - coarse"))
        part = part.merge(diffs[["arm", "diff", "diff_ci_low", "diff_ci_high"]], on="arm", how="left")
        part["diff"] = part["diff"].fillna(0.0)  # the coarse model itself
        parts.append(part.assign(threshold=t, share_good=share[t]))
    sens = (pd.concat(parts, ignore_index=True).rename(columns={"diff": "diff_vs_coarse"})
            if parts else pd.DataFrame())
    sens = sens.reindex(columns=["threshold", "share_good", "arm", "auc", "auc_ci_low", "auc_ci_high",
                                 "diff_vs_coarse", "diff_ci_low", "diff_ci_high"])
    weights = weights_table(full, level)
    return RewardComparison(table=table, contrasts=contrasts, curve=curve, thresholds=sens,
                            weights=weights, n_boot=n_boot, weight_boot=weight_boot, level=level,
                            threshold=threshold)
