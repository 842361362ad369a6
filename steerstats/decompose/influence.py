"""Analytic intervals of the debiased decomposition: the cluster-robust variance of its influence
function, averaged over repeated cross-fitting splits (Chernozhukov et al. 2018, Sec. 3.4).

For each of S fold assignments s (goal folds drawn with seed [seed, s]; s = 0 is the data's own):
fit mu and the density ratios, compute the debiased terms theta_s and every row's influence
(:func:`~steerstats.decompose.terms.debiased_influence` with mu held fixed, which the estimator is
orthogonal to, plus the estimation of the density ratios,
:func:`~steerstats.decompose.density_ratio.density_ratio_influence`), sum it within clusters
(steering users) and form the CR1 variance of the average. The estimate is theta = mean_s theta_s
and its influence the average psi = mean_s psi_s (theta - theta* ~ sum_i psi_i to first order). When
clusters are nested in models (the release: each user steers with one model) the variance of a
comparison k vs ref is the sum of two independent parts,

    V = G_k/(G_k - 1) sum_{c in k} psi_c^2 + G_ref/(G_ref - 1) sum_{c in ref} psi_c^2,

with Welch-Satterthwaite degrees of freedom from (G_k - 1, G_ref - 1); otherwise one CR1 sum over
the clusters touching either model, df = G - 1. The interval is theta +- t_df(1 - alpha/2) SE.

Why the averaged influence: each split's row influences are estimated with noise (its nuisance
fits differ by split), which inflates that split's own variance V_s (one split's SE / SD was
1.01-1.08 on the non-additive scenarios); averaging the influences over the splits averages that
noise away, and the split noise of the estimate with it. Earlier versions used
mean_s V_s - (S - 1)/S var_s(theta_s), which removes only the latter (0.55-0.69 of what averaging
removes, on the same studies) and so kept the excess: on 600 non-additive studies SE / SD was
1.01-1.15 with it and 0.97-1.08 with the averaged influence (400 additive: 1.07-1.16 and
1.03-1.13). The split noise is 9-26% of one split's variance there; 20 splits by default leave
1/20 of it in the estimate. Neither first-order variance carries the variance of the estimator's
second-order remainder, which is large where the features are many for the goals (the regime in
which that remainder also biases the terms, below).

Measured (``steerstats decompose --validate --estimator interacted``, 28 users a model, 20 splits):
the intervals of both terms cover 0.957-0.969 over R = 1000 nonadditive studies (SE / SD 1.00-1.05),
0.955-0.973 over R = 1000 nonadditive_sine (1.01-1.12) and 0.958-0.975 over R = 400 additive ones
(1.03-1.13); before, 0.961-0.979 and 0.968-0.983. Where the features are many for the goals the
average understates the SD: with 64 goal features (``nonadditive_highdim``, R = 200) SE / SD is
0.81-1.00 (0.88-1.04 before), on top of a bias of up to 1.1 SD (the density ratio is not learned
from 56 goals a model well enough to remove mu's shrinkage bias; with the true ratio the bias
vanishes): coverage 0.670-0.935. That regime draws a caution
(:func:`~steerstats.decompose.estimate.feature_dimension_caution`); ``components`` leaves it.
The refit bootstrap (:mod:`.bootstrap`) covered 0.97-0.99 with B = 200 refits (10x the 20 splits' fits).
"""

from __future__ import annotations

import dataclasses

import numpy as np
from scipy.stats import t as t_dist

from steerstats.decompose.bootstrap import TermsInterval
from steerstats.decompose.density_ratio import density_ratio_influence, fit_density_ratios
from steerstats.decompose.estimate import DecompositionData, crossfit_mu
from steerstats.decompose.terms import debiased_influence, debiased_terms
from steerstats.errors import ConfigError
from steerstats.predictors.split import goal_fold_ids

#: cross-fitting splits averaged by default
N_SPLITS = 20


def cluster_variance(influence: np.ndarray, data: DecompositionData) -> tuple[np.ndarray, np.ndarray]:
    """(variance (4, K), degrees of freedom (4, K)) of the terms from row influences (n, 4, K)."""
    n_clusters = int(data.cluster.max()) + 1
    sums = np.zeros((n_clusters, *influence.shape[1:]))
    np.add.at(sums, data.cluster, influence)
    first_model = np.full(n_clusters, -1)
    first_model[data.cluster] = data.codes
    nested = bool((first_model[data.cluster] == data.codes).all())
    k = len(data.models)
    var, df = np.zeros((4, k)), np.full((4, k), np.inf)
    for m in range(k):
        if m == data.reference:
            continue
        if nested:
            parts, dofs = [], []
            for g in (m, data.reference):
                members = first_model == g
                n_g = int(members.sum())
                parts.append(n_g / (n_g - 1) * (sums[members, :, m] ** 2).sum(axis=0))
                dofs.append(n_g - 1)
            var[:, m] = parts[0] + parts[1]
            denominator = parts[0] ** 2 / dofs[0] + parts[1] ** 2 / dofs[1]
            df[:, m] = np.where(denominator > 0, var[:, m] ** 2 / np.where(denominator > 0, denominator, 1.0), np.inf)
        else:
            touches = np.zeros(n_clusters, bool)
            touches[data.cluster[(data.codes == m) | (data.codes == data.reference)]] = True
            n_g = int(touches.sum())
            var[:, m] = n_g / (n_g - 1) * (sums[touches, :, m] ** 2).sum(axis=0)
            df[:, m] = n_g - 1
    return var, df


def split_terms(data: DecompositionData, split: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(theta_s (4, K), row influences psi_s (n, 4, K)) of cross-fitting split ``split``: goal folds
    drawn with seed [seed, split] (split 0 keeps the data's own), mu and the density ratios fitted
    on them, the ratios' estimation included in psi_s."""
    if split:
        fold_seed = int(np.random.SeedSequence([seed, split]).generate_state(1)[0])
        data = dataclasses.replace(data, fold=goal_fold_ids(data.goal, data.n_folds, seed=fold_seed))
    mu, _ = crossfit_mu(data)
    ratios = fit_density_ratios(data)
    theta = debiased_terms(data.y, data.codes, mu, data.reference, ratios.weights)
    psi = debiased_influence(data.y, data.codes, mu, data.reference, ratios.weights,
                             density_ratio_influence(data, mu, ratios))
    return theta, psi


def influence_terms(
    data: DecompositionData,
    *,
    n_splits: int = N_SPLITS,
    seed: int = 0,
    level: float = 0.95,
) -> TermsInterval:
    """Debiased terms averaged over ``n_splits`` cross-fitting splits, with cluster-robust
    influence-function SEs and t intervals (module docstring). ``draws`` holds the per-split
    estimates (S, 4, K); ``df`` the degrees of freedom."""
    if data.estimator != "interacted":
        raise ConfigError("the influence-function interval needs the debiased (interacted) estimator; "
                          "use the refit bootstrap for the additive one")
    if n_splits < 1:
        raise ConfigError(f"n_splits must be at least 1, got {n_splits}")
    if not 0 < level < 1:
        raise ConfigError(f"level must be in (0, 1), got {level}")
    estimates, influence = [], 0.0
    for s in range(n_splits):
        theta, psi = split_terms(data, s, seed)
        estimates.append(theta)
        influence = influence + psi / n_splits
    draws = np.stack(estimates)
    estimate = draws.mean(axis=0)
    variance, df = cluster_variance(influence, data)
    se = np.sqrt(variance)
    half = t_dist.ppf(0.5 + level / 2.0, df) * se
    return TermsInterval(
        estimate=estimate, ci_low=estimate - half, ci_high=estimate + half, se=se, draws=draws, level=level,
        method=f"cluster-robust influence function, {n_splits} cross-fitting splits (CR1 over users, t with Satterthwaite df)",
        df=df,
    )


#: interval methods of the decomposition: "influence" (default for the debiased estimator) or the refit "bootstrap"
INTERVALS = ("influence", "bootstrap")


def terms_interval(
    data: DecompositionData,
    *,
    interval: str | None = None,
    n_boot: int = 200,
    n_splits: int = N_SPLITS,
    seed: int = 0,
    level: float = 0.95,
    n_jobs: int = 2,
    progress: bool = True,
) -> TermsInterval:
    """The terms with the interval ``interval`` (None: "influence" for the interacted estimator,
    "bootstrap" for the additive one, which has no debiased influence function)."""
    from steerstats.decompose.bootstrap import bootstrap_terms

    if interval is None:
        interval = "influence" if data.estimator == "interacted" else "bootstrap"
    if interval not in INTERVALS:
        raise ConfigError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    if interval == "influence" and data.estimator != "interacted":
        raise ConfigError("the influence interval needs the interacted estimator (the additive plug-in estimator has "
                          "no debiased influence function); use interval 'bootstrap'")
    if n_splits < 1 or n_jobs < 1:
        raise ConfigError(f"n_splits and n_jobs must be at least 1, got {n_splits} and {n_jobs}")
    if interval == "influence":
        return influence_terms(data, n_splits=n_splits, seed=seed, level=level)
    return bootstrap_terms(data, n_boot=n_boot, seed=seed, level=level, n_jobs=n_jobs, progress=progress)
