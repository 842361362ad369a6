"""The producibility/steering decomposition of Vafa et al. (2025, Sec. 4, Fig. 4 right) as one
analysis on a study: the terms per compared model with intervals clustered on steering users
(influence function by default, or the refit bootstrap; optionally the Bayesian linear model), the
cross-fitted predictor's diagnostics, and the simulation's truth where known. Nothing is written
(presentation: :mod:`steerstats.report.section_decomposition`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot
from steerstats.data.study import Study

TERM_COLUMNS = ("observed_diff", "steering_term", "producible_term", "mean_error_diff")


def load_analysis_study(dataset: str, data_dir: str | None, seed: int, *, partial: bool = False) -> Study:
    """vafa2025 (or another card) through :func:`steerstats.data.load_study`; ``synthetic`` is the
    decomposition simulation (known mu_i and p_i, see :mod:`steerstats.data.simulate.decomposition`),
    ``synthetic-nonadditive`` its scenario with model-specific slopes and a non-linear goal effect."""
    if dataset in ("synthetic", "synthetic-nonadditive"):
        from steerstats.data.simulate.decomposition import (
            nonadditive_params,
            simulate_decomposition_study,
        )

        return simulate_decomposition_study(nonadditive_params() if dataset.endswith("nonadditive") else None, seed=seed)
    from steerstats.data import load_study

    return load_study(dataset, data_dir, seed, partial=partial)


def decomposition_frame(data, interval, method: str, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows per compared model: each term with ci_low/ci_high (and truth_* when known)."""
    rows = []
    for k, m in enumerate(data.models):
        if k == data.reference:
            continue
        row: dict = {"model": m, "reference": data.models[data.reference]}
        for j, t in enumerate(TERM_COLUMNS):
            row[t] = float(interval.estimate[j, k])
            row[f"{t}_ci_low"] = float(interval.ci_low[j, k])
            row[f"{t}_ci_high"] = float(interval.ci_high[j, k])
        row["method"] = method
        rows.append(row)
    out = pd.DataFrame(rows)
    if truth is not None:
        t = truth.set_index("model")
        for col in TERM_COLUMNS:
            out[f"truth_{col}"] = out["model"].map(t[col])
    return out


@dataclass
class DecompositionStudy:
    """What :func:`run_decomposition` computed."""

    terms: pd.DataFrame  # per (method, compared model): the four terms, 95% intervals, truth_* if known
    predictor_fit: pd.DataFrame  # cross-fitted fit of mu_i per model
    calibration: pd.DataFrame  # calibration of the cross-fitted mu by decile
    estimator: str
    blocks: tuple[str, ...]
    interval: str  # the frequentist interval's method
    influence: bool  # True: influence-function t intervals; False: refit cluster bootstrap
    n_boot: int
    n_splits: int
    info: dict[str, Any] = field(default_factory=dict)  # ridge alphas, feature count, NUTS diagnostics
    posterior: Any = None  # arviz InferenceData of the Bayesian model (bayes=True)
    caution: str | None = None  # too many features for the goals (estimate.feature_dimension_caution)


def _bayes_interval(data, nuts: dict, seed: int):
    from steerstats.decompose.bayes import linear_decomposition_model, model_inputs, posterior_terms
    from steerstats.decompose.bootstrap import TermsInterval
    from steerstats.uncertainty.bayes import NutsSettings, run_nuts

    settings = NutsSettings(**{"num_warmup": 1000, "num_samples": 1000, "num_chains": 2, **nuts})
    kwargs, center, scale = model_inputs(data)
    posterior = run_nuts(linear_decomposition_model, kwargs, settings, seed)
    diagnostics = {
        "rhat_max": posterior.diagnostics.rhat_max,
        "rhat_worst": posterior.diagnostics.rhat_worst,
        "ess_bulk_min": posterior.diagnostics.ess_bulk_min,
        "n_divergent": posterior.diagnostics.n_divergent,
        "seconds": posterior.seconds,
        "ok": posterior.diagnostics.ok,
    }
    draws = posterior_terms(posterior.samples, data, center, scale, seed=seed)
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    interval = TermsInterval(
        estimate=draws.mean(axis=0), ci_low=lo, ci_high=hi, se=draws.std(axis=0, ddof=1),
        draws=draws, level=0.95, method="Bayesian hierarchical model",
    )
    return interval, diagnostics, posterior.inference_data()


def run_decomposition(
    study: Study,
    *,
    embedder: str = "tfidf",
    reference: str = "dall-e-2",
    goal_source: str = "text",
    prompt_source: str | None = None,
    n_boot: int = 200,
    interval: str | None = None,
    n_splits: int | None = None,
    bayes: bool = False,
    nuts: dict | None = None,
    seed: int = 0,
    n_jobs: int = 2,
    cache_dir: str | None = None,
    embedder_options: dict | None = None,
    progress: bool = True,
    estimator: str = "interacted",
    blocks: tuple[str, ...] = ("model", "goal"),
    components: int | None = None,
) -> DecompositionStudy:
    """The decomposition of ``study``'s steering table against ``reference`` (module docstring);
    ``components``: see :func:`~steerstats.decompose.estimate.prepare_decomposition`."""
    check_n_boot(n_boot)
    from steerstats.decompose.diagnostics import predictor_diagnostics
    from steerstats.decompose.estimate import (
        crossfit_mu,
        feature_dimension_caution,
        prepare_decomposition,
    )
    from steerstats.decompose.influence import N_SPLITS, terms_interval
    from steerstats.features import EmbeddingCache, make_embedder
    from steerstats.predictors.study import goal_table_for, prompt_table_for

    frame = study.require("steering").reset_index(drop=True)
    data = prepare_decomposition(
        frame,
        reference=reference,
        embedder=make_embedder(embedder, seed=seed, **(embedder_options or {})),
        goal_embeddings=goal_table_for(study, goal_source),
        prompt_embeddings=prompt_table_for(prompt_source),
        cache=EmbeddingCache(cache_dir) if cache_dir else None,
        seed=seed,
        estimator=estimator,
        blocks=blocks,
        components=components,
    )
    from steerstats.data.simulate.decomposition import DecompositionTruth

    truth = study.truth.terms_for(reference) if isinstance(study.truth, DecompositionTruth) else None
    n_splits = N_SPLITS if n_splits is None else n_splits
    boot = terms_interval(data, interval=interval, n_splits=n_splits, n_boot=n_boot, seed=seed, n_jobs=n_jobs,
                          progress=progress)
    influence = boot.df is not None
    parts = [decomposition_frame(data, boot, "influence function" if influence else "cluster bootstrap (refit)", truth)]
    mu, alphas = crossfit_mu(data)
    info: dict[str, Any] = {"ridge_alpha_per_fold": alphas.tolist(), "n_features": int(data.features.shape[1]),
                            "features_before_components": data.reduced_from, "estimator": estimator,
                            "blocks": list(blocks), "interval": boot.method}
    fit, calibration = predictor_diagnostics(data, mu)
    posterior = None
    if bayes:
        bayes_interval, info["nuts"], posterior = _bayes_interval(data, {"progress": progress, **(nuts or {})}, seed)
        parts.append(decomposition_frame(data, bayes_interval, "Bayesian hierarchical model", truth))
    return DecompositionStudy(
        terms=pd.concat(parts, ignore_index=True), predictor_fit=fit, calibration=calibration, estimator=estimator,
        blocks=tuple(blocks), interval=boot.method, influence=influence, n_boot=n_boot, n_splits=n_splits,
        info=info, posterior=posterior, caution=feature_dimension_caution(data),
    )
