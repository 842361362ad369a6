"""A synthetic steering study with a known producibility/steering decomposition (SPEC section 1).

Linear-Gaussian on purpose, so that mu_i(x) and p_i(x) are known in closed form and a linear
predictor on the goal's features is well specified (the release-calibrated simulator in
:mod:`steerstats.data.simulate` has a scalar goal difficulty that no feature reveals and a sigmoid
link, which suits the metrics but not a test of the decomposition estimator).

Every goal g of model i has features x_g ~ N(shift_i * v, I_k) (p_i, what model i produces; v a
fixed unit vector) and difficulty d(x) = v'x. User u steers model i toward goal g in attempts
a = 1..5:

    dreamsim = c_i - slope * d(x_g) + trend * (a - 3) + b_u + e_g + eps,
    b_u ~ N(0, user_sd^2),  e_g ~ N(0, goal_sd^2),  eps ~ N(0, noise_sd^2)

so mu_i(x) = c_i - slope * v'x (averaged over attempts) and, for models i (compared) and 1 (ref):

    steering term   E_{p_i}[mu_i - mu_1]               = c_i - c_1
    producible term E_{p_i}[mu_1] - E_{p_1}[mu_1]      = -slope * (shift_i - shift_1)

The goal's "image embedding" is x_g itself (``truth["goal_embeddings"]``, keyed by goal URL); its
``reference_prompt`` is a text whose words encode the quantised coordinates of x_g, and the user's
prompt paraphrases part of it, so text embedders can also see the goal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

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
    slope: float = 0.05  # similarity lost per unit of goal difficulty
    n_features: int = 6
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
        if k < 2 or self.n_features < 1 or self.users_per_model < 1 or self.attempts < 1:
            raise ConfigError("the decomposition simulation needs >= 2 models, >= 1 feature, user, attempt")


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
    rows = []
    for i, m in enumerate(p.models):
        if i == ref:
            continue
        steer = c[i] - c[ref]
        prod = -p.slope * (s[i] - s[ref])
        rows.append(
            {
                "model": m,
                "reference": p.models[ref],
                "observed_diff": steer + prod,
                "steering_term": steer,
                "producible_term": prod,
                "residual": 0.0,
            }
        )
    return pd.DataFrame(rows)


def oracle_mu(params: DecompositionSimParams, frame: pd.DataFrame, goal_embeddings: pd.DataFrame) -> np.ndarray:
    """(n, K) exact conditional mean of every row under every model's identity:
    c_k - slope * d(x_g) + trend * (attempt - 3) (user, goal and attempt noise excluded)."""
    x = goal_embeddings.set_index("goal_image").loc[frame["goal_image"]].to_numpy(dtype=float)
    d = x @ difficulty_direction(params.n_features)
    mid = (params.attempts + 1) / 2
    base = -params.slope * d + params.trend * (frame["attempt"].to_numpy() - mid)
    return base[:, None] + np.asarray(params.steerability)[None, :]


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
    x0..x{k-1}), ``params`` and ``mu_oracle`` (see :func:`oracle_mu`). Deterministic for ``seed``."""
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
    y = (
        np.asarray(p.steerability)[m]
        - p.slope * (x[goal] @ v)
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
    goal_embeddings = pd.DataFrame(x, columns=[f"x{j}" for j in range(p.n_features)])
    goal_embeddings.insert(0, "goal_image", pd.array(goal_urls, dtype="str"))
    truth = {
        "decomposition": true_decomposition(p),
        "goal_embeddings": goal_embeddings,
        "params": asdict(p),
        "mu_oracle": oracle_mu(p, frame, goal_embeddings),
    }
    return Study(
        name="synthetic-decomposition",
        steering=frame,
        truth=truth,
        source=f"simulate_decomposition_study(seed={seed})",
    )
