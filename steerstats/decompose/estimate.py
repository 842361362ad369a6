"""Point estimate of the decomposition with a cross-fitted predictor of mu_i.

Two estimators of mu_i(x), the expected similarity of model i on a goal with features x
(goal block, and the prompt block when asked for; :mod:`steerstats.features`):

``interacted`` (default), two parts:

1. mu_i(x) = a_i + f(x) + l(x)' delta_i, one ridge (penalty by CV grouped by goal) on
   [model one-hot | x | phi(x) | one-hot x l(x)]: phi = squares and products of the 8 leading
   principal components l(x) of x (a second-order sieve) and 128 random Fourier features (an
   RBF-kernel approximation, Rahimi & Recht 2007), so the shared goal effect f may be non-linear;
   delta_i are model-specific slopes on l(x), so goal features may act differently per model.
2. Debiased terms (:func:`~steerstats.decompose.terms.debiased_terms`): the counterfactual mean
   E_{p_i}[mu_1(X)] gets the correction mean_1(w_i (y - mu_1)) with w_i = p_i / p_1 estimated by
   a cross-fitted logistic regression (:mod:`~steerstats.decompose.density_ratio`); the estimator is then
   Neyman-orthogonal (Chernozhukov et al. 2018), so the ridge's shrinkage does not bias the terms.

``additive``: mu_i(x) = a_i + x' beta, one slope for every model, plug-in terms (the estimator of
the earlier releases, kept as an explicit option): the steering term is a_i - a_1 whatever the
data say.

Predictions are *cross-fitted*: rows are split into K folds by goal and each fold is predicted by
the fits on the others, so every row's mu comes from a predictor that never saw its goal.

The embedding space (e.g. TF-IDF + SVD) is fitted once on all texts of the study: it uses no
outcome, so cross-fitting and the bootstrap refit only the outcome model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.data.embedding_table import KeyedEmbeddings
from steerstats.decompose.density_ratio import fit_density_ratios
from steerstats.decompose.terms import TERMS, debiased_terms, decomposition_terms
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
    expanded: np.ndarray | None = None  # (n, D) shared non-linear basis of ``features`` (interacted)
    interaction: np.ndarray | None = None  # (n, q) leading components whose slopes differ by model
    estimator: str = "interacted"  # see ESTIMATORS
    blocks: tuple[str, ...] = ("model", "goal")
    reduced_from: int | None = None  # the features' dimension before ``components`` reduced it


#: estimators of mu_i (see the module docstring)
ESTIMATORS = ("interacted", "additive")
#: random Fourier features of the interacted estimator's shared goal effect
N_FOURIER = 128


def fourier_features(x: np.ndarray, n: int = N_FOURIER, seed: int = 0) -> np.ndarray:
    """(rows, n) random Fourier features sqrt(2/n) cos(x W + b) of an RBF kernel whose bandwidth
    is the median distance between rows (W ~ N(0, 1/bandwidth^2), b ~ U(0, 2 pi)). Uses no
    outcome; deterministic for ``seed``."""
    rng = np.random.default_rng([seed, 7919])
    if x.shape[1] == 0:
        return np.zeros((len(x), 0))
    from scipy.spatial.distance import pdist

    sample = x[rng.choice(len(x), size=min(len(x), 500), replace=False)]
    d = pdist(sample)  # each pair once: the same median as over the full symmetric matrix
    bandwidth = float(np.median(d[d > 0])) if (d > 0).any() else 1.0
    w = rng.standard_normal((x.shape[1], n)) / bandwidth
    b = rng.uniform(0, 2 * np.pi, n)
    return np.sqrt(2.0 / n) * np.cos(x @ w + b)


#: leading principal components whose squares and products enter the shared non-linear basis
N_QUADRATIC = 8


def leading_components(x: np.ndarray, q: int = N_QUADRATIC) -> np.ndarray:
    """(rows, min(q, dim)) leading principal components of x, each scaled to unit SD."""
    if x.shape[1] == 0:
        return np.zeros((len(x), 0))
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[: min(q, x.shape[1])].T
    return pcs / np.maximum(pcs.std(axis=0), 1e-12)


def nonlinear_basis(x: np.ndarray, seed: int = 0) -> np.ndarray:
    """The shared goal effect's non-linear basis: squares and pairwise products of the leading
    principal components of x (a second-order series sieve), then random Fourier features of x
    (smooth effects beyond second order). Scaled to unit SD; uses no outcome."""
    if x.shape[1] == 0:
        return np.zeros((len(x), 0))
    pcs = leading_components(x)
    i, j = np.triu_indices(pcs.shape[1])
    quad = pcs[:, i] * pcs[:, j]
    basis = np.hstack([quad, fourier_features(x, seed=seed)])
    sd = basis.std(axis=0)
    return (basis - basis.mean(axis=0)) / np.where(sd > 1e-12, sd, 1.0)


def prepare_decomposition(
    frame: pd.DataFrame,
    *,
    reference: str = "dall-e-2",
    embedder: TextEmbedder | None = None,
    blocks: Sequence[str] = ("model", "goal"),
    estimator: str = "interacted",
    goal_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
    prompt_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
    cache: EmbeddingCache | None = None,
    target: str = "dreamsim",
    cluster: str = "steering_user_id",
    n_folds: int = 5,
    seed: int = 0,
    components: int | None = None,
) -> DecompositionData:
    """Embed the study's texts once and lay out the arrays of the estimator; ``components`` q
    replaces the features by their q leading principal components (:func:`leading_components`,
    unit SD each). The reduction uses no outcome, and it changes the estimand: mu_i then conditions
    on the q components, so what the other directions carry counts in the steering term."""
    models = tuple(sorted(frame["model"].astype(str).unique()))
    if reference not in models:
        raise InputError(f"reference model '{reference}' is not in the data", column="model")
    if "model" not in blocks:
        raise ConfigError("the decomposition needs the 'model' block: mu_i depends on the model")
    if estimator not in ESTIMATORS:
        raise ConfigError(f"estimator must be one of {', '.join(ESTIMATORS)}, got {estimator!r}")
    y = frame[target].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        row = int(np.flatnonzero(~np.isfinite(y))[0]) + 1
        raise InputError("missing or non-finite similarity", row=row, column=target)
    design = FeatureBuilder(blocks, embedder, cache=cache, goal_embeddings=goal_embeddings,
                            prompt_embeddings=prompt_embeddings, model_levels=models).fit_transform(frame)
    features, reduced_from = design.features, None
    if components is not None:
        if not 1 <= components <= features.shape[1]:
            raise ConfigError(f"components must be between 1 and the number of features ({features.shape[1]}), "
                              f"got {components}")
        features, reduced_from = leading_components(features, components), features.shape[1]
    _, goal_idx = np.unique(frame["goal_image"].to_numpy(dtype=str), return_inverse=True)
    _, cluster_idx = np.unique(frame[cluster].to_numpy(dtype=str), return_inverse=True)
    return DecompositionData(
        y=y,
        codes=design.model_codes,
        models=models,
        reference=models.index(reference),
        features=features,
        fold=goal_fold_ids(goal_idx, n_folds, seed=seed),
        n_folds=n_folds,
        cluster=cluster_idx,
        goal=goal_idx,
        expanded=nonlinear_basis(features, seed=seed) if estimator == "interacted" else None,
        interaction=leading_components(features) if estimator == "interacted" else None,
        estimator=estimator,
        blocks=tuple(blocks),
        reduced_from=reduced_from,
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
    k, n = len(data.models), len(data.y)
    onehot = np.eye(k)[data.codes]
    shared = data.features if data.expanded is None else np.hstack([data.features, data.expanded])
    blocks = [onehot, shared]
    q = 0 if data.interaction is None else data.interaction.shape[1]
    if q:
        blocks.append((onehot[:, :, None] * data.interaction[:, None, :]).reshape(n, k * q))
    x = np.hstack(blocks)
    # one penalty (chosen by CV) on everything but the model intercepts: the predictor is tuned for
    # prediction; the shrinkage bias it leaves in the terms is removed by the debiased estimator
    penalized = np.r_[np.zeros(k, bool), np.ones(x.shape[1] - k, bool)]
    stats = fold_stats(x, data.y, data.fold, data.n_folds, weights)
    p_shared = shared.shape[1]
    mu = np.zeros((n, k))
    chosen = np.zeros(data.n_folds)
    paths: dict = {}
    for f in range(data.n_folds):
        others = np.setdiff1d(np.arange(data.n_folds), [f])
        alpha, _ = cv_alpha(stats, penalized, alphas, folds=others, paths=paths)
        gram, xty = stats.total(others)
        beta = ridge_solve(gram, xty, alpha, penalized)
        rows = data.fold == f
        mu[rows] = (shared[rows] @ beta[k : k + p_shared])[:, None] + beta[:k][None, :]
        if q:  # model m's own slopes on the leading goal components, evaluated for every row
            mu[rows] += data.interaction[rows] @ beta[k + p_shared :].reshape(k, q).T
        chosen[f] = alpha
    return mu, chosen


#: goals of the smallest model per goal feature below which validation found the terms biased
#: (:mod:`~steerstats.decompose.validate`, 56 goals a model: 6 features (9.3 a feature) passed, 16 (3.5) did not)
MIN_GOALS_PER_FEATURE = 9.0


def feature_dimension_caution(data: DecompositionData) -> str | None:
    """A sentence when the model with fewest goals has under :data:`MIN_GOALS_PER_FEATURE` goals per
    feature: there the density ratio is not learned well enough to remove mu's shrinkage bias
    (``nonadditive_highdim``: up to 1.1 SD at 64 features, with SE / SD 0.81-1.00), and no interval
    covers that. It names the number of leading components (``components``) that meets the bound."""
    d = data.features.shape[1]
    if d == 0:
        return None
    goals = min(len(np.unique(data.goal[data.codes == m])) for m in range(len(data.models)))
    if goals / d >= MIN_GOALS_PER_FEATURE:
        return None
    q = max(1, int(goals // MIN_GOALS_PER_FEATURE))
    return (f"{d} features for as few as {goals} goals a model ({goals / d:.1f} per feature, under "
            f"{MIN_GOALS_PER_FEATURE:g}): in simulations this sparse the terms were biased by up to 1.1 SD "
            "and their SEs down to 0.81 of the SD (decompose --validate --scenarios nonadditive_highdim); "
            f"fewer, informative goal features (--goal-embeddings, or --components {q}: the leading principal "
            "components, which recovered the terms when the signal lies in them, scenario nonadditive_spiked) "
            "make them trustworthy")


def estimate_terms(data: DecompositionData, weights: np.ndarray | None = None) -> np.ndarray:
    """(4, K) terms (see :data:`~steerstats.decompose.terms.TERMS`) with cross-fitted mu; the
    interacted estimator adds the debiasing correction of the counterfactual mean (doubly robust,
    :func:`~steerstats.decompose.terms.debiased_terms`)."""
    mu, _ = crossfit_mu(data, weights)
    if data.estimator == "additive":
        return decomposition_terms(data.y, data.codes, mu, data.reference, weights)
    return debiased_terms(data.y, data.codes, mu, data.reference, fit_density_ratios(data, weights).weights, weights)


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
