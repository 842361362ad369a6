"""A synthetic steerability study with known truth, in the schema of the release (Vafa et al. 2025).

Generative model (logit scale; ``sigmoid`` maps to a similarity in (0, 1)). Steering user u steers
model m toward goal g (sampled from m itself) in attempts a = 1..5:

    goal difficulty   d_g  = delta_m + sigma_goal * z_g                 (what m tends to produce)
    user effect       b_u  = sigma_user * z_u
    linear predictor  eta_uga = alpha_m - d_g + b_u + tau * (a - 1) + sigma_attempt * e_uga
    dreamsim          = sigmoid(eta_uga)
    clip_similarity   = sigmoid(clip_intercept + clip_slope * eta_uga + clip_noise * e')

``alpha_m`` is model m's steering mechanism and ``delta_m`` the mean difficulty of the goals it
produces, so the producibility/steering decomposition (SPEC section 1) has a known truth.

Human judgements are probit models of the same latent quantities, each with a rater effect
v_r ~ N(0, sigma_rater^2) and unit noise:

    rating (1..4)      = 1 + #{k : rating_slope * eta + v_r + e > cut_k}
    last_chosen        = 1[judge_slope * (eta_u,g,5 - eta_u,g,1) + v_r + e > 0]
    ref_chosen (POM-a) = 1[theta_a + w_g + e > 0],  w_g ~ N(0, sigma_judge_goal^2),
                         theta_a set so that P(ref_chosen) equals ``pom{1,5}_prob``.

Blind steering rewrites (appendix C.1): a rewrite of the user's first prompt keeps the user's
and goal's effects but not the attempt noise: eta = alpha_m - d_g + b_u + rewrite_shift +
rewrite_sd * e. Choosing the seed adds ``choosing_seed_effect``; constraining
sd3.5-large-turbo to n seeds adds ``seed_constraint_effect[n]``. The LLM study uses the same
structure with its own parameters (no similarity is released there, only judgements); its users
skip each middle attempt (2..4) with probability ``llm_missing_attempt_prob``, like the release.

:func:`simulate_study` returns a :class:`~steerstats.data.study.Study` whose ``truth`` holds the
true values of the population quantities the metrics estimate (see
:mod:`steerstats.data.simulate_truth`) plus the realised latent effects of this draw:
``goal_difficulty_by_goal`` (d_g, indexed by goal_image) and ``user_effect_by_user`` (b_u).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit, ndtri

from steerstats.data.image_steering import TIDY_COLUMNS
from steerstats.data.study import DataWarning, Study
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


def _steering(
    p: SimulationParams,
    rng: np.random.Generator,
    *,
    n_users: int,
    models: tuple[str, ...],
    model_idx: np.ndarray,
    shift: float = 0.0,
    prefix: str = "",
    with_clip: bool = True,
) -> tuple[pd.DataFrame, _Latent]:
    """Steering rows for users ``model_idx`` (indices into p.models), vectorised."""
    alpha = np.asarray(p.model_effect)
    delta = np.asarray(p.goal_difficulty)
    g = p.goals_per_user
    n_seq = n_users * g
    user = np.repeat(np.arange(n_users), g)
    m_seq = model_idx[user]
    b_u = p.sigma_user * rng.standard_normal(n_users)
    d_g = delta[m_seq] + p.sigma_goal * rng.standard_normal(n_seq)
    base_seq = alpha[m_seq] - d_g + b_u[user] + shift
    seq = np.repeat(np.arange(n_seq), ATTEMPTS)
    attempt = np.tile(np.arange(1, ATTEMPTS + 1), n_seq)
    eta = base_seq[seq] + p.attempt_trend * (attempt - 1) + p.sigma_attempt * rng.standard_normal(seq.size)
    users = np.array([f"{prefix}u{i:04d}" for i in range(n_users)], dtype=object)
    goals = np.array([f"{URL}{prefix}goal/{i:05d}.png" for i in range(n_seq)], dtype=object)
    prompts = np.array([f"reference prompt of goal {prefix}{i:05d}" for i in range(n_seq)], dtype=object)
    frame = pd.DataFrame(
        {
            "dreamsim": expit(eta),
            "goal_image": pd.array(goals[seq], dtype="str"),
            "steering_user_id": pd.array(users[user[seq]], dtype="str"),
            "reference_prompt": pd.array(prompts[seq], dtype="str"),
            "model": pd.array(np.asarray(models, dtype=object)[m_seq[seq]], dtype="str"),
            "attempt": attempt.astype("int64"),
            "generated_image": pd.array(
                [f"{URL}{prefix}image/{i:06d}.png" for i in range(seq.size)], dtype="str"
            ),
            "prompt": pd.array(
                [f"user prompt {a} for goal {prefix}{s:05d}" for s, a in zip(seq, attempt, strict=True)],
                dtype="str",
            ),
            "duplicate": np.zeros(seq.size, dtype=bool),
        }
    )
    if with_clip:
        frame["clip_similarity"] = expit(
            p.clip_intercept + p.clip_slope * eta + p.clip_noise * rng.standard_normal(seq.size)
        )
    return frame, _Latent(eta=eta, base=base_seq[seq], seq=seq, goal_difficulty=d_g, user_effect=b_u)


def _main_steering(p: SimulationParams, rng: np.random.Generator) -> tuple[pd.DataFrame, _Latent]:
    idx = model_of_user(p.n_users, len(p.models))
    return _steering(p, rng, n_users=p.n_users, models=p.models, model_idx=idx)


def simulate_steering(
    params: SimulationParams | None = None,
    rng_or_seed: int | np.random.Generator | np.random.SeedSequence = 0,
) -> pd.DataFrame:
    """Only the ``steering.csv``-shaped frame (fast path for coverage studies).

    ``simulate_steering(p, s)`` equals ``simulate_study(p, s).steering`` for an integer seed ``s``.
    """
    frame, _ = _main_steering(params or SimulationParams(), _rng(rng_or_seed))
    return frame


# --------------------------------------------------------------------------- judgements


def _ratings(
    p: SimulationParams,
    rng: np.random.Generator,
    steering: pd.DataFrame,
    eta: np.ndarray,
    n: int,
    n_raters: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row index into steering, rater index, rating 1..4) for n distinct (row, rater) pairs drawn
    uniformly: as in the release, no rater rates the same image twice."""
    if n > len(steering) * n_raters:
        raise ValueError(f"{n} ratings need more than {len(steering)} images x {n_raters} raters")
    pair = rng.choice(len(steering) * n_raters, size=n, replace=False)
    rows, rater = pair // n_raters, pair % n_raters
    v = p.sigma_rater * rng.standard_normal(n_raters)
    latent = p.rating_slope * eta[rows] + v[rater] + rng.standard_normal(n)
    rating = 1 + (latent[:, None] > np.asarray(p.rating_cutpoints)[None, :]).sum(axis=1)
    return rows, rater, rating.astype("int64")


def _sat_ratings(p: SimulationParams, rng: np.random.Generator, steering: pd.DataFrame, lat: _Latent) -> pd.DataFrame:
    rows, rater, rating = _ratings(p, rng, steering, lat.eta, p.n_ratings, p.n_raters)
    cols = ["goal_image", "reference_prompt", "model", "attempt", "generated_image", "prompt", "duplicate", "steering_user_id"]
    out = steering.iloc[rows][cols].reset_index(drop=True)
    out["user_id"] = pd.array([f"r{i:04d}" for i in rater], dtype="str")
    out["rating"] = rating
    return out


def _first_last(frame: pd.DataFrame, seq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of each sequence's first and last attempt."""
    order = pd.DataFrame({"seq": seq, "attempt": frame["attempt"].to_numpy(), "pos": np.arange(len(frame))})
    g = order.sort_values(["seq", "attempt"]).groupby("seq")["pos"]
    return g.first().to_numpy(), g.last().to_numpy()


def _distinct_judges(rng: np.random.Generator, n_seq: int, per: int, n_judges: int) -> np.ndarray:
    """``per`` distinct judges for each of ``n_seq`` sequences, uniformly (as in the release, no
    judge sees the same sequence twice); flattened sequence-major."""
    if per > n_judges:
        raise ValueError(f"{per} judgements per sequence need at least {per} judges, not {n_judges}")
    return np.argsort(rng.random((n_seq, n_judges)), axis=1)[:, :per].ravel()


def _improvement(
    p: SimulationParams, rng: np.random.Generator,
    steering: pd.DataFrame,
    lat: _Latent,
    *,
    per_goal: int,
    n_judges: int,
    goal_col: str = "goal_image",
    out_col: str = "generated_image",
) -> pd.DataFrame:
    first, last = _first_last(steering, lat.seq)
    n_seq = first.size
    s = np.repeat(np.arange(n_seq), per_goal)
    judge = _distinct_judges(rng, n_seq, per_goal, n_judges)
    v = p.sigma_rater * rng.standard_normal(n_judges)
    diff = lat.eta[last[s]] - lat.eta[first[s]]
    chosen = p.judge_slope * diff + v[judge] + rng.standard_normal(s.size) > 0
    f_rows, l_rows = steering.iloc[first[s]], steering.iloc[last[s]]
    first_out = f_rows[out_col].to_numpy()
    last_out = l_rows[out_col].to_numpy()
    return pd.DataFrame(
        {
            goal_col: pd.array(f_rows[goal_col].to_numpy(), dtype="str"),
            "model": pd.array(f_rows["model"].to_numpy(), dtype="str"),
            "steering_user_id": pd.array(f_rows["steering_user_id"].to_numpy(), dtype="str"),
            "user_id": pd.array([f"j{i:04d}" for i in judge], dtype="str"),
            "choice": pd.array(np.where(chosen, last_out, first_out), dtype="str"),
            "last_chosen": chosen,
            "first_attempt": pd.array(first_out, dtype="str"),
            "last_attempt": pd.array(last_out, dtype="str"),
        }
    )


def pom_threshold(prob: float, sigma_goal: float) -> float:
    """theta with P(theta + N(0, sigma_goal^2) + N(0, 1) > 0) = prob (probit scale)."""
    return float(ndtri(prob) * np.sqrt(1.0 + sigma_goal**2))


def _pom(p: SimulationParams, rng: np.random.Generator, steering: pd.DataFrame, lat: _Latent, attempt: int) -> pd.DataFrame:
    first, last = _first_last(steering, lat.seq)
    n_seq = first.size
    s = np.repeat(np.arange(n_seq), p.pom_per_goal)
    judge = _distinct_judges(rng, n_seq, p.pom_per_goal, p.n_judges)
    prob = p.pom1_prob if attempt == 1 else p.pom5_prob
    w = p.sigma_judge_goal * rng.standard_normal(n_seq)
    chosen = pom_threshold(prob, p.sigma_judge_goal) + w[s] + rng.standard_normal(s.size) > 0
    f_rows, l_rows = steering.iloc[first[s]], steering.iloc[last[s]]
    judged = f_rows if attempt == 1 else l_rows
    goal = f_rows["goal_image"].to_numpy()
    return pd.DataFrame(
        {
            "goal_image": pd.array(goal, dtype="str"),
            "model": pd.array(f_rows["model"].to_numpy(), dtype="str"),
            "steering_user_id": pd.array(f_rows["steering_user_id"].to_numpy(), dtype="str"),
            "user_id": pd.array([f"j{i:04d}" for i in judge], dtype="str"),
            "choice": pd.array(np.where(chosen, goal, judged["generated_image"].to_numpy()), dtype="str"),
            "ref_chosen": chosen,
            "first_attempt": pd.array(f_rows["generated_image"].to_numpy(), dtype="str"),
            "first_attempt_prompt": pd.array(f_rows["prompt"].to_numpy(), dtype="str"),
            "last_attempt": pd.array(l_rows["generated_image"].to_numpy(), dtype="str"),
            "last_attempt_prompt": pd.array(l_rows["prompt"].to_numpy(), dtype="str"),
        }
    )


# --------------------------------------------------------------------------- blind steering


def _blind_steering(
    p: SimulationParams, rng: np.random.Generator, steering: pd.DataFrame, lat: _Latent
) -> dict[int, pd.DataFrame]:
    first, _ = _first_last(steering, lat.seq)
    n_seq = first.size
    chosen = np.sort(rng.choice(n_seq, size=min(p.blind_goals, n_seq), replace=False))
    rows = steering.iloc[first[chosen]]
    out = {}
    for k in BLIND_K:
        s = np.repeat(np.arange(chosen.size), k)
        eta = lat.base[first[chosen]][s] + p.rewrite_shift + p.rewrite_sd * rng.standard_normal(s.size)
        r = rows.iloc[s]
        out[k] = pd.DataFrame(
            {
                "goal_url": pd.array(r["goal_image"].to_numpy(), dtype="str"),
                "image_url": pd.array([f"{URL}blind{k}/{i:06d}.png" for i in range(s.size)], dtype="str"),
                "llm_prompt": pd.array([f"LLM rewrite {i % k} of: {t}" for i, t in enumerate(r["prompt"])], dtype="str"),
                "original_prompt": pd.array(r["prompt"].to_numpy(), dtype="str"),
                "score": expit(eta),
                "model": pd.array(r["model"].to_numpy(), dtype="str"),
                "steering_user_id": pd.array(r["steering_user_id"].to_numpy(), dtype="str"),
                "user_score": r["dreamsim"].to_numpy(),
            }
        )
    return out


# --------------------------------------------------------------------------- seed experiments


def _seeded(frame: pd.DataFrame, rng: np.random.Generator, n_seeds: int | None) -> pd.DataFrame:
    """Add reference_seed / seed columns in the release's order (no clip, no duplicate)."""
    n_goals = frame["goal_image"].nunique()
    goal_idx = pd.factorize(frame["goal_image"])[0]
    ref = rng.integers(0, 2**32, n_goals, dtype=np.uint64).astype("int64")
    if n_seeds is None:  # the user picks any seed
        seed = rng.integers(0, 2**31, len(frame)).astype("int64")
    else:  # the allowed seeds of a goal: its reference seed and n_seeds - 1 others
        allowed = np.column_stack(
            [ref, *(rng.integers(0, 2**32, n_goals, dtype=np.uint64).astype("int64") for _ in range(n_seeds - 1))]
        )
        seed = allowed[goal_idx, rng.integers(0, n_seeds, len(frame))]
    out = frame[["goal_image", "steering_user_id", "reference_prompt"]].copy()
    out["reference_seed"] = ref[goal_idx]
    for col in ("model", "attempt", "generated_image", "prompt"):
        out[col] = frame[col]
    out["seed"] = seed
    out["dreamsim"] = frame["dreamsim"]
    return out


def _choosing_seed(p: SimulationParams, rng: np.random.Generator) -> pd.DataFrame | None:
    models = tuple(m for m in p.models if m not in NO_SEED_MODELS)
    if not models or p.choosing_seed_users < 1:
        return None
    idx = np.array([p.models.index(m) for m in models])[model_of_user(p.choosing_seed_users, len(models))]
    frame, _ = _steering(
        p, rng, n_users=p.choosing_seed_users, models=p.models, model_idx=idx,
        shift=p.choosing_seed_effect, prefix="cs-", with_clip=False,
    )
    return _seeded(frame, rng, None)


def _seed_constraint(p: SimulationParams, rng: np.random.Generator) -> dict[int, pd.DataFrame]:
    if SEED_MODEL not in p.models:
        return {}
    m = p.models.index(SEED_MODEL)
    out = {}
    for n, effect in zip((1, 2, 3), p.seed_constraint_effect, strict=True):
        idx = np.full(p.seed_constraint_users, m)
        frame, _ = _steering(
            p, rng, n_users=p.seed_constraint_users, models=p.models, model_idx=idx,
            shift=effect, prefix=f"seed{n}-", with_clip=False,
        )
        out[n] = _seeded(frame, rng, n)
    return out


# --------------------------------------------------------------------------- image steering


def _image_steering(p: SimulationParams, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    n_rounds = len(p.keep_current_prob)
    for condition, n_users in zip(("random", "learned", "learned_tiles"), p.image_steering_users, strict=True):
        for u in range(n_users):
            user = f"img-{condition}-u{u:04d}"
            for task in range(2):
                goal = f"{URL}img-{condition}/goal/{u:04d}-{task}.png"
                scale_random = float(rng.uniform())
                current = f"{URL}img-{condition}/start/{u:04d}-{task}.png"
                for r in range(n_rounds):
                    offered = [current] + [f"{URL}img-{condition}/{u:04d}-{task}-{r + 1}-{j}.png" for j in (1, 2)]
                    keep = rng.uniform() < p.keep_current_prob[r]
                    sel = 0 if keep else int(rng.integers(1, 3))
                    scale = scale_random if condition == "random" else p.learned_mixture_scales[r]
                    rows.append(
                        {
                            "condition": condition, "steering_user_id": user, "task": task,
                            "goal_url": goal, "goal_prompt": f"goal prompt {u}-{task}",
                            "user_prompt": f"user prompt {u}-{task}", "model": "foundry",
                            "round": r + 1, "mixture_scale": scale, "selected_index": sel,
                            "kept_current": sel == 0, "n_offered": len(offered),
                            "images_offered": json.dumps(offered), "selected_image_url": offered[sel],
                            "filter_variations": False, "num_variations": 2, "max_variations": None,
                            "predict_switch": False, "data_file_url": f"{URL}img-{condition}/{u:04d}-{task}-{r + 1}.json",
                            "source_row": u + 1,
                        }
                    )
                    current = offered[sel]
    frame = pd.DataFrame(rows, columns=list(TIDY_COLUMNS))
    return frame.astype(
        {"condition": "str", "steering_user_id": "str", "goal_url": "str", "goal_prompt": "str",
         "user_prompt": "str", "model": "str", "images_offered": "str", "selected_image_url": "str",
         "data_file_url": "str", "task": "int64", "round": "int64", "selected_index": "int64",
         "n_offered": "int64", "source_row": "int64", "num_variations": "Int64", "max_variations": "Int64"}
    )


# --------------------------------------------------------------------------- LLM study


def _llm(p: SimulationParams, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    q = SimulationParams(
        models=p.llm_models,
        model_effect=p.llm_model_effect,
        goal_difficulty=(0.0,) * len(p.llm_models),
        sigma_goal=p.sigma_goal,
        sigma_user=p.sigma_user,
        sigma_attempt=p.sigma_attempt,
        attempt_trend=p.llm_attempt_trend,
        rating_slope=p.rating_slope,
        rating_cutpoints=p.rating_cutpoints,
        sigma_rater=p.sigma_rater,
        judge_slope=p.judge_slope,
        goals_per_user=p.goals_per_user,
    )
    idx = model_of_user(p.llm_users, len(p.llm_models))
    frame, lat = _steering(q, rng, n_users=p.llm_users, models=p.llm_models, model_idx=idx, prefix="llm-", with_clip=False)
    middle = frame["attempt"].between(2, ATTEMPTS - 1).to_numpy()
    keep = ~(middle & (rng.uniform(size=len(frame)) < p.llm_missing_attempt_prob))
    frame = frame[keep].reset_index(drop=True)
    lat = _Latent(eta=lat.eta[keep], base=lat.base[keep], seq=lat.seq[keep])
    n_seq = int(lat.seq.max()) + 1
    dims = np.array(["audience", "style", "time_period", "tone"])
    params_seq = [repr(sorted(rng.choice(dims, 2, replace=False).tolist())) for _ in range(n_seq)]
    goal = frame["goal_image"].str.replace(f"{URL}llm-goal/", "goal headline ", regex=False).str.replace(".png", "", regex=False)
    original = goal.str.replace("goal headline", "original headline", regex=False)
    steering = pd.DataFrame(
        {
            "steering_user_id": frame["steering_user_id"],
            "attempt": frame["attempt"],
            "model": frame["model"],
            "secret_prompt": "secret instructions for " + goal,
            "original_headline": original,
            "generated_headline": "generated headline " + frame["generated_image"].str.slice(len(f"{URL}llm-image/"), -4),
            "goal_headline": goal,
            "user_prompt": frame["prompt"],
            "parameters": pd.array([params_seq[s] for s in lat.seq], dtype="str"),
        }
    )
    work = frame.assign(goal_headline=goal, original_headline=original, generated_headline=steering["generated_headline"])
    rows, rater, rating = _ratings(q, rng, work, lat.eta, p.llm_ratings, p.llm_raters)
    r = work.iloc[rows]
    sat = pd.DataFrame(
        {
            "target_headline": pd.array(r["goal_headline"].to_numpy(), dtype="str"),
            "original_headline": pd.array(r["original_headline"].to_numpy(), dtype="str"),
            "model": pd.array(r["model"].to_numpy(), dtype="str"),
            "attempt": r["attempt"].to_numpy(),
            "generated_headline": pd.array(r["generated_headline"].to_numpy(), dtype="str"),
            "user_prompt": pd.array(r["prompt"].to_numpy(), dtype="str"),
            "steering_user_id": pd.array(r["steering_user_id"].to_numpy(), dtype="str"),
            "user_id": pd.array([f"r{i:04d}" for i in rater], dtype="str"),
            "rating": rating,
        }
    )
    imp = _improvement(
        q, rng, work, lat, per_goal=p.llm_improvement_per_goal, n_judges=p.llm_raters,
        goal_col="goal_headline", out_col="generated_headline",
    ).rename(columns={"goal_headline": "target_headline"})
    return steering, sat, imp


# --------------------------------------------------------------------------- the study


def simulate_study(
    params: SimulationParams | None = None,
    seed: int = 0,
) -> Study:
    """A synthetic :class:`Study` named "synthetic" with every frame of the release and ``truth``.

    Deterministic for ``seed`` (bit-identical frames). ``steering`` is drawn from
    ``default_rng(seed)`` (so it equals :func:`simulate_steering`); the other parts from
    independent children of ``SeedSequence(seed)``.
    """
    from steerstats.data.card import load_card
    from steerstats.data.crosscheck import cross_check
    from steerstats.data.simulate_truth import simulation_truth
    from steerstats.data.table import check_sequences

    p = params or SimulationParams()
    steering, lat = _main_steering(p, np.random.default_rng(seed))
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(8)]
    llm_steering, llm_sat, llm_imp = _llm(p, streams[6])
    warnings: list[DataWarning] = []
    card = load_card("vafa2025")
    for key, frame, label in (
        ("steering", steering, "synthetic/steering"),
        ("llm_steering", llm_steering, "synthetic/llm_steering"),
    ):
        seq = card.file(key).sequence
        if seq is not None:
            warnings.extend(check_sequences(frame, seq, label))
    judged = {
        "steering": steering,
        "sat_ratings": _sat_ratings(p, streams[0], steering, lat),
        "improvement": _improvement(p, streams[1], steering, lat, per_goal=p.improvement_per_goal, n_judges=p.n_judges),
        "pom1": _pom(p, streams[2], steering, lat, 1),
        "pom5": _pom(p, streams[2], steering, lat, 5),
        "blind_steering": _blind_steering(p, streams[3], steering, lat),
    }
    warnings.extend(cross_check(judged))
    truth = simulation_truth(p)
    first = steering["attempt"].to_numpy() == 1
    truth["goal_difficulty_by_goal"] = pd.Series(
        lat.goal_difficulty, index=pd.Index(steering["goal_image"].to_numpy()[first], name="goal_image")
    )
    truth["user_effect_by_user"] = pd.Series(
        lat.user_effect,
        index=pd.Index(steering["steering_user_id"].to_numpy()[first][:: p.goals_per_user], name="steering_user_id"),
    )
    return Study(
        name="synthetic",
        **judged,
        choosing_seed=_choosing_seed(p, streams[4]),
        seed_constraint=_seed_constraint(p, streams[5]),
        image_steering=_image_steering(p, streams[7]),
        llm_steering=llm_steering,
        llm_sat_ratings=llm_sat,
        llm_improvement=llm_imp,
        warnings=tuple(warnings),
        truth=truth,
        source=f"simulate_study(seed={seed})",
    )
