"""Seed experiments: choosing the seed, and constraining sd3.5-large-turbo to n seeds."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.data.simulate.params import (
    NO_SEED_MODELS,
    SEED_MODEL,
    SimulationParams,
    model_of_user,
)
from steerstats.data.simulate.steering import _steering


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
