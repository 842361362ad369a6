"""Validation of the decomposition estimators on synthetic studies with a known truth.

For each scenario (:data:`SCENARIOS`: the additive-linear study, and a non-additive one with
model-specific slopes, a non-linear goal effect and goal distributions that differ by model) and
each estimator (:data:`~steerstats.decompose.estimate.ESTIMATORS`), repeat R times: simulate a
study (:mod:`steerstats.data.simulate.decomposition`), estimate the terms (goal represented by its
true feature vector, the "image embedding" of a simulated goal) with its interval
(:func:`~steerstats.decompose.influence.terms_interval`: the influence-function interval for the
debiased estimator, the refit bootstrap for the additive one, unless ``interval`` says otherwise),
and compare with the population truth. Per (scenario, estimator, model, term):

- bias = mean(estimate) - truth with its Monte Carlo SE = SD(estimates) / sqrt(R), and bias in
  units of the SD of one estimate (the criterion |bias| < 0.2 SD);
- the empirical SD of the estimates (the SE of one estimate) against the mean bootstrap SE;
- the coverage of the 95% intervals with its binomial Monte Carlo SE sqrt(c (1 - c) / R).

The same simulated study is used by every estimator of a replication (paired comparison).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from steerstats._parallel import parallel_map
from steerstats.decompose.estimate import ESTIMATORS, prepare_decomposition
from steerstats.decompose.influence import INTERVALS, N_SPLITS, terms_interval
from steerstats.decompose.terms import TERMS

#: goal features of the high-dimensional scenario: the release's text features (TF-IDF + SVD, 64)
HIGHDIM_FEATURES = 64


def _scenarios() -> dict:
    from steerstats.data.simulate.decomposition import DecompositionSimParams, nonadditive_params

    return {"additive": DecompositionSimParams(), "nonadditive": nonadditive_params(),
            "nonadditive_sine": nonadditive_params(curvature_shape="sine", curvature=0.05),
            "nonadditive_highdim": nonadditive_params(n_features=HIGHDIM_FEATURES),
            "nonadditive_spiked": nonadditive_params(
                irrelevant_features=HIGHDIM_FEATURES - nonadditive_params().n_features)}


#: scenario name -> what it breaks
SCENARIOS = {
    "additive": "one slope for every model, linear goal effect (the additive estimator's assumptions)",
    "nonadditive": "model-specific slopes, a quadratic goal effect, goal distributions shifted per model",
    "nonadditive_sine": "model-specific slopes, a sinusoidal goal effect (beyond a second-order sieve)",
    "nonadditive_highdim": "nonadditive with 64 goal features (the release's dimension), all signal in one direction",
    "nonadditive_spiked": "nonadditive's 6 goal features and 58 irrelevant ones of SD 0.5 (64 in all): the signal "
                          "lies in the leading principal components (for --components)",
}


def _one_simulation(scenario: str, seed: int, n_boot: int, level: float,
                    estimators: Sequence[str], r: int, interval: str | None = None,
                    n_splits: int = N_SPLITS, components: int | None = None) -> pd.DataFrame:
    from steerstats.data.simulate.decomposition import simulate_decomposition_study

    study = simulate_decomposition_study(_scenarios()[scenario], seed=[seed, r])
    truth = study.truth.terms.set_index("model")
    rows = []
    for estimator in estimators:
        data = prepare_decomposition(
            study.steering,
            reference=str(truth["reference"].iloc[0]),
            blocks=("model", "goal"),
            goal_embeddings=study.truth.goal_embeddings,
            estimator=estimator,
            seed=r,
            components=components,
        )
        boot = terms_interval(data, interval=interval if estimator == "interacted" else None, n_boot=n_boot,
                              n_splits=n_splits, seed=r, level=level, n_jobs=1, progress=False)
        for k, model in enumerate(data.models):
            if k == data.reference:
                continue
            for j, term in enumerate(TERMS):
                rows.append({
                    "scenario": scenario, "estimator": estimator, "interval": boot.method, "sim": r, "model": model, "term": term,
                    "truth": float(truth.loc[model, term]), "estimate": float(boot.estimate[j, k]),
                    "se": float(boot.se[j, k]), "ci_low": float(boot.ci_low[j, k]),
                    "ci_high": float(boot.ci_high[j, k]),
                })
    return pd.DataFrame(rows)


def validate_decomposition(
    *,
    scenarios: Sequence[str] = ("additive", "nonadditive"),
    estimators: Sequence[str] = ESTIMATORS,
    n_sims: int = 100,
    n_boot: int = 100,
    seed: int = 0,
    level: float = 0.95,
    n_jobs: int = 2,
    progress: bool = True,
    interval: str | None = None,
    n_splits: int = N_SPLITS,
    components: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-simulation estimates, summary per scenario, estimator, model and term); ``components``
    reduces the goal features first (:func:`~steerstats.decompose.estimate.prepare_decomposition`).
    Deterministic for ``seed`` (replication r of every scenario uses seed [seed, r])."""
    from steerstats.errors import ConfigError

    if interval is not None and interval not in INTERVALS:
        raise ConfigError(f"interval must be one of {', '.join(INTERVALS)}, got {interval!r}")
    unknown = [s for s in scenarios if s not in SCENARIOS] + [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise ConfigError(f"unknown scenario/estimator {unknown}; scenarios: {', '.join(SCENARIOS)}; "
                          f"estimators: {', '.join(ESTIMATORS)}")
    tasks = [(s, r) for s in scenarios for r in range(n_sims)]
    bar = tqdm(total=len(tasks), desc="validation simulations", disable=not progress)
    parts = []
    one = functools.partial(_run_task, seed, n_boot, level, tuple(estimators), interval, n_splits, components)
    for part in parallel_map(one, tasks, n_jobs):
        parts.append(part)
        bar.update()
    bar.close()
    sims = pd.concat(parts, ignore_index=True)
    return sims, summarize_validation(sims, level)


def _run_task(seed: int, n_boot: int, level: float, estimators: tuple[str, ...], interval: str | None,
              n_splits: int, components: int | None, task: tuple[str, int]) -> pd.DataFrame:
    scenario, r = task
    return _one_simulation(scenario, seed, n_boot, level, estimators, r, interval, n_splits, components)


def summarize_validation(sims: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Bias with its MC SE, SEs and coverage with its MC error per (scenario, estimator, model, term)."""

    def one(g: pd.DataFrame) -> pd.Series:
        covered = (g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])
        r = len(g)
        sd = g["estimate"].std(ddof=1)
        bias = g["estimate"].mean() - g["truth"].iloc[0]
        cov = covered.mean()
        return pd.Series({
            "truth": g["truth"].iloc[0],
            "mean_estimate": g["estimate"].mean(),
            "bias": bias,
            "bias_mcse": sd / np.sqrt(r),
            "bias_over_sd": bias / sd if sd > 0 else np.nan,
            "empirical_sd": sd,
            "mean_se": g["se"].mean(),
            "coverage": cov,
            "coverage_mcse": np.sqrt(cov * (1 - cov) / r) if 0 < cov < 1 else np.sqrt(level * (1 - level) / r),
            "n_sims": r,
        })

    keys = [k for k in ("scenario", "estimator", "interval") if k in sims.columns] + ["model", "term"]
    order = {t: i for i, t in enumerate(TERMS)}
    out = sims.groupby(keys, sort=False).apply(one, include_groups=False).reset_index()
    return out.sort_values(keys, key=lambda s: s.map(order) if s.name == "term" else s).reset_index(drop=True)
