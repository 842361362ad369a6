"""The LLM headline study in goal space, on the released data; and its weighted statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout
from scipy.stats import spearmanr

from steerstats.data import load_study
from steerstats.errors import DataNotFoundError
from steerstats.goalspace.llm_study import CANDIDATE_DIMS, POOLED, run_llm_study
from steerstats.metrics.weighted import weighted_median, weighted_slope, weighted_spearman
from steerstats.report.section_goalspace import findings_paragraph, llm_goalspace_figure


def test_weighted_spearman_matches_scipy_and_frequency_weights():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=40), rng.integers(1, 5, size=40).astype(float)
    assert weighted_spearman(x, y)[0] == pytest.approx(spearmanr(x, y).statistic)
    w = rng.integers(0, 3, size=40).astype(float)
    rep = np.repeat(np.arange(40), w.astype(int))
    assert weighted_spearman(x, y, w[None])[0] == pytest.approx(spearmanr(x[rep], y[rep]).statistic)


def test_weighted_median_and_slope_match_repeated_samples():
    x = np.array([3.0, 1.0, 2.0, 5.0, np.nan])
    w = np.array([[1, 1, 1, 1, 1], [0, 2, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=float)
    out = weighted_median(x, w)
    assert out[0] == 2.0 and out[1] == 1.0 and np.isnan(out[2])  # lower median; empty -> NaN
    a, b = np.arange(6.0), np.array([1.0, 3, 2, 5, 4, 6])
    assert weighted_slope(a, b, np.ones((1, 6)))[0] == pytest.approx(np.polyfit(a, b, 1)[0])


def test_simulated_study_is_skipped_not_scored():
    with pytest.raises(DataNotFoundError):
        run_llm_study(load_study("synthetic"), n_boot=10)


@pytest.fixture(scope="module")
def result(vafa2025_dir):
    study = load_study("vafa2025", vafa2025_dir)
    return run_llm_study(study, n_boot=200, n_boot_within=50, seed=1)


def test_llm_analysis_rows_and_finite_values(result):
    rows = result.rows
    assert len(rows) == 550 and rows["steering_error"].notna().all()
    assert np.isfinite(rows["orthogonality"]).all() and rows["orthogonality"].between(0, 1).all()
    assert set(result.dims) <= set(CANDIDATE_DIMS) and "text_length" in result.dims
    bm = result.by_model.set_index("model")
    assert len(bm) == 6 and bm.loc[POOLED, "n"] == 550 and bm.drop(index=POOLED)["n"].sum() == 550
    est = bm[["steering_error_median", "slope_per_attempt", "overshoot_median", "share_overshoot"]]
    assert np.isfinite(est.to_numpy()).all()
    assert (bm["steering_error_median_ci_low"] <= bm["steering_error_median"]).all()
    assert (bm["steering_error_median"] <= bm["steering_error_median_ci_high"]).all()
    assert len(result.by_model_attempt) == 25  # 5 models x 5 attempts
    bd = result.by_dimension.set_index("dimension")
    assert list(bd.index) == list(CANDIDATE_DIMS)
    assert np.isfinite(bd[["overshoot_median", "share_overshoot"]].to_numpy()).all()
    assert "{" not in findings_paragraph(result) and "nan" not in findings_paragraph(result)


def test_llm_analysis_rating_join_and_correlation(result):
    primary = result.rating.iloc[0]
    assert primary["n_ratings"] == 980 and primary["n_attempts_rated"] == 463
    assert primary["n_steering_users"] == result.rated["steering_user_id"].nunique()
    assert primary["spearman_ci_low"] <= primary["spearman"] <= primary["spearman_ci_high"]
    assert primary["spearman"] == pytest.approx(
        spearmanr(result.rated["steering_error"], result.rated["rating"]).statistic)


def test_llm_stability_explains_the_choice_of_dimensions(result):
    st = result.stability.set_index("dimension")
    assert not st.loc["textual_diversity", "used"]
    assert st.loc["text_length", "share_clipped_defaults"] == 1.0  # headlines < 78 words
    assert st.loc["text_length", "reliability"] == 1.0
    used = set(st.index[st["used"].astype(bool)])
    assert used == set(result.dims)
    assert (st.loc[list(used - {"text_length"}), "reliability"] >= 0.5).all()
    for number in (f"{st.loc['textual_diversity', 'mtld_degenerate']:.0%}", f"{primary_rho(result):.3f}"):
        assert number in findings_paragraph(result)


def primary_rho(result) -> float:
    return float(result.rating.iloc[0]["spearman"])


def test_llm_figure(result):
    fig = llm_goalspace_figure(result)
    assert len(fig.axes) >= 3
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_headline_quirks_are_stripped(result):
    for col in ("source", "goal", "output"):
        values = pd.Series(result.rows[col])
        assert not values.str.startswith('"').any() and (values == values.str.strip()).all()


def test_trend_is_within_sequence():
    """Every sequence improves by 0.1 per attempt, but the sequence that misses its early attempts
    starts lower: a pooled slope is biased, the within-sequence slope is exactly -0.1."""
    from steerstats.goalspace.llm_study import MODEL_STATS, model_statistic

    rows = []
    for user, attempts, level in (("u1", [1, 2, 3, 4, 5], 1.0), ("u2", [4, 5], 0.2)):
        for a in attempts:
            rows.append({"model": "m", "steering_user_id": user, "goal": "g", "attempt": a,
                         "steering_error": level - 0.1 * (a - attempts[0]), "miscalibration": 0.5,
                         "orthogonality": 0.5, "overshoot": -0.5, "requested": 0.3})
    frame = pd.DataFrame(rows)
    est = model_statistic(frame, None, models=["m"]).reshape(2, len(MODEL_STATS))
    slope = est[:, MODEL_STATS.index("slope_per_attempt")]
    assert slope == pytest.approx([-0.1, -0.1])
    pooled = np.polyfit(frame["attempt"], frame["steering_error"], 1)[0]
    assert pooled < -0.15  # what the pooled regression would have said
    w = np.array([[2.0] * 5 + [0.0] * 2, [0.0] * 5 + [3.0] * 2])
    reps = model_statistic(frame, w, models=["m"]).reshape(2, 2, len(MODEL_STATS))
    assert reps[:, 0, MODEL_STATS.index("slope_per_attempt")] == pytest.approx([-0.1, -0.1])


def test_llm_study_cli_writes_the_report_tables(vafa2025_dir, tmp_path):
    from steerstats.cli import main

    out = tmp_path / "llm"
    args = ["goalspace", "llm-study", "--data-dir", str(vafa2025_dir), "--n-boot", "20", "--out", str(out), "--quiet"]
    assert main(args) == 0
    manifest = assert_run_layout(out, "goalspace llm-study")
    # the same tables, under the same names, as the report's goal-space section
    assert {"goalspace_llm_by_model", "goalspace_llm_rating", "attempts"} <= set(manifest["tables"])
    assert manifest["seeds"] == {"bootstrap": 0} and manifest["config"]["n_boot"] == 20
    assert main([*args[:4], "--n-boot", "1", *args[6:]]) == 2  # the library's n_boot check, one line, exit 2
