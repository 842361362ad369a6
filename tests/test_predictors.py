"""Steerability predictors: ridge against closed forms, goal-grouped splits, R^2/MSE, MLP, CLI."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout
from sklearn.linear_model import Ridge
from sklearn.metrics import mean_squared_error, r2_score

from steerstats.data.simulate.decomposition import (
    DecompositionSimParams,
    simulate_decomposition_study,
)
from steerstats.features import make_embedder
from steerstats.predictors import (
    RidgeHead,
    SteerabilityPredictor,
    cv_alpha,
    fold_stats,
    goal_fold_ids,
    goal_holdout_split,
    goal_kfold,
    held_out_predictions,
    r2_mse,
    ridge_path,
    ridge_solve,
)
from steerstats.predictors.mlp import MLPHead


def _linear_data(n=120, p=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    y = x @ rng.standard_normal(p) + 0.3 * rng.standard_normal(n)
    return x, y


def test_ridge_matches_numpy_closed_form():
    x, y = _linear_data()
    x = np.hstack([np.ones((len(y), 1)), x])
    penalized = np.r_[False, np.ones(5, bool)]
    w = np.random.default_rng(1).integers(0, 4, len(y)).astype(float)
    head = RidgeHead(alpha=2.5).fit(x, y, penalized, sample_weight=w)
    reference = np.linalg.solve(x.T @ (w[:, None] * x) + 2.5 * np.diag(penalized.astype(float)), x.T @ (w * y))
    np.testing.assert_allclose(head.coef_, reference, rtol=1e-10, atol=1e-12)


def test_ridge_with_unpenalised_intercept_equals_sklearn():
    x, y = _linear_data(seed=3)
    ones = np.ones((len(y), 1))
    head = RidgeHead(alpha=4.0).fit(np.hstack([ones, x]), y, np.r_[False, np.ones(5, bool)])
    sk = Ridge(alpha=4.0).fit(x, y)
    np.testing.assert_allclose(head.coef_[1:], sk.coef_, rtol=1e-8)
    np.testing.assert_allclose(head.coef_[0], sk.intercept_, rtol=1e-8)


def test_cv_alpha_from_fold_statistics_equals_refitting():
    x, y = _linear_data(n=90, seed=5)
    fold = np.arange(90) % 3
    pen = np.ones(5, bool)
    alphas = np.array([0.1, 3.0, 100.0])
    best, mse = cv_alpha(fold_stats(x, y, fold, 3), pen, alphas)
    brute = []
    for a in alphas:
        sse = 0.0
        for k in range(3):
            tr, te = fold != k, fold == k
            beta = np.linalg.solve(x[tr].T @ x[tr] + a * np.eye(5), x[tr].T @ y[tr])
            sse += np.sum((y[te] - x[te] @ beta) ** 2)
        brute.append(sse / 90)
    np.testing.assert_allclose(mse, brute, rtol=1e-9)
    assert best == alphas[int(np.argmin(brute))]
    np.testing.assert_allclose(ridge_solve(x.T @ x, x.T @ y, alphas, pen)[1], ridge_solve(x.T @ x, x.T @ y, 3.0, pen))


@pytest.mark.parametrize("case", ["one-hot block", "all penalised", "absent model", "collinear features"])
def test_ridge_path_equals_one_solve_per_alpha(case):
    rng = np.random.default_rng(11)
    n, k = 120, 4
    codes = rng.integers(0, k - 1 if case == "absent model" else k, n)  # "absent model": one column all zero
    feats = rng.standard_normal((n, 6))
    if case == "collinear features":
        feats[:, 5] = feats[:, 4] + 1e-9 * rng.standard_normal(n)
    x = np.hstack([np.eye(k)[codes], feats]) if case != "all penalised" else feats
    pen = np.r_[np.zeros(x.shape[1] - 6, bool), np.ones(6, bool)]
    y = x @ rng.standard_normal(x.shape[1]) + rng.standard_normal(n)
    alphas = np.logspace(-2, 5, 9)
    gram, xty = x.T @ x, x.T @ y
    path = ridge_path(gram, xty, alphas, pen)
    one = ridge_solve(gram, xty, alphas, pen)
    fitted = path @ x.T  # compare fits: an absent model's coefficient is not identified
    np.testing.assert_allclose(fitted, one @ x.T, rtol=1e-7, atol=1e-7 * np.abs(y).max())
    if case != "absent model":
        np.testing.assert_allclose(path, one, rtol=1e-6, atol=1e-8)


def test_cv_alpha_shares_nested_paths_without_changing_the_curve():
    x, y = _linear_data(n=150, seed=8)
    fold = np.arange(150) % 5
    stats = fold_stats(x, y, fold, 5)
    pen, alphas, paths = np.ones(5, bool), np.logspace(-1, 3, 7), {}
    for f in range(5):
        others = np.setdiff1d(np.arange(5), [f])
        shared = cv_alpha(stats, pen, alphas, folds=others, paths=paths)
        alone = cv_alpha(stats, pen, alphas, folds=others)
        assert shared[0] == alone[0]
        np.testing.assert_array_equal(shared[1], alone[1])
    assert len(paths) == 10  # 20 nested fits, each pair of held-out folds once


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_goal_splits_never_share_a_goal(seed):
    goals = np.repeat([f"g{i}" for i in range(37)], 5)
    train, test = goal_holdout_split(goals, seed=seed)
    assert not set(goals[train]) & set(goals[test])
    assert sorted(np.r_[train, test]) == list(range(len(goals)))
    assert len(set(goals[test])) == pytest.approx(0.2 * 37, abs=1)
    seen = []
    for tr, te in goal_kfold(goals, 5, seed=seed):
        assert not set(goals[tr]) & set(goals[te])
        seen.extend(te)
    assert sorted(seen) == list(range(len(goals)))
    fold = goal_fold_ids(goals, 5, seed=seed)
    assert (pd.Series(fold).groupby(goals).nunique() == 1).all()


def test_r2_mse_is_sklearn_and_a_weighted_statistic():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"y": rng.random(40), "yhat": rng.random(40)})
    r2, mse = r2_mse(frame)
    assert r2 == pytest.approx(r2_score(frame.y, frame.yhat))
    assert mse == pytest.approx(mean_squared_error(frame.y, frame.yhat))
    w = rng.integers(0, 3, 40)
    dup = frame.loc[frame.index.repeat(w)]
    both = r2_mse(frame, np.vstack([w, np.ones(40)]))
    np.testing.assert_allclose(both[0], [r2_score(dup.y, dup.yhat), mean_squared_error(dup.y, dup.yhat)])
    np.testing.assert_allclose(both[1], [r2, mse])


def test_mlp_head_is_deterministic_and_learns():
    x, y = _linear_data(n=256, p=4, seed=4)
    a = MLPHead((16,), epochs=60, learning_rate=1e-2, weight_decay=0.0, seed=3).fit(x, y)
    b = MLPHead((16,), epochs=60, learning_rate=1e-2, weight_decay=0.0, seed=3).fit(x, y)
    np.testing.assert_array_equal(a.predict(x), b.predict(x))
    assert r2_score(y, a.predict(x)) > 0.8
    assert a.loss_curve_[-1] < a.loss_curve_[0]
    c = MLPHead((16,), epochs=60, learning_rate=1e-2, weight_decay=0.0, seed=4).fit(x, y)
    assert not np.array_equal(a.predict(x), c.predict(x))


@pytest.fixture(scope="module")
def small_study():
    params = DecompositionSimParams(users_per_model=10)
    return simulate_decomposition_study(params, seed=2)


def test_held_out_predictions_use_only_training_goals(small_study):
    frame = small_study.steering
    pred = held_out_predictions(frame, embedder=lambda: make_embedder("tfidf", n_components=8), progress=False)
    _, test = goal_holdout_split(frame["goal_image"].to_numpy(), seed=0)
    assert set(pred["row"]) == set(test)
    r2 = {p: r2_mse(g)[0] for p, g in pred.groupby("predictor")}
    assert r2["model+prompt+goal"] > r2["mean"]
    assert r2["mean"] <= 0.0 + 1e-12  # the training mean cannot beat the test mean


def test_predictor_evaluates_counterfactual_model(small_study):
    frame = small_study.steering
    fitted = SteerabilityPredictor("model", "ridge").fit(frame)
    means = frame.groupby("model")["dreamsim"].mean()
    for m in means.index:  # model-only ridge with an unpenalised one-hot = the per-model mean
        np.testing.assert_allclose(fitted.predict(frame, model=m), means[m])


def test_predict_cli_writes_outputs(tmp_path):
    from steerstats.cli import main

    out = tmp_path / "pred"
    assert main(["predict", "--dataset", "synthetic", "--n-boot", "50", "--quiet", "--out", str(out)]) == 0
    table = pd.read_csv(out / "tables" / "steerability_predictors.csv")
    assert list(table["predictor"]) == ["mean", "model", "model+prompt", "model+prompt+goal", "oracle"]
    assert {"r2", "r2_ci_low", "r2_ci_high", "mse", "embedder"} <= set(table.columns)
    assert (table["r2_ci_low"] <= table["r2"] + 1e-12).all()
    for name in ("tables/steerability_predictors.md", "tables/steerability_predictors.tex",
                 "figures/steerability_predictors.png", "report.md", "manifest.json"):
        assert (out / name).is_file()
    assert "share of variance added by each block" in (out / "report.md").read_text()
    assert_run_layout(out, "predict")
    assert main(["predict", "--dataset", "synthetic", "--split", "1", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()
