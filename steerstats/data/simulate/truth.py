"""True values of the quantities the steerability metrics estimate, for a :class:`SimulationParams`.

All expectations are over the population the simulator samples from (new users, goals, raters),
with the design's model shares (round-robin assignment of users to models). Logistic-normal means
``E[sigmoid(N(mu, s^2))]`` use 80-point Gauss-Hermite quadrature; probit judgements have closed
forms ``P(a + b * N(mu, s^2) + N(0, 1 + r^2) > c) = Phi((a + b mu - c) / sqrt(1 + r^2 + b^2 s^2))``.
Blind-steering ratios (a max over draws) use Monte Carlo with ``truth_mc_draws`` draws from a
fixed seed, so the truth is a deterministic function of the parameters (MC sd about 1e-3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, ndtr

from steerstats.data.simulate import (
    ATTEMPTS,
    BLIND_K,
    NO_SEED_MODELS,
    SEED_MODEL,
    SimulationParams,
    model_of_user,
    pom_threshold,
)

_GH_X, _GH_W = np.polynomial.hermite.hermgauss(80)
TRUTH_MC_SEED = 20250101


def truth_label(value: object) -> object:
    """A table label as a truth key: str, or a tuple of str for several label columns."""
    return tuple(str(v) for v in value) if isinstance(value, tuple) else str(value)


@dataclass(frozen=True)
class SimulationTruth:
    """Known values of a simulated study: one typed field per quantity (a subclass per simulator).

    :meth:`lookup` gives one field as ``{label: value}`` for placing truths next to estimates
    (``steerstats.steerability.add_truth``; the tidy tables' ``method = "truth"`` rows)."""

    def lookup(self, key: str, field: str | None = None) -> dict | None:
        """Field ``key`` as {label (str, or tuple of str): value}, or None if there is no such
        field or it is empty. A Series maps label -> value, a DataFrame gives column ``field``
        (without ``field`` a wide frame is stacked to (row, column) labels), a dict of dicts gives
        ``field`` of each entry."""
        if key not in {f.name for f in dataclasses.fields(self)}:
            return None
        value = getattr(self, key)
        if isinstance(value, pd.DataFrame):
            if field is not None:
                if field not in value.columns:
                    return None
                series = value[field]
            else:
                series = value.stack()
        elif isinstance(value, pd.Series):
            series = value
        elif isinstance(value, Mapping):
            if field is None:
                series = pd.Series(value, dtype=float)
            else:
                series = pd.Series({k: v[field] for k, v in value.items() if isinstance(v, Mapping) and field in v},
                                   dtype=float)
        else:
            return None
        return {truth_label(k): float(v) for k, v in series.items()}


@dataclass(frozen=True)
class SteerabilityTruth(SimulationTruth):
    """The true values a steerability analysis of ``simulate_study(params)`` estimates
    (:func:`simulation_truth`). Series indexed by model end with an "Average"/"Overall" row
    weighted by the design's model shares."""

    params: SimulationParams
    model_effect: pd.Series
    goal_difficulty_mean: pd.Series
    dreamsim_mean_by_model: pd.Series
    dreamsim_mean_by_attempt: pd.DataFrame  # model x attempt 1..5
    clip_mean_by_model: pd.Series
    #: rows: steering model i, columns: goal model j; E_{goal ~ p_j}[mean over attempts of E dreamsim under i]
    dreamsim_cross: pd.DataFrame
    rating_mean_by_model: pd.Series
    rating_probs_by_model: pd.DataFrame  # model x rating 1..4
    share_unsatisfied_by_model: pd.Series  # rating <= 2
    share_very_satisfied_by_model: pd.Series  # rating == 4
    improvement_prob_by_model: pd.Series  # per-judgement probabilities
    pom1_prob_by_model: pd.Series
    pom5_prob_by_model: pd.Series
    pom_thresholds: dict[int, float]
    blind_steering: dict[int, dict[str, float]]  # k -> human_improvement, llm_improvement, ratio
    seed_constraint: dict[Any, float]  # {1, 2, 3, "default"}: mean dreamsim; empty without sd3.5-large-turbo
    choosing_seed: pd.DataFrame | None  # attempt -> chosen_mean, not_chosen_mean; None: no model takes a seed
    image_steering: pd.DataFrame  # (condition, round) -> keep_current_prob, mixture_scale_mean
    llm_rating_mean_by_model: pd.Series
    llm_very_satisfied_by_model: pd.Series
    llm_improvement_prob_by_model: pd.Series
    #: the realised latent effects of one draw (simulate_study), None for the population truth alone
    goal_difficulty_by_goal: pd.Series | None = None
    user_effect_by_user: pd.Series | None = None


def expected_sigmoid(mean: np.ndarray | float, var: float) -> np.ndarray:
    """E[sigmoid(X)], X ~ N(mean, var), by Gauss-Hermite quadrature (elementwise in ``mean``)."""
    m = np.asarray(mean, dtype=float)[..., None]
    return (expit(m + np.sqrt(2.0 * var) * _GH_X) @ _GH_W) / np.sqrt(np.pi)


def _shares(n_users: int, n_models: int) -> np.ndarray:
    counts = np.bincount(model_of_user(n_users, n_models), minlength=n_models).astype(float)
    return counts / counts.sum()


def _eta_var(p: SimulationParams) -> float:
    return p.sigma_user**2 + p.sigma_goal**2 + p.sigma_attempt**2


def _with_total(s: pd.Series, weights: np.ndarray, label: str) -> pd.Series:
    return pd.concat([s, pd.Series({label: float(np.dot(s.to_numpy(), weights))})])


def _rating_table(mu: np.ndarray, p: SimulationParams, var: float) -> np.ndarray:
    """P(rating = 1..4) for latent means ``mu`` (shape (..., ATTEMPTS)) -> (..., ATTEMPTS, 4)."""
    scale = np.sqrt(1.0 + p.sigma_rater**2 + p.rating_slope**2 * var)
    above = ndtr((p.rating_slope * mu[..., None] - np.asarray(p.rating_cutpoints)) / scale)
    ge = np.concatenate([np.ones((*mu.shape, 1)), above], axis=-1)  # P(rating >= 1..4)
    return ge - np.concatenate([ge[..., 1:], np.zeros((*mu.shape, 1))], axis=-1)


def _improvement_prob(p: SimulationParams, trend: float) -> float:
    d = trend * (ATTEMPTS - 1)
    scale = np.sqrt(1.0 + p.sigma_rater**2 + p.judge_slope**2 * 2 * p.sigma_attempt**2)
    return float(ndtr(p.judge_slope * d / scale))


def _blind_truth(p: SimulationParams, shares: np.ndarray) -> dict[int, dict[str, float]]:
    rng = np.random.default_rng(TRUTH_MC_SEED)
    n = p.truth_mc_draws
    m = rng.choice(len(p.models), size=n, p=shares)
    base = (
        np.asarray(p.model_effect)[m]
        - (np.asarray(p.goal_difficulty)[m] + p.sigma_goal * rng.standard_normal(n))
        + p.sigma_user * rng.standard_normal(n)
    )
    trend = p.attempt_trend * np.arange(ATTEMPTS)
    sims = expit(base[:, None] + trend + p.sigma_attempt * rng.standard_normal((n, ATTEMPTS)))
    human = sims.max(axis=1) - sims[:, 0]
    out = {}
    for k in BLIND_K:
        best = expit(base[:, None] + p.rewrite_shift + p.rewrite_sd * rng.standard_normal((n, k))).max(axis=1)
        llm = np.maximum(0.0, best - sims[:, 0])
        out[k] = {
            "human_improvement": float(human.mean()),
            "llm_improvement": float(llm.mean()),
            "ratio": float(llm.mean() / human.mean()),
        }
    return out


def simulation_truth(p: SimulationParams) -> SteerabilityTruth:
    """The true values a steerability analysis of ``simulate_study(p)`` estimates (the fields of
    :class:`SteerabilityTruth`, without the realised latent effects of a draw)."""
    models = list(p.models)
    var = _eta_var(p)
    alpha, delta = np.asarray(p.model_effect), np.asarray(p.goal_difficulty)
    trend = p.attempt_trend * np.arange(ATTEMPTS)
    shares = _shares(p.n_users, len(models))
    mu = (alpha - delta)[:, None] + trend[None, :]  # model x attempt
    by_attempt = pd.DataFrame(expected_sigmoid(mu, var), index=models, columns=range(1, ATTEMPTS + 1))
    ds = _with_total(by_attempt.mean(axis=1), shares, "Average")
    clip = pd.Series(
        expected_sigmoid(p.clip_intercept + p.clip_slope * mu, p.clip_slope**2 * var + p.clip_noise**2).mean(axis=1),
        index=models,
    )
    cross = expected_sigmoid(alpha[:, None, None] - delta[None, :, None] + trend[None, None, :], var).mean(axis=2)
    probs = _rating_table(mu, p, var).mean(axis=1)  # model x 4, attempts equally likely
    rating_probs = pd.DataFrame(probs, index=models, columns=[1, 2, 3, 4])
    rating_mean = pd.Series(probs @ np.arange(1, 5), index=models)
    imp = _improvement_prob(p, p.attempt_trend)

    m_seed = models.index(SEED_MODEL) if SEED_MODEL in models else None
    seed_constraint: dict[Any, float] = {}
    if m_seed is not None:
        for n, eff in zip((1, 2, 3), p.seed_constraint_effect, strict=True):
            seed_constraint[n] = float(expected_sigmoid(mu[m_seed] + eff, var).mean())
        seed_constraint["default"] = float(ds[SEED_MODEL])
    seed_models = [i for i, m in enumerate(models) if m not in NO_SEED_MODELS]
    choosing = None
    if seed_models and p.choosing_seed_users >= 1:
        cs_share = _shares(p.choosing_seed_users, len(seed_models))
        main_share = shares[seed_models] / shares[seed_models].sum()
        choosing = pd.DataFrame(
            {
                "chosen_mean": cs_share @ expected_sigmoid(mu[seed_models] + p.choosing_seed_effect, var),
                "not_chosen_mean": main_share @ expected_sigmoid(mu[seed_models], var),
            },
            index=pd.Index(range(1, ATTEMPTS + 1), name="attempt"),
        )

    rounds = range(1, len(p.keep_current_prob) + 1)
    image = pd.DataFrame(
        [
            {"condition": c, "round": r, "keep_current_prob": p.keep_current_prob[r - 1],
             "mixture_scale_mean": 0.5 if c == "random" else p.learned_mixture_scales[r - 1]}
            for c in ("random", "learned", "learned_tiles") for r in rounds
        ]
    ).set_index(["condition", "round"])

    llm_models = list(p.llm_models)
    llm_shares = _shares(p.llm_users, len(llm_models))
    llm_mu = np.asarray(p.llm_model_effect)[:, None] + p.llm_attempt_trend * np.arange(ATTEMPTS)[None, :]
    present = np.array([1.0] + [1.0 - p.llm_missing_attempt_prob] * (ATTEMPTS - 2) + [1.0])
    llm_probs = np.einsum("mak,a->mk", _rating_table(llm_mu, p, var), present / present.sum())
    llm_imp = _improvement_prob(p, p.llm_attempt_trend)

    def per_model(values: np.ndarray, label: str) -> pd.Series:
        return _with_total(pd.Series(values, index=models), shares, label)

    def per_llm(values: np.ndarray) -> pd.Series:
        return _with_total(pd.Series(values, index=llm_models), llm_shares, "Overall")

    return SteerabilityTruth(**{
        "params": p,
        "model_effect": pd.Series(alpha, index=models),
        "goal_difficulty_mean": pd.Series(delta, index=models),
        "dreamsim_mean_by_model": ds,
        "dreamsim_mean_by_attempt": by_attempt,
        "clip_mean_by_model": _with_total(clip, shares, "Average"),
        "dreamsim_cross": pd.DataFrame(cross, index=models, columns=models),
        "rating_mean_by_model": per_model(rating_mean.to_numpy(), "Overall"),
        "rating_probs_by_model": rating_probs,
        "share_unsatisfied_by_model": per_model(probs[:, :2].sum(axis=1), "Overall"),
        "share_very_satisfied_by_model": per_model(probs[:, 3], "Overall"),
        "improvement_prob_by_model": per_model(np.full(len(models), imp), "Overall"),
        "pom1_prob_by_model": per_model(np.full(len(models), p.pom1_prob), "Overall"),
        "pom5_prob_by_model": per_model(np.full(len(models), p.pom5_prob), "Overall"),
        "pom_thresholds": {1: pom_threshold(p.pom1_prob, p.sigma_judge_goal), 5: pom_threshold(p.pom5_prob, p.sigma_judge_goal)},
        "blind_steering": _blind_truth(p, shares),
        "seed_constraint": seed_constraint,
        "choosing_seed": choosing,
        "image_steering": image,
        "llm_rating_mean_by_model": per_llm(llm_probs @ np.arange(1, 5)),
        "llm_very_satisfied_by_model": per_llm(llm_probs[:, 3]),
        "llm_improvement_prob_by_model": per_llm(np.full(len(llm_models), llm_imp)),
    })
