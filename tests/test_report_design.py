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


def test_majority_rates_headline_is_the_two_way_jackknife(release):
    """Raters cross steering users in the judgement files: the majority rates' headline is the CGM
    jackknife; its one-way user part agrees with the user cluster bootstrap (two independent
    resampling schemes, B = 1000: ~2% MC error, plus the jackknife's O(1/G) difference)."""
    from steerstats.steerability import judgement_table
    from steerstats.uncertainty.clusters import jackknife_robust_se

    table, heads = judgement_table(release, seed=0, n_boot=1000)
    for name in ("improvement_rate", "pom1", "pom5"):
        head = heads[name]
        assert head.method == "CGM two-way jackknife" and set(head.factors) == {"steering_user_id", "user_id"}
        np.testing.assert_allclose(table[f"{name}_se_cluster"], table[f"{name}_se_twoway"])
    f = release.improvement
    models = M.cells.levels_of(f["model"])
    user = jackknife_robust_se(lambda c: M.majority_rate_leave_out(f, c, models=models), table["improvement_rate"],
                               f, "steering_user_id")
    np.testing.assert_allclose(user.se, table["improvement_rate_se_user"], rtol=0.12)
    overall = table[table["model"] == M.OVERALL].iloc[0]
    assert overall["improvement_rate_se_twoway"] > overall["improvement_rate_se_user"]
