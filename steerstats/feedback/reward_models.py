"""Coarse vs concept-bottleneck reward models on a feedback study, at one training size (the report's
compact version of ``steerstats budget --config analyses/budget_tifa160.toml``): each arm trained on
the whole training split, scored by held-out ROC-AUC with a cluster-bootstrap interval over test
prompts (the same draws for every arm, so contrasts are paired)."""

from __future__ import annotations

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


@dataclass(frozen=True)
class RewardComparison:
    """Held-out AUC per arm and the paired contrasts against the coarse model."""

    table: pd.DataFrame  # arm, kind, n_train, n_attributes, auc, auc_ci_low, auc_ci_high, weights
    contrasts: pd.DataFrame  # arm - coarse: diff, diff_ci_low, diff_ci_high
    n_boot: int
    level: float


def run_reward_comparison(data: FeedbackData, *, n_boot: int = 500, seed: int = 0, level: float = 0.95,
                          test_fraction: float = 0.25) -> RewardComparison:
    """Train :data:`ARMS` on ``data``'s training split (grouped by prompt) and score them."""
    from steerstats.budget.config import parse_config
    from steerstats.budget.runner import fit_one, make_split

    arms = [{"name": name, "kind": kind, "params": params,
             **({"attributes": [f"{vqa}_{c}" for c in CATEGORIES]} if vqa else {})} for name, kind, vqa, params in ARMS]
    config = parse_config({
        "budget": {"name": "report", "sizes": [1], "seeds": [seed], "n_boot": n_boot, "level": level},
        "data": {"source": "memory", "test_fraction": test_fraction, "seed": seed},
        "model": MODEL, "arm": arms,
    })
    split = make_split(data, config)
    n = len(split.train)
    records = [fit_one(config, split, arm, n, seed) for arm in config.arms]
    alpha = (1 - level) / 2
    table = pd.DataFrame([{"arm": r["arm"], "kind": r["kind"], "n_train": n, "n_test": len(split.test),
                           "n_attributes": r["n_attributes"], "auc": r["auc"], "auc_ci_low": r["ci_low"],
                           "auc_ci_high": r["ci_high"],
                           "weights": ", ".join(f"{k.split('_', 1)[1]} {v:+.2f}" for k, v in r.get("aggregator_weights", {}).items())}
                          for r in records])
    base = np.asarray(records[0]["replicates"])
    rows = []
    for r in records[1:]:
        diff = np.asarray(r["replicates"]) - base
        lo, hi = np.nanquantile(diff, [alpha, 1 - alpha])
        rows.append({"contrast": f"{r['arm']} - coarse", "diff": r["auc"] - records[0]["auc"],
                     "diff_ci_low": lo, "diff_ci_high": hi})
    return RewardComparison(table, pd.DataFrame(rows), n_boot, level)
