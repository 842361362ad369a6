"""Blind steering, seed constraint / choice, LLM study and image-steering traces on toy frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steerstats.metrics import (
    blind_steering_goals,
    blind_steering_ratio,
    image_steering_traces,
    llm_ratings,
    llm_ratings_summary,
    seed_choice_frame,
    seed_choice_means,
    seed_choice_summary,
    seed_constraint_frame,
    seed_constraint_means,
)


def steering() -> pd.DataFrame:
    rows = []
    # goal g1 (user u1, model m1): 0.5 0.7 0.6; goal g2 (u2, m2): 0.4 0.4 0.5; goal g3 only here
    for goal, user, model, sims in (
        ("g1", "u1", "m1", (0.5, 0.7, 0.6)),
        ("g2", "u2", "m2", (0.4, 0.4, 0.5)),
        ("g3", "u3", "m1", (0.1, 0.2, 0.3)),
    ):
        rows += [(goal, user, model, a, s) for a, s in enumerate(sims, start=1)]
    return pd.DataFrame(rows, columns=["goal_image", "steering_user_id", "model", "attempt", "dreamsim"])


def blind() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "goal_url": ["g1", "g1", "g2", "g2", "gX"],
            "steering_user_id": ["u1", "u1", "u2", "u2", "uX"],
            "score": [0.55, 0.65, 0.3, 0.35, 0.9],
            "user_score": [0.5, 0.5, 0.4, 0.4, 0.1],
            "model": ["m1", "m1", "m2", "m2", "m1"],
        }
    )


def test_blind_steering_by_hand():
    goals = blind_steering_goals(steering(), blind())
    assert goals["goal_image"].tolist() == ["g1", "g2"]  # only goals in both files
    np.testing.assert_allclose(goals["human_improvement"], [0.2, 0.1])
    np.testing.assert_allclose(goals["llm_improvement"], [0.15, 0.0])  # max(0, .) clips g2
    np.testing.assert_allclose(blind_steering_ratio(goals), [0.15, 0.075, 0.5])
    w = np.array([[2.0, 0.0], [0.0, 1.0]])
    out = blind_steering_ratio(goals, w)
    assert out.shape == (2, 3)
    assert out[0, 2] == pytest.approx(0.75) and out[1, 2] == 0.0


def seeded(n: int, sims: tuple[float, ...]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "goal_image": [f"s{n}"] * len(sims),
            "steering_user_id": [f"v{n}"] * len(sims),
            "model": "m1",
            "attempt": range(1, len(sims) + 1),
            "dreamsim": sims,
            "seed": 7,
        }
    )


def test_seed_constraint_default_is_the_seed_model_in_the_main_study():
    frame = seed_constraint_frame({1: seeded(1, (0.8, 0.9)), 2: seeded(2, (0.6, 0.7))}, steering(), default_model="m1")
    np.testing.assert_allclose(seed_constraint_means(frame), [0.85, 0.65, (0.5 + 0.7 + 0.6 + 0.1 + 0.2 + 0.3) / 6])
    assert set(frame.loc[frame["condition"] == "default", "model"]) == {"m1"}


def test_seed_choice_same_models_and_standardisation():
    choosing = seeded(9, (0.9, 0.9, 0.9)).assign(model="m2")
    frame = seed_choice_frame(choosing, steering())
    assert set(frame["model"]) == {"m2"}  # m1 is not in the choosing-seed file
    est = seed_choice_means(frame, attempts=(1, 2, 3))
    chosen, other, diff, std = est.reshape(4, 4)
    np.testing.assert_allclose(chosen, [0.9, 0.9, 0.9, 0.9])
    np.testing.assert_allclose(other, [0.4, 0.4, 0.5, 13 / 30])
    np.testing.assert_allclose(diff, chosen - other)
    np.testing.assert_allclose(std, other)  # one model: standardising changes nothing
    summary = seed_choice_summary(frame, attempts=(1, 2, 3))
    assert summary["attempt"].tolist() == ["1", "2", "3", "Average"]
    assert summary["chosen_n"].tolist() == [1, 1, 1, 3]


def test_seed_choice_standardisation_reweights_models():
    main = pd.concat([steering(), steering().assign(model="m2", goal_image="h", dreamsim=0.0)])
    main = main[main["attempt"] == 1]
    choosing = pd.concat([seeded(1, (0.5,)).assign(model=m) for m in ("m1", "m1", "m1", "m2")])
    frame = seed_choice_frame(choosing, main)
    std = seed_choice_means(frame, attempts=(1,)).reshape(4, 2)[3]
    # chosen mix 3/4 m1, 1/4 m2; main attempt-1 means m1 (0.5 + 0.1) / 2 = 0.3, m2 (0.4 + 0 ...) / 4
    m1 = 0.3
    m2 = main.loc[main["model"] == "m2", "dreamsim"].mean()
    assert std[0] == pytest.approx(0.75 * m1 + 0.25 * m2)


def test_llm_ratings_by_hand():
    f = pd.DataFrame({"model": ["x", "x", "y"], "rating": [4, 2, 3]})
    np.testing.assert_allclose(llm_ratings(f), [3.0, 3.0, 3.0, 0.5, 0.0, 1 / 3])
    s = llm_ratings_summary(f)
    assert s.loc[0, "very_satisfied_sem"] == pytest.approx(np.sqrt(0.25 / 2))


def test_image_steering_traces():
    rounds = pd.DataFrame(
        {
            "condition": ["learned"] * 4 + ["random"] * 2,
            "steering_user_id": ["a", "a", "b", "b", "c", "c"],
            "task": [0, 0, 0, 0, 1, 1],
            "round": [1, 2, 1, 2, 1, 2],
            "mixture_scale": [0.8, 0.6, 0.8, 0.4, 0.3, 0.3],
            "selected_index": [0, 1, 2, 0, 0, 0],
        }
    )
    t = image_steering_traces(rounds)
    assert t["condition"].tolist() == ["random", "random", "learned", "learned"]
    row = t[(t["condition"] == "learned") & (t["round"] == 2)].iloc[0]
    assert row["n_tasks"] == 2 and row["mixture_scale_mean"] == pytest.approx(0.5)
    assert row["mixture_scale_min"] == 0.4 and row["share_kept_current"] == 0.5
