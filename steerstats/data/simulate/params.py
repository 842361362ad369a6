"""The synthetic steerability study's parameters and shared latent draws (model of :mod:`steerstats.data.simulate`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from steerstats.errors import ConfigError

IMAGE_MODELS: tuple[str, ...] = (
    "dall-e-2",
    "dall-e-3",
    "flux-dev",
    "flux-1.1-pro-ultra",
    "ideogram-v2-turbo",
    "photon-flash",
    "sd3-large",
    "sd3.5-medium",
    "sd3.5-large-turbo",
    "sd3.5-large",
)
LLM_MODELS: tuple[str, ...] = (
    "claude-3-5-sonnet-20241022",
    "gemini-1.5-flash",
    "gemini-2.0-flash-exp",
    "gpt-4o",
    "meta-llama/Llama-3.3-70B-Instruct-Turbo",
)
SEED_MODEL = "sd3.5-large-turbo"  # the model of the seed-constraint experiment
NO_SEED_MODELS = ("dall-e-2", "dall-e-3")  # no user-chosen seed (not in choosing_seed.csv)
ATTEMPTS = 5
BLIND_K = (4, 7, 10, 20)
URL = "synthetic://"


@dataclass(frozen=True)
class SimulationParams:
    """Explicit parameters of the synthetic study. Defaults are calibrated to the release.

    Per-model tuples align with ``models``. Logit-scale quantities act on the linear predictor
    ``eta`` (``dreamsim = sigmoid(eta)``); judgement quantities are on the probit scale.
    """

    # design (release: 277 users x 2 goals x 5 attempts, one model per user)
    models: tuple[str, ...] = IMAGE_MODELS
    n_users: int = 277
    goals_per_user: int = 2
    # steering mechanism alpha_m (logit); defaults reproduce the release's per-model means
    model_effect: tuple[float, ...] = (0.0, 0.52, 0.93, 0.68, 0.66, 0.74, 0.82, 0.75, 0.58, 0.77)
    # mean difficulty delta_m of the goals each model produces (logit; higher = harder)
    goal_difficulty: tuple[float, ...] = (-0.2, 0.0, 0.0, -0.1, -0.2, -0.2, -0.1, -0.1, -0.2, -0.1)
    sigma_goal: float = 0.34  # sd of goal difficulty within a model
    sigma_user: float = 0.50  # sd of the steering-user effect
    sigma_attempt: float = 0.31  # sd of attempt-level noise
    attempt_trend: float = 0.06  # tau: change in eta per attempt
    clip_intercept: float = 1.12
    clip_slope: float = 0.78
    clip_noise: float = 0.55
    # ratings (sat_rating_4.csv): ordered probit on rating_slope * eta + rater effect + N(0, 1)
    n_ratings: int = 2575
    n_raters: int = 103
    rating_slope: float = 1.0
    rating_cutpoints: tuple[float, float, float] = (-0.1, 1.0, 2.4)
    sigma_rater: float = 0.5
    # judgements: improvement.csv, pom1.csv, pom5.csv (judgements per (user, goal) sequence)
    improvement_per_goal: int = 6
    pom_per_goal: int = 3
    n_judges: int = 113
    judge_slope: float = 2.0  # sharpness of 'last closer than first' in eta units
    pom1_prob: float = 0.57
    pom5_prob: float = 0.64
    sigma_judge_goal: float = 0.5  # goal-level heterogeneity of POM judgements (probit)
    # blind steering (appendix C.1)
    blind_goals: int = 100
    rewrite_shift: float = -0.13
    rewrite_sd: float = 0.45
    # seed experiments
    choosing_seed_users: int = 29
    choosing_seed_effect: float = 0.05
    seed_constraint_users: int = 30
    seed_constraint_effect: tuple[float, float, float] = (0.30, 0.15, 0.15)  # n = 1, 2, 3
    # image steering traces: users per condition, P(keep current image) per round
    image_steering_users: tuple[int, int, int] = (50, 33, 116)  # random, learned, learned_tiles
    keep_current_prob: tuple[float, ...] = (0.40, 0.55, 0.70, 0.70)
    learned_mixture_scales: tuple[float, ...] = (0.8, 0.7, 0.8, 0.4)
    # LLM study
    llm_models: tuple[str, ...] = LLM_MODELS
    llm_users: int = 60
    llm_model_effect: tuple[float, ...] = (1.0, 1.1, 0.95, 1.15, 0.95)
    llm_attempt_trend: float = 0.04
    llm_missing_attempt_prob: float = 0.08  # per middle attempt (2..4)
    llm_ratings: int = 980
    llm_raters: int = 35
    llm_improvement_per_goal: int = 9
    # Monte Carlo size for truths without a closed form (blind-steering ratios)
    truth_mc_draws: int = 200_000

    def __post_init__(self) -> None:
        n = len(self.models)
        for name in ("model_effect", "goal_difficulty"):
            if len(getattr(self, name)) != n:
                raise ConfigError(f"SimulationParams.{name} needs one value per model ({n})")
        if len(self.llm_model_effect) != len(self.llm_models):
            raise ConfigError("SimulationParams.llm_model_effect needs one value per LLM model")
        if list(self.rating_cutpoints) != sorted(self.rating_cutpoints):
            raise ConfigError("SimulationParams.rating_cutpoints must increase")
        if len(self.keep_current_prob) != len(self.learned_mixture_scales):
            raise ConfigError("keep_current_prob and learned_mixture_scales need one value per round")
        for name in ("pom1_prob", "pom5_prob", "llm_missing_attempt_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"SimulationParams.{name} must be in [0, 1]")
        if self.n_users < 1 or self.goals_per_user < 1:
            raise ConfigError("SimulationParams needs at least one user and one goal per user")


def _rng(rng_or_seed: int | np.random.Generator | np.random.SeedSequence) -> np.random.Generator:
    if isinstance(rng_or_seed, np.random.Generator):
        return rng_or_seed
    return np.random.default_rng(rng_or_seed)


def model_of_user(n_users: int, n_models: int) -> np.ndarray:
    """Model index per user: round robin, so models get floor/ceil(n_users / n_models) users."""
    return np.arange(n_users) % n_models


# --------------------------------------------------------------------------- text steering


@dataclass(frozen=True)
class _Latent:
    """Latent quantities of a simulated steering frame, aligned with its rows."""

    eta: np.ndarray  # linear predictor per row
    base: np.ndarray  # alpha_m - d_g + b_u per row (eta without trend and attempt noise)
    seq: np.ndarray  # sequence index per row (one per user x goal)
    goal_difficulty: np.ndarray | None = None  # d_g per sequence
    user_effect: np.ndarray | None = None  # b_u per user
