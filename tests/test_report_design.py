"""Headline SEs on the release follow its design: steering users for the nested similarity table
(equal to the user-clustered CR1 SE within bootstrap error), CGM two-way for ratings."""

from __future__ import annotations

import numpy as np
import pytest

from steerstats import metrics as M
from steerstats.data import load_study
from steerstats.steerability import satisfaction_table, similarity_tables
from steerstats.uncertainty.clusters import cluster_robust_se


@pytest.fixture(scope="module")
def release(vafa2025_dir):
    return load_study("vafa2025", vafa2025_dir)


def test_similarity_headline_is_the_user_cluster_se(release):
    by_model, _, head = similarity_tables(release, seed=0, n_boot=2000)
    assert head.factors == ("steering_user_id",) and head.method == "cluster bootstrap"
    s = release.steering
    models = M.cells.levels_of(s["model"])
    cr1 = cluster_robust_se(lambda f, w: M.similarity_by_model(f, w, column="dreamsim", models=models), s,
                            "steering_user_id")
    # bootstrap SE ~ sqrt((G-1)/G) x CR1, and a B = 2000 SE is itself uncertain by ~1/sqrt(2B) = 1.6%
    g = by_model["n_clusters"].to_numpy()
    np.testing.assert_allclose(by_model["dreamsim_se_cluster"], cr1.se * np.sqrt((g - 1) / g), rtol=0.06)
    np.testing.assert_allclose(by_model["dreamsim_se_cluster"], by_model["dreamsim_se_user"])
    assert (by_model["dreamsim_se_user"] >= 0.99 * by_model["dreamsim_se_goal"]).all()  # goals nest in users


def test_satisfaction_headline_is_cgm_two_way(release):
    table, heads = satisfaction_table(release, seed=0, n_boot=500)
    head = heads["rating statistics"]
    assert head.method == "CGM two-way" and set(head.factors) == {"steering_user_id", "user_id"}
    np.testing.assert_allclose(table["rating_se_cluster"], table["rating_se_twoway"])
    overall = table[table["model"] == M.OVERALL].iloc[0]
    assert overall["rating_se_twoway"] > max(overall["rating_se_user"], overall["rating_se_rater"])
