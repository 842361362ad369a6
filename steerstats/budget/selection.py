"""Cost-aware attribute selection: which fine-grained attributes to elicit under a budget.

Greedy forward selection on a pilot split (Collins et al. 2024, "Which attributes to elicit?"):
starting from no attributes (AUC(empty) = 1/2: a bottleneck without concepts ranks nothing), at each
step fit a sequential CBM on the picked attributes S plus each affordable candidate j and pick the j
with the largest

    (AUC(S + j) - AUC(S)) / c_j       (validation ROC-AUC gain per unit cost),

until the per-example budget is spent or no candidate improves the validation AUC. The coarse model
(aggregate label only, always bought) is fit on the same split as the reference: ``beats_coarse``
says whether buying the picked attributes pays off at all on the pilot.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit

from steerstats.data.feedback_io import FeedbackData
from steerstats.errors import ConfigError
from steerstats.models.coarse import CoarseRewardModel
from steerstats.models.concept_bottleneck import ConceptBottleneckRewardModel


def greedy_attribute_selection(
    data: FeedbackData,
    candidates: tuple[str, ...],
    costs: dict[str, float],
    budget: float,
    *,
    model_params: dict[str, Any] | None = None,
    validation_fraction: float = 0.5,
    seed: int = 0,
) -> pd.DataFrame:
    """Greedy picks: step, attribute, cost, cumulative_cost, auc, gain, gain_per_cost, beats_coarse.

    Step 0 is the coarse reference model (not a pick). ``costs`` are per-example costs of each candidate (same unit as
    ``budget``); the aggregate label's cost is outside the budget.
    """
    missing = [a for a in candidates if a not in costs]
    if missing:
        raise ConfigError(f"no cost for candidate attributes {missing}")
    if any(costs[a] <= 0 for a in candidates):
        raise ConfigError("attribute costs must be > 0")
    params = dict(model_params or {})
    split = GroupShuffleSplit(n_splits=1, test_size=validation_fraction, random_state=seed)
    tr, va = next(split.split(np.zeros(len(data)), groups=data.group))
    train, val = data.take(tr), data.take(va)
    coarse_params = {k: v for k, v in params.items() if k in CoarseRewardModel().get_params()}
    base = CoarseRewardModel(**coarse_params, random_state=seed)
    base.fit(train.embeddings, train.aggregate, groups=train.group)
    coarse_auc = base.score(val.embeddings, val.aggregate)
    rows = [{"step": 0, "attribute": "(coarse reference)", "cost": 0.0, "cumulative_cost": 0.0,
             "auc": coarse_auc, "gain": float("nan"), "gain_per_cost": float("nan"),
             "beats_coarse": False}]
    current = 0.5
    picked: list[str] = []
    spent = 0.0
    while True:
        best = None
        for a in candidates:
            if a in picked or spent + costs[a] > budget:
                continue
            attrs = (*picked, a)
            model = ConceptBottleneckRewardModel(**params, random_state=seed)
            model.fit(train.embeddings, train.aggregate, train.columns(attrs), groups=train.group)
            auc = model.score(val.embeddings, val.aggregate)
            ratio = (auc - current) / costs[a]
            if best is None or ratio > best[2]:
                best = (a, auc, ratio)
        if best is None or best[1] <= current:
            break
        a, auc, ratio = best
        picked.append(a)
        spent += costs[a]
        rows.append({"step": len(picked), "attribute": a, "cost": costs[a],
                     "cumulative_cost": spent, "auc": auc, "gain": auc - current,
                     "gain_per_cost": ratio, "beats_coarse": bool(auc > coarse_auc)})
        current = auc
    return pd.DataFrame(rows)
