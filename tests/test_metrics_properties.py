"""Property: integer cluster weights equal duplicating whole clusters (under fresh ids), for every
group-level and row-level statistic, so the bootstrap's weighted evaluation is a true resample."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from steerstats.metrics import (
    blind_steering_ratio,
    majority_rate_exact,
    rating_max_by_model,
    satisfaction_by_model,
    similarity_by_model,
)


def frame_from(draw_goals: list[tuple[int, list[int]]]) -> pd.DataFrame:
    rows = []
    for g, (model, values) in enumerate(draw_goals):
        for a, v in enumerate(values, start=1):
            rows.append({"model": f"m{model}", "goal_image": f"g{g}", "steering_user_id": f"u{g}",
                         "attempt": min(a, 5), "rating": v, "last_chosen": v >= 3, "dreamsim": v / 4})
    return pd.DataFrame(rows)


def duplicate(frame: pd.DataFrame, counts: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Row weights from per-goal counts, and the frame with each goal repeated count times."""
    codes, goals = pd.factorize(frame["goal_image"])
    parts = [frame[frame["goal_image"] == g].assign(goal_image=f"{g}#{i}") for j, g in enumerate(goals)
             for i in range(counts[j])]
    return pd.concat(parts, ignore_index=True), counts[codes].astype(float)


goal_lists = st.lists(
    st.tuples(st.integers(0, 1), st.lists(st.integers(1, 4), min_size=1, max_size=7)), min_size=2, max_size=6
)


@settings(max_examples=20, deadline=None)
@given(goal_lists, st.data())
def test_weights_equal_duplicated_clusters(goals, data):
    frame = frame_from(goals)
    n_goals = frame["goal_image"].nunique()
    counts = np.array(data.draw(st.lists(st.integers(0, 3), min_size=n_goals, max_size=n_goals)))
    if counts.sum() == 0:
        counts[0] = 1
    dup, w = duplicate(frame, counts)
    models = ["m0", "m1"]
    for stat in (
        lambda f, w: similarity_by_model(f, w, models=models),
        lambda f, w: satisfaction_by_model(f, w, models=models),
        lambda f, w: rating_max_by_model(f, w, models=models),
        lambda f, w: majority_rate_exact(f, w, models=models),
    ):
        np.testing.assert_allclose(stat(frame, w), stat(dup, None), equal_nan=True, rtol=1e-12)
        # a (B, n) matrix gives the same replicate in every row
        np.testing.assert_allclose(stat(frame, np.vstack([w, w]))[1], stat(dup, None), equal_nan=True, rtol=1e-12)


@settings(max_examples=20, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 0.3), st.floats(0, 0.3), st.integers(0, 3)), min_size=2, max_size=8))
def test_blind_ratio_weights_equal_duplicated_goals(rows):
    goals = pd.DataFrame(rows, columns=["human_improvement", "llm_improvement", "count"])
    goals["human_improvement"] += 0.01
    w = goals["count"].to_numpy(float)
    if w.sum() == 0:
        w[0] = 1
    dup = goals.loc[goals.index.repeat(w.astype(int))]
    np.testing.assert_allclose(blind_steering_ratio(goals, w), blind_steering_ratio(dup), rtol=1e-12)
