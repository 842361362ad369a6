"""The main steering table: users steer models toward goals over five attempts."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from steerstats.data.simulate.params import (
    ATTEMPTS,
    URL,
    SimulationParams,
    _Latent,
    _rng,
    model_of_user,
)


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
