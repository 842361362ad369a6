"""Similarity metrics on a hand-computable toy frame; weights = duplicated rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.metrics import (
    similarity_by_attempt,
    similarity_by_model,
    similarity_first_last,
    similarity_summary,
)


def toy() -> pd.DataFrame:
    # model a: goal g1 attempts 1, 5 -> 0.2, 0.6; model b: goal g2 attempts 1, 5 -> 0.5, 0.9
    return pd.DataFrame(
        {
            "model": ["a", "a", "b", "b"],
            "goal_image": ["g1", "g1", "g2", "g2"],
            "steering_user_id": ["u1", "u1", "u2", "u2"],
            "attempt": [1, 5, 1, 5],
            "dreamsim": [0.2, 0.6, 0.5, 0.9],
            "clip_similarity": [0.7, 0.8, 0.75, 0.95],
        }
    )


def test_by_model_with_average():
    f = toy()
    np.testing.assert_allclose(similarity_by_model(f), [0.4, 0.7, 0.55])
    np.testing.assert_allclose(similarity_by_model(f, column="clip_similarity"), [0.75, 0.85, 0.8])


def test_by_attempt_model_major_then_average():
    out = similarity_by_attempt(toy(), attempts=(1, 5))
    # (a,1) (a,5) (b,1) (b,5) (Average,1) (Average,5)
    np.testing.assert_allclose(out, [0.2, 0.6, 0.5, 0.9, 0.35, 0.75])


def test_first_last():
    np.testing.assert_allclose(similarity_first_last(toy()), [0.2, 0.5, 0.35, 0.6, 0.9, 0.75])


def test_summary_has_n_mean_and_row_sem():
    s = similarity_summary(toy())
    assert s["model"].tolist() == ["a", "b", "Average"]
    assert s["n"].tolist() == [2, 2, 4]
    assert s.loc[2, "mean_sem"] == np.std([0.2, 0.6, 0.5, 0.9], ddof=1) / 2


def test_integer_weights_equal_duplicated_rows():
    f = toy()
    w = np.array([[2.0, 2.0, 1.0, 1.0], [0.0, 0.0, 3.0, 3.0]])
    dup = pd.concat([f, f.iloc[:2]], ignore_index=True)
    np.testing.assert_allclose(similarity_by_model(f, w)[0], similarity_by_model(dup))
    assert np.isnan(similarity_by_model(f, w)[1, 0])  # model a not drawn
