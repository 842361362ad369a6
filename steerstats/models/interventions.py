"""Test-time interventions on a concept model (Koh et al. 2020, Sec. 6): the bottleneck
(:class:`ConceptBottleneckRewardModel`) or the concept-embedding model
(:class:`ConceptEmbeddingRewardModel`); both expose ``logit_from_concepts(X, p)``.

For k = 0..M attributes set to known values per example, the aggregate ROC-AUC of the logit with
k attributes replaced by their known values. Policies (orders):

- ``"random"``: a fresh random attribute order per example (seeded), averaged over ``n_repeats``;
- ``"uncertain"``: per example, most uncertain prediction first (|p - 0.5| smallest);
- ``"cooperative"`` (Chauhan et al. 2023): uncertainty x expected effect on the output,
  (1 - 2|p_k - 0.5|) * [p_k |f(p_k := 1) - f| + (1 - p_k) |f(p_k := 0) - f|], largest first;
- ``"oracle"``: the greedy upper bound, which sees the true label and the known values: the
  attribute whose intervention moves the logit furthest toward the true label first. Both models'
  logits are affine in p (the embedding model's mixture is linear in each p_k), so one-step gains
  do not change as other attributes are set and this order is the exact greedy sequence.

An attribute that was not elicited for an example (NaN in ``known``) cannot be intervened on: it is
ordered after the elicited ones and keeps its prediction, so at step k an example with fewer than k
elicited attributes has all of them set.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from steerstats.errors import ConfigError

ORDERS = ("random", "uncertain", "cooperative", "oracle")


def _single_effects(model, X: np.ndarray, probs: np.ndarray, values: np.ndarray) -> np.ndarray:
    """(n, M): logit change when attribute k alone is set to values[:, k]."""
    base = model.logit_from_concepts(X, probs)
    out = np.empty_like(probs)
    for k in range(probs.shape[1]):
        p = probs.copy()
        p[:, k] = values[:, k]
        out[:, k] = model.logit_from_concepts(X, p) - base
    return out


def intervention_orders(
    probs: np.ndarray,
    order: str,
    rng: np.random.Generator | None = None,
    *,
    model=None,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
    known: np.ndarray | None = None,
) -> np.ndarray:
    """(n, M) attribute indices per example in the order they are intervened on (``cooperative``
    needs ``model`` and ``X``; ``oracle`` also ``y`` and ``known``)."""
    n, m = probs.shape
    if order == "uncertain":
        return np.argsort(np.abs(probs - 0.5), axis=1, kind="stable")
    if order == "random":
        rng = rng or np.random.default_rng(0)
        return np.argsort(rng.random((n, m)), axis=1)
    if order == "cooperative":
        up = np.abs(_single_effects(model, X, probs, np.ones_like(probs)))
        down = np.abs(_single_effects(model, X, probs, np.zeros_like(probs)))
        score = (1 - 2 * np.abs(probs - 0.5)) * (probs * up + (1 - probs) * down)
        return np.argsort(-score, axis=1, kind="stable")
    if order == "oracle":
        values = np.where(np.isfinite(known), known, probs)
        gain = (2 * np.asarray(y, float)[:, None] - 1) * _single_effects(model, X, probs, values)
        return np.argsort(-gain, axis=1, kind="stable")
    raise ConfigError(f"order must be one of {', '.join(ORDERS)}, got {order!r}")


def intervention_curve(
    model,
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
        order_idx = intervention_orders(probs, order, rng, model=model, X=X, y=y, known=known)
        # elicited attributes first, each group in the chosen order
        order_idx = np.take_along_axis(order_idx, np.argsort(~elicited[rows, order_idx], axis=1, kind="stable"), axis=1)
        ranks = np.empty((n, m), int)
        ranks[rows, order_idx] = np.arange(m)
        for k in range(m + 1):
            p = np.where((ranks < k) & elicited, known, probs)
            aucs[r, k] = roc_auc_score(y, model.logit_from_concepts(X, p))
    return pd.DataFrame(
        {
            "n_intervened": np.arange(m + 1),
            "auc": aucs.mean(axis=0),
            "auc_sd": aucs.std(axis=0, ddof=1) if repeats > 1 else np.zeros(m + 1),
            "order": order,
        }
    )
