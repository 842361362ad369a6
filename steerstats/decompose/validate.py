"""Validation of the decomposition estimator on synthetic studies with a known truth.

Repeat R times: simulate a study (:mod:`steerstats.data.simulate_decomposition`), estimate the
terms with the cross-fitted ridge (goal represented by its true feature vector, the "image
embedding" of a simulated goal), bootstrap with refits, and compare with the population truth.
Per (model, term): bias = mean(estimate) - truth, the empirical SD of the estimates (the SE of one
estimate), the mean bootstrap SE, and the coverage of the percentile intervals with its binomial
Monte Carlo SE.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from steerstats._parallel import parallel_map
from steerstats.decompose.bootstrap import bootstrap_terms
from steerstats.decompose.estimate import prepare_decomposition
from steerstats.decompose.terms import TERMS


def _one_simulation(params, seed: int, r: int, n_boot: int, level: float) -> pd.DataFrame:
    from steerstats.data.simulate_decomposition import simulate_decomposition_study

    study = simulate_decomposition_study(params, seed=[seed, r])
    truth = study.truth["decomposition"].set_index("model")
    data = prepare_decomposition(
        study.steering,
        reference=str(truth["reference"].iloc[0]),
        blocks=("model", "goal"),
        goal_embeddings=study.truth["goal_embeddings"],
        seed=r,
    )
    boot = bootstrap_terms(data, n_boot=n_boot, seed=r, level=level, n_jobs=1, progress=False)
    rows = []
    for k, model in enumerate(data.models):
        if k == data.reference:
            continue
        for j, term in enumerate(TERMS):
            rows.append(
                {
                    "sim": r,
                    "model": model,
                    "term": term,
                    "truth": float(truth.loc[model, term]),
                    "estimate": float(boot.estimate[j, k]),
                    "se": float(boot.se[j, k]),
                    "ci_low": float(boot.ci_low[j, k]),
                    "ci_high": float(boot.ci_high[j, k]),
                }
            )
    return pd.DataFrame(rows)


def validate_decomposition(
    params=None,
    *,
    n_sims: int = 100,
    n_boot: int = 100,
    seed: int = 0,
    level: float = 0.95,
    n_jobs: int = 2,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-simulation estimates, summary per model and term). Deterministic for ``seed``."""
    bar = tqdm(total=n_sims, desc="validation simulations", disable=not progress)
    parts = []
    one = functools.partial(_simulation_at, params, seed, n_boot, level)
    for part in parallel_map(one, range(n_sims), n_jobs):
        parts.append(part)
        bar.update()
    bar.close()
    sims = pd.concat(parts, ignore_index=True)
    return sims, summarize_validation(sims, level)


def _simulation_at(params, seed: int, n_boot: int, level: float, r: int) -> pd.DataFrame:
    return _one_simulation(params, seed, r, n_boot, level)


def summarize_validation(sims: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Bias, SEs and coverage per (model, term) from :func:`validate_decomposition`'s draws."""

    def one(g: pd.DataFrame) -> pd.Series:
        covered = (g["ci_low"] <= g["truth"]) & (g["truth"] <= g["ci_high"])
        sd = g["estimate"].std(ddof=1)
        bias = g["estimate"].mean() - g["truth"].iloc[0]
        return pd.Series(
            {
                "truth": g["truth"].iloc[0],
                "mean_estimate": g["estimate"].mean(),
                "bias": bias,
                "empirical_sd": sd,
                "bias_mcse": sd / np.sqrt(len(g)),
                "mean_boot_se": g["se"].mean(),
                "bias_within_1se": abs(bias) <= sd,
                "coverage": covered.mean(),
                "coverage_mcse": np.sqrt(level * (1 - level) / len(g)),
                "n_sims": len(g),
            }
        )

    order = {t: i for i, t in enumerate(TERMS)}
    out = sims.groupby(["model", "term"], sort=False).apply(one, include_groups=False).reset_index()
    return out.sort_values(["model", "term"], key=lambda s: s.map(order) if s.name == "term" else s).reset_index(drop=True)
