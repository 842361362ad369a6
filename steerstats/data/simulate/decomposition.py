"""A synthetic steering study with a known producibility/steering decomposition (SPEC section 1).

Gaussian goal features, so that mu_i(x) and p_i(x) give the terms in closed form (the
release-calibrated simulator in :mod:`steerstats.data.simulate` has a scalar goal difficulty that
no feature reveals and a sigmoid link, which suits the metrics but not a test of the
decomposition estimator).

Every goal g of model i has features x_g ~ N(shift_i * v, I_k) (p_i, what model i produces; v a
fixed unit vector) and difficulty d(x) = v'x ~ N(shift_i, 1). User u steers model i toward goal g
in attempts a = 1..5:

    dreamsim = c_i - s_i * d(x_g) + kappa * (d(x_g)^2 - 1) + trend * (a - 3) + b_u + e_g + eps,
    b_u ~ N(0, user_sd^2),  e_g ~ N(0, goal_sd^2),  eps ~ N(0, noise_sd^2)

with model-specific slopes s_i (``slopes``; default: one ``slope`` for all) and a non-linear goal
effect of curvature kappa (``curvature``; default 0). So mu_i(x) = c_i - s_i d + kappa (d^2 - 1)
(averaged over attempts) and, for models i (compared) and 1 (the reference):

    steering term   E_{p_i}[mu_i - mu_1]           = c_i - c_1 - (s_i - s_1) shift_i
    producible term E_{p_i}[mu_1] - E_{p_1}[mu_1]  = -s_1 (shift_i - shift_1) + E_{p_i}[g] - E_{p_1}[g]

(E[g] = kappa shift^2 for the quadratic effect; ``curvature_shape = "sine"`` uses
g(d) = kappa sin(1.5 d), E[g] = kappa sin(1.5 shift) exp(-1.125): an effect no second-order
polynomial captures.)

The defaults are additive and linear (one slope, no curvature); :func:`nonadditive_params` gives
the scenario an additive estimator cannot fit: slopes that differ by model, curvature, and goal
distributions that differ across models.

The goal's "image embedding" is x_g itself (``truth.goal_embeddings``, keyed by goal URL), followed
by ``irrelevant_features`` columns of N(0, irrelevant_sd^2) noise that neither the outcome nor p_i
depends on (a high-dimensional embedding whose signal lies in its leading components); its
``reference_prompt`` is a text whose words encode the quantised coordinates of x_g, and the user's
prompt paraphrases part of it, so text embedders can also see the goal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.data.simulate.truth import SimulationTruth
from steerstats.data.study import Study
from steerstats.errors import ConfigError

URL = "synthetic://decomposition/"
_LEVELS = ("tiny", "small", "medium", "large", "huge")
_NOUNS = ("castle", "forest", "robot", "harbor", "garden", "desert", "violin", "dragon", "bicycle", "lantern")
_FILLER = ("photo", "scene", "detailed", "bright", "style", "image", "view", "soft", "light", "colour")


@dataclass(frozen=True)
class DecompositionSimParams:
    """Parameters of :func:`simulate_decomposition_study` (per-model tuples align with ``models``)."""

    models: tuple[str, ...] = ("dall-e-2", "dall-e-3", "flux-dev", "sd3-large")
    steerability: tuple[float, ...] = (0.55, 0.60, 0.64, 0.64)  # c_i
    goal_shift: tuple[float, ...] = (0.0, 0.8, -0.2, 0.8)  # shift_i: mean difficulty of p_i
    slope: float = 0.05  # similarity lost per unit of goal difficulty (every model, unless slopes)
    slopes: tuple[float, ...] | None = None  # s_i: model-specific slopes (non-additive mu)
    curvature: float = 0.0  # kappa: non-linear goal effect kappa * (d^2 - 1), or kappa * sin(1.5 d)
    curvature_shape: str = "quadratic"  # "quadratic" | "sine"
    n_features: int = 6
    irrelevant_features: int = 0  # extra goal features, N(0, irrelevant_sd^2), unrelated to y and to p_i
    irrelevant_sd: float = 0.5
    users_per_model: int = 28
    goals_per_user: int = 2
    attempts: int = 5
    trend: float = 0.01
    user_sd: float = 0.04
    goal_sd: float = 0.02
    noise_sd: float = 0.08

    def __post_init__(self) -> None:
        k = len(self.models)
        if len(self.steerability) != k or len(self.goal_shift) != k:
            raise ConfigError("steerability and goal_shift need one value per model")
        if self.slopes is not None and len(self.slopes) != k:
            raise ConfigError("slopes need one value per model")
        if self.curvature_shape not in ("quadratic", "sine"):
            raise ConfigError("curvature_shape must be 'quadratic' or 'sine'")
        if self.irrelevant_features < 0 or self.irrelevant_sd <= 0:
            raise ConfigError("irrelevant_features must be >= 0 and irrelevant_sd > 0")
        if k < 2 or self.n_features < 1 or self.users_per_model < 1 or self.attempts < 1:
            raise ConfigError("the decomposition simulation needs >= 2 models, >= 1 feature, user, attempt")


def model_slopes(params: DecompositionSimParams) -> np.ndarray:
    """s_i per model: ``slopes`` if given, else ``slope`` for every model."""
    if params.slopes is not None:
        return np.asarray(params.slopes, dtype=float)
    return np.full(len(params.models), params.slope)


SINE_FREQUENCY = 1.5


def goal_effect(params: DecompositionSimParams, d: np.ndarray) -> np.ndarray:
    """The non-linear goal effect g(d): kappa (d^2 - 1) or kappa sin(1.5 d)."""
    if params.curvature_shape == "sine":
        return params.curvature * np.sin(SINE_FREQUENCY * d)
    return params.curvature * (d**2 - 1)


def mean_goal_effect(params: DecompositionSimParams, shift: np.ndarray) -> np.ndarray:
    """E[g(d)] for d ~ N(shift, 1): kappa shift^2, or kappa sin(1.5 shift) exp(-1.5^2 / 2)."""
    shift = np.asarray(shift, dtype=float)
    if params.curvature_shape == "sine":
        return params.curvature * np.sin(SINE_FREQUENCY * shift) * np.exp(-(SINE_FREQUENCY**2) / 2)
    return params.curvature * shift**2


def nonadditive_params(**overrides) -> DecompositionSimParams:
    """A scenario that breaks the additive estimator's assumptions: slopes from 0 to 0.12 by model,
    a curvature of 0.03 and goal distributions shifted differently per model."""
    base = {
        "slopes": (0.05, 0.12, 0.0, 0.09),
        "curvature": 0.03,
        "goal_shift": (0.0, 0.9, -0.5, 0.6),
    }
    return DecompositionSimParams(**{**base, **overrides})


def difficulty_direction(n_features: int) -> np.ndarray:
    """The fixed unit vector v along which goal difficulty d(x) = v'x is measured."""
    v = 1.0 / np.arange(1, n_features + 1)
    return v / np.linalg.norm(v)


def true_decomposition(params: DecompositionSimParams, reference: str | None = None) -> pd.DataFrame:
    """Population truth of the decomposition for every model against ``reference`` (default: first)."""
    p = params
    ref = p.models.index(reference or p.models[0])
    c = np.asarray(p.steerability)
    s = np.asarray(p.goal_shift)
    slope = model_slopes(p)
    rows = []
    for i, m in enumerate(p.models):
        if i == ref:
            continue
        steer = c[i] - c[ref] - (slope[i] - slope[ref]) * s[i]
        prod = -slope[ref] * (s[i] - s[ref]) + float(mean_goal_effect(p, s[i]) - mean_goal_effect(p, s[ref]))
        rows.append(
            {
                "model": m,
                "reference": p.models[ref],
                "observed_diff": steer + prod,
                "steering_term": steer,
                "producible_term": prod,
                "mean_error_diff": 0.0,
            }
        )
    return pd.DataFrame(rows)


def oracle_mu(params: DecompositionSimParams, frame: pd.DataFrame, goal_embeddings: pd.DataFrame) -> np.ndarray:
    """(n, K) exact conditional mean of every row under every model's identity:
    c_k - s_k d(x_g) + kappa (d^2 - 1) + trend * (attempt - 3) (user, goal and attempt noise
    excluded)."""
    x = goal_embeddings.set_index("goal_image").loc[frame["goal_image"]].to_numpy(dtype=float)[:, : params.n_features]
    d = x @ difficulty_direction(params.n_features)
    mid = (params.attempts + 1) / 2
    base = goal_effect(params, d) + params.trend * (frame["attempt"].to_numpy() - mid)
    return base[:, None] + np.asarray(params.steerability)[None, :] - d[:, None] * model_slopes(params)[None, :]


@dataclass(frozen=True)
class DecompositionTruth(SimulationTruth):
    """Known values of :func:`simulate_decomposition_study`: the population terms against the first
    model, the goal features and the exact conditional means of the draw."""

    params: DecompositionSimParams
    terms: pd.DataFrame  # true_decomposition(params): model, reference, observed_diff, steering_term, ...
    goal_embeddings: pd.DataFrame  # goal_image + x0..x{k-1} (+ irrelevant features)
    mu_oracle: np.ndarray  # (n, K) oracle_mu of the steering rows

    def terms_for(self, reference: str) -> pd.DataFrame:
        """The population terms against ``reference``."""
        if str(self.terms["reference"].iloc[0]) == reference:
            return self.terms
        return true_decomposition(self.params, reference)


def _describe(x: np.ndarray, rng: np.random.Generator) -> str:
    """A reference prompt whose words encode the quantised goal coordinates."""
    bins = np.clip(np.floor((x + 2.5) / 1.0), 0, len(_LEVELS) - 1).astype(int)
    words = [f"{_LEVELS[b]} {_NOUNS[j % len(_NOUNS)]}" for j, b in enumerate(bins)]
    filler = rng.choice(_FILLER, size=3, replace=False).tolist()
    return "a " + ", ".join(words) + ", " + " ".join(filler)


def _paraphrase(reference: str, attempt: int, rng: np.random.Generator) -> str:
    """The user's prompt: a growing share of the reference's phrases, in a shuffled order."""
    phrases = reference.removeprefix("a ").split(", ")
    keep = max(1, round(len(phrases) * min(1.0, 0.3 + 0.15 * attempt)))
    chosen = rng.choice(phrases, size=keep, replace=False).tolist()
    return " ".join(chosen)


def simulate_decomposition_study(
    params: DecompositionSimParams | None = None, seed: int | Sequence[int] = 0
) -> Study:
    """A :class:`Study` with ``steering`` in the release schema and ``truth`` holding
    ``decomposition`` (population terms vs the first model), ``goal_embeddings`` (goal_image,
    x0..x{k-1} and the irrelevant features after them), ``params`` and ``mu_oracle`` (see :func:`oracle_mu`). Deterministic for ``seed``."""
    p = params or DecompositionSimParams()
    rng = np.random.default_rng(seed)
    v = difficulty_direction(p.n_features)
    k = len(p.models)
    n_users = k * p.users_per_model
    user_model = np.repeat(np.arange(k), p.users_per_model)
    n_goals = n_users * p.goals_per_user
    goal_user = np.repeat(np.arange(n_users), p.goals_per_user)
    goal_model = user_model[goal_user]
    x = rng.standard_normal((n_goals, p.n_features)) + np.asarray(p.goal_shift)[goal_model, None] * v
    b_u = p.user_sd * rng.standard_normal(n_users)
    e_g = p.goal_sd * rng.standard_normal(n_goals)
    references = [_describe(x[g], rng) for g in range(n_goals)]

    goal = np.repeat(np.arange(n_goals), p.attempts)
    attempt = np.tile(np.arange(1, p.attempts + 1), n_goals)
    mid = (p.attempts + 1) / 2
    m = goal_model[goal]
    d = x[goal] @ v
    y = (
        np.asarray(p.steerability)[m]
        - model_slopes(p)[m] * d
        + goal_effect(p, d)
        + p.trend * (attempt - mid)
        + b_u[goal_user[goal]]
        + e_g[goal]
        + p.noise_sd * rng.standard_normal(goal.size)
    )
    goal_urls = np.array([f"{URL}goal/{g:05d}.png" for g in range(n_goals)], dtype=object)
    frame = pd.DataFrame(
        {
            "dreamsim": y,
            "goal_image": goal_urls[goal],
            "steering_user_id": [f"du{u:04d}" for u in goal_user[goal]],
            "reference_prompt": [references[g] for g in goal],
            "model": np.asarray(p.models, dtype=object)[m],
            "attempt": attempt.astype("int64"),
            "generated_image": [f"{URL}image/{i:06d}.png" for i in range(goal.size)],
            "prompt": [_paraphrase(references[g], a, rng) for g, a in zip(goal, attempt, strict=True)],
            "duplicate": np.zeros(goal.size, dtype=bool),
            "clip_similarity": y + 0.05 * rng.standard_normal(goal.size),
        }
    )
    for col in ("goal_image", "steering_user_id", "reference_prompt", "model", "generated_image", "prompt"):
        frame[col] = frame[col].astype("str")
    if p.irrelevant_features:  # drawn last, so the other draws match the study without them
        x = np.hstack([x, p.irrelevant_sd * rng.standard_normal((n_goals, p.irrelevant_features))])
    goal_embeddings = pd.DataFrame(x, columns=[f"x{j}" for j in range(x.shape[1])])
    goal_embeddings.insert(0, "goal_image", pd.array(goal_urls, dtype="str"))
    truth = DecompositionTruth(params=p, terms=true_decomposition(p), goal_embeddings=goal_embeddings,
                               mu_oracle=oracle_mu(p, frame, goal_embeddings))
    return Study(
        name="synthetic-decomposition",
        steering=frame,
        truth=truth,
        source=f"simulate_decomposition_study(seed={seed})",
    )
