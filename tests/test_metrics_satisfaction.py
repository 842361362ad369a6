"""Satisfaction metrics on a toy ratings frame, by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steerstats.metrics import (
    RATING_STATS,
    rating_max_by_model,
    satisfaction_by_model,
    satisfaction_summary,
)


def toy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "model": ["a"] * 4 + ["b"] * 2,
            "goal_image": ["g1", "g1", "g2", "g2", "g3", "g3"],
            "steering_user_id": ["u1", "u1", "u2", "u2", "u3", "u3"],
            "user_id": ["r1", "r2", "r1", "r2", "r1", "r2"],
            "attempt": [1, 5, 1, 5, 1, 5],
            "rating": [1, 3, 2, 4, 2, 2],
        }
    )


def test_row_statistics_by_hand():
    out = satisfaction_by_model(toy()).reshape(len(RATING_STATS), 3)
    stats = dict(zip(RATING_STATS, out, strict=True))
    np.testing.assert_allclose(stats["rating_mean"], [2.5, 2.0, 14 / 6])
    np.testing.assert_allclose(stats["first_attempt_mean"], [1.5, 2.0, 5 / 3])
    np.testing.assert_allclose(stats["last_attempt_mean"], [3.5, 2.0, 3.0])
    np.testing.assert_allclose(stats["share_unsatisfied"], [0.5, 1.0, 4 / 6])
    np.testing.assert_allclose(stats["share_very_unsatisfied"], [0.25, 0.0, 1 / 6])
    np.testing.assert_allclose(stats["share_very_satisfied"], [0.25, 0.0, 1 / 6])


def test_rating_max_is_best_per_goal_averaged_over_goals():
    # a: g1 max 3, g2 max 4 -> 3.5; b: g3 max 2; Overall (3 + 4 + 2) / 3
    np.testing.assert_allclose(rating_max_by_model(toy()), [3.5, 2.0, 3.0])


def test_rating_max_goal_weights():
    # draw g2 twice and g3 once, g1 never: a -> 4, b -> 2, Overall (4 + 4 + 2) / 3
    w = np.array([[0, 0, 2, 2, 1, 1]], dtype=float)
    np.testing.assert_allclose(rating_max_by_model(toy(), w), [[4.0, 2.0, 10 / 3]])


def test_summary_columns_and_sems():
    s = satisfaction_summary(toy())
    assert s["model"].tolist() == ["a", "b", "Overall"]
    assert s["n"].tolist() == [4, 2, 6] and s["n_goals"].tolist() == [2, 1, 3]
    assert s.loc[0, "rating_mean_sem"] == pytest.approx(np.std([1, 3, 2, 4], ddof=1) / 2)
    assert s.loc[2, "rating_max_mean_sem"] == pytest.approx(np.std([3, 4, 2], ddof=1) / np.sqrt(3))
    np.testing.assert_allclose(s["rating_max_mean"], rating_max_by_model(toy()))
