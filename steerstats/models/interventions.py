"""Test-time interventions on a concept-bottleneck reward model (Koh et al. 2020, Sec. 6).

For k = 0..M attributes set to known values per example, the aggregate ROC-AUC of
g(p with k attributes replaced by their known values). Orders:

- ``"random"``: a fresh random attribute order per example (seeded), averaged over ``n_repeats``;
- ``"uncertain"``: per example, most uncertain prediction first (|p - 0.5| smallest).

An attribute that was not elicited for an example (NaN in ``known``) cannot be intervened on: it is
ordered after the elicited ones and keeps its prediction, so at step k an example with fewer than k
elicited attributes has all of them set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from steerstats.errors import ConfigError
from steerstats.models.concept_bottleneck import ConceptBottleneckRewardModel


def intervention_orders(
    probs: np.ndarray, order: str, rng: np.random.Generator | None = None
) -> np.ndarray:
    """(n, M) attribute indices per example in the order they are intervened on."""
    n, m = probs.shape
    if order == "uncertain":
        return np.argsort(np.abs(probs - 0.5), axis=1, kind="stable")
    if order == "random":
        rng = rng or np.random.default_rng(0)
        return np.argsort(rng.random((n, m)), axis=1)
    raise ConfigError(f"order must be 'random' or 'uncertain', got {order!r}")


def intervention_curve(
    model: ConceptBottleneckRewardModel,
    X: np.ndarray,
    y: np.ndarray,
    known: np.ndarray,
    *,
    order: str = "uncertain",
    n_repeats: int = 5,
    seed: int = 0,
) -> pd.DataFrame:
    """ROC-AUC after setting the first k attributes (in ``order``) to ``known``, k = 0..M.

    Returns columns ``n_intervened``, ``auc`` (mean over repeats), ``auc_sd`` (sd over repeats;
    0 for the deterministic ``"uncertain"`` order), ``order``.
    """
    probs = model.concepts(X)
    known = np.asarray(known, float)
    elicited = np.isfinite(known)
    n, m = probs.shape
    rng = np.random.default_rng(seed)
    repeats = n_repeats if order == "random" else 1
    aucs = np.empty((repeats, m + 1))
    rows = np.arange(n)[:, None]
    for r in range(repeats):
        order_idx = intervention_orders(probs, order, rng)
        # elicited attributes first, each group in the chosen order
        order_idx = np.take_along_axis(order_idx, np.argsort(~elicited[rows, order_idx], axis=1, kind="stable"), axis=1)
        ranks = np.empty((n, m), int)
        ranks[rows, order_idx] = np.arange(m)
        for k in range(m + 1):
            p = np.where((ranks < k) & elicited, known, probs)
            aucs[r, k] = roc_auc_score(y, model.aggregate_logit(p))
    return pd.DataFrame(
        {
            "n_intervened": np.arange(m + 1),
            "auc": aucs.mean(axis=0),
            "auc_sd": aucs.std(axis=0, ddof=1) if repeats > 1 else np.zeros(m + 1),
            "order": order,
        }
    )
