"""The LLM headline study: steering, satisfaction ratings and improvement judgements."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.data.simulate.judgements import (
    _improvement,
    _ratings,
)
from steerstats.data.simulate.params import (
    ATTEMPTS,
    URL,
    SimulationParams,
    _Latent,
    model_of_user,
)
from steerstats.data.simulate.steering import _steering


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
