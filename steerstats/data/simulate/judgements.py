"""Human judgements of the steering sequences: satisfaction ratings, improvement, POM-1 / POM-5."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from steerstats.data.simulate.params import (
    SimulationParams,
    _Latent,
)


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
