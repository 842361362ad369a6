"""Blind steering: LLM rewrites of the user's first prompt (appendix C.1)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

from steerstats.data.simulate.judgements import _first_last
from steerstats.data.simulate.params import (
    BLIND_K,
    URL,
    SimulationParams,
    _Latent,
)


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
