"""Point estimate of the decomposition with a cross-fitted ridge predictor of mu_i.

mu_i(x) is the ridge predictor of per-attempt similarity from [model one-hot | prompt | goal]
features (:mod:`steerstats.features`), evaluated with model i's identity. Its predictions are
*cross-fitted*: rows are split into K folds by goal and each fold is predicted by the fit on the
others (alpha chosen by grouped CV inside those), so the residual term measures out-of-sample
predictor error rather than the zero in-sample error of a model with a per-model intercept.

The embedding space (e.g. TF-IDF + SVD) is fitted once on all texts of the study: it uses no
outcome, so cross-fitting and the bootstrap refit only the outcome model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.decompose.terms import TERMS, decomposition_terms
from steerstats.errors import ConfigError, InputError
from steerstats.features import EmbeddingCache, FeatureBuilder, TextEmbedder
from steerstats.predictors.ridge import (
    DEFAULT_ALPHAS,
    cv_alpha,
    fold_stats,
    ridge_solve,
    single_thread_blas,
)
from steerstats.predictors.split import goal_fold_ids


@dataclass(frozen=True)
class DecompositionData:
    """Everything the estimator needs, as arrays aligned with the study's rows."""

    y: np.ndarray  # (n,) per-attempt similarity
    codes: np.ndarray  # (n,) model index
    models: tuple[str, ...]
    reference: int  # index of the reference model
    features: np.ndarray  # (n, d) penalised features (prompt / goal embeddings, scaled)
    fold: np.ndarray  # (n,) cross-fitting fold by goal
    n_folds: int
    cluster: np.ndarray  # (n,) bootstrap cluster index (steering user by default)
    goal: np.ndarray  # (n,) goal index

    def design(self, model: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """[one-hot(model) | features]; ``model`` overrides every row's identity."""
        codes = self.codes if model is None else np.full(len(self.y), model)
        onehot = np.eye(len(self.models))[codes]
        penalized = np.r_[np.zeros(len(self.models), bool), np.ones(self.features.shape[1], bool)]
        return np.hstack([onehot, self.features]), penalized


def prepare_decomposition(
    frame: pd.DataFrame,
    *,
    reference: str = "dall-e-2",
    embedder: TextEmbedder | None = None,
    blocks: Sequence[str] = ("model", "prompt", "goal"),
    goal_embeddings: pd.DataFrame | None = None,
    cache: EmbeddingCache | None = None,
    target: str = "dreamsim",
    cluster: str = "steering_user_id",
    n_folds: int = 5,
    seed: int = 0,
) -> DecompositionData:
    """Embed the study's texts once and lay out the arrays of the estimator."""
    models = tuple(sorted(frame["model"].astype(str).unique()))
    if reference not in models:
        raise InputError(f"reference model '{reference}' is not in the data", column="model")
    if "model" not in blocks:
        raise ConfigError("the decomposition needs the 'model' block: mu_i depends on the model")
    y = frame[target].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        row = int(np.flatnonzero(~np.isfinite(y))[0]) + 1
        raise InputError("missing or non-finite similarity", row=row, column=target)
    design = FeatureBuilder(blocks, embedder, cache=cache, goal_embeddings=goal_embeddings, model_levels=models).fit_transform(frame)
    _, goal_idx = np.unique(frame["goal_image"].to_numpy(dtype=str), return_inverse=True)
    _, cluster_idx = np.unique(frame[cluster].to_numpy(dtype=str), return_inverse=True)
    return DecompositionData(
        y=y,
        codes=design.model_codes,
        models=models,
        reference=models.index(reference),
        features=design.features,
        fold=goal_fold_ids(goal_idx, n_folds, seed=seed),
        n_folds=n_folds,
        cluster=cluster_idx,
        goal=goal_idx,
    )


def crossfit_mu(
    data: DecompositionData,
    weights: np.ndarray | None = None,
    *,
    alphas: np.ndarray = DEFAULT_ALPHAS,
) -> tuple[np.ndarray, np.ndarray]:
    """(mu (n, K), chosen alpha per fold): every row predicted under every model's identity by the
    ridge fitted on the other folds, with alpha chosen by grouped CV over those folds."""
    with single_thread_blas():
        return _crossfit_mu(data, weights, alphas)


def _crossfit_mu(
    data: DecompositionData, weights: np.ndarray | None, alphas: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    x, penalized = data.design()
    stats = fold_stats(x, data.y, data.fold, data.n_folds, weights)
    k = len(data.models)
    base = np.zeros(len(data.y))
    offset = np.zeros((len(data.y), k))
    chosen = np.zeros(data.n_folds)
    for f in range(data.n_folds):
        others = np.setdiff1d(np.arange(data.n_folds), [f])
        alpha, _ = cv_alpha(stats, penalized, alphas, folds=others)
        gram, xty = stats.total(others)
        beta = ridge_solve(gram, xty, alpha, penalized)
        rows = data.fold == f
        base[rows] = data.features[rows] @ beta[k:]
        offset[rows] = beta[:k]
        chosen[f] = alpha
    return base[:, None] + offset, chosen


def estimate_terms(data: DecompositionData, weights: np.ndarray | None = None) -> np.ndarray:
    """(4, K) terms (see :data:`~steerstats.decompose.terms.TERMS`) with cross-fitted mu."""
    mu, _ = crossfit_mu(data, weights)
    return decomposition_terms(data.y, data.codes, mu, data.reference, weights)


def terms_frame(data: DecompositionData, terms: np.ndarray) -> pd.DataFrame:
    """(4, K) terms as one row per compared model (the reference left out)."""
    rows = []
    for k, m in enumerate(data.models):
        if k == data.reference:
            continue
        row = {"model": m, "reference": data.models[data.reference]}
        row.update({t: float(terms[j, k]) for j, t in enumerate(TERMS)})
        rows.append(row)
    return pd.DataFrame(rows)
