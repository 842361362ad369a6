"""Cluster structure, CR1 / CGM two-way SEs against statsmodels, and the two-way BCa acceleration
against a crossed design with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.stats import skew
from statsmodels.stats.sandwich_covariance import cov_cluster_2groups

from steerstats.uncertainty import cluster_bootstrap
from steerstats.uncertainty.bootstrap import jackknife_acceleration
from steerstats.uncertainty.clusters import (
    cluster_robust_se,
    cluster_structure,
    critical_value,
    headline_cluster,
)


def mean_by(group: str | None):
    """Weighted statistic: the mean of y per level of ``group`` (sorted), or overall."""

    def stat(frame: pd.DataFrame, w: np.ndarray | None) -> np.ndarray:
        y = frame["y"].to_numpy(float)
        if group is None:
            member = np.ones((len(frame), 1))
        else:
            codes, _ = pd.factorize(frame[group], sort=True)
            member = np.eye(codes.max() + 1)[codes]
        ww = np.ones((1, len(frame))) if w is None else np.atleast_2d(w)
        out = (ww @ (member * y[:, None])) / (ww @ member)
        return out[0] if w is None else out

    return stat


def nested_frame(seed: int, n_users: int = 40) -> pd.DataFrame:
    """Goals nested in users nested in models; unequal numbers of attempts."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        model = f"m{u % 3}"
        ue = rng.normal(0, 0.5)
        for g in range(2):
            ge = rng.normal(0, 0.4)
            for _ in range(rng.integers(2, 6)):
                rows.append({"model": model, "user": f"u{u}", "goal": f"u{u}g{g}", "y": ue + ge + rng.normal()})
    return pd.DataFrame(rows)


def crossed_frame(seed: int, n_raters: int = 15, n_items: int = 60, p: float = 0.4) -> pd.DataFrame:
    """Raters x items, each pair observed with probability p; heteroskedastic noise."""
    rng = np.random.default_rng(seed)
    re, ie = rng.normal(0, 0.6, n_raters), rng.normal(0, 0.8, n_items)
    rows = [
        {"rater": f"r{r}", "item": f"i{i}", "arm": f"a{i % 2}", "y": re[r] + ie[i] + rng.normal(0, 0.5 + i / n_items)}
        for r in range(n_raters) for i in range(n_items) if rng.random() < p
    ]
    return pd.DataFrame(rows)


# structure ---------------------------------------------------------------------------------------
def test_nested_design_is_detected_and_the_outer_factor_chosen():
    frame = nested_frame(0)
    s = cluster_structure(frame, ["goal", "user", "rater"])
    assert s.columns == ("goal", "user") and s.is_nested("goal", "user") and not s.is_nested("user", "goal")
    head = headline_cluster(s)
    assert head.factors == ("user",) and head.method == "cluster bootstrap"
    assert "goal nested in user" in s.describe()


def test_crossed_design_gives_two_way():
    s = cluster_structure(crossed_frame(1), ["item", "rater"])
    assert s.crossed("item", "rater")
    head = headline_cluster(s)
    assert set(head.factors) == {"item", "rater"} and head.method == "CGM two-way"


def test_three_factors_goal_in_user_and_raters_crossed():
    frame = nested_frame(2)
    rng = np.random.default_rng(2)
    frame["rater"] = [f"r{v}" for v in rng.integers(0, 12, len(frame))]
    s = cluster_structure(frame, ["goal", "user", "rater"])
    head = headline_cluster(s)
    assert head.factors == ("user", "rater") and head.method == "CGM two-way"


def test_identical_factors_count_once():
    frame = nested_frame(3)
    frame["user_copy"] = frame["user"].str.upper()
    head = headline_cluster(cluster_structure(frame, ["user", "user_copy", "goal"]))
    assert len(head.factors) == 1 and head.factors[0] in ("user", "user_copy")


# CR1 and CGM against statsmodels -----------------------------------------------------------------
def _ols_cluster_se(y, X, groups) -> np.ndarray:
    fit = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": groups})
    return np.sqrt(np.diag(fit.cov_params()))


@pytest.mark.parametrize("seed", range(5))
def test_cr1_of_a_mean_equals_statsmodels(seed):
    frame = nested_frame(seed)
    codes = pd.factorize(frame["user"])[0]
    ours = cluster_robust_se(mean_by(None), frame, "user")
    ref = _ols_cluster_se(frame["y"].to_numpy(), np.ones((len(frame), 1)), codes)
    np.testing.assert_allclose(ours.se, ref, rtol=1e-7)
    assert ours.n_clusters[0] == frame["user"].nunique()


@pytest.mark.parametrize("seed", range(3))
def test_cr1_of_per_model_means_equals_statsmodels_per_model(seed):
    frame = nested_frame(seed)
    ours = cluster_robust_se(mean_by("model"), frame, "user")
    for j, (model, part) in enumerate(frame.groupby("model", sort=True)):
        ref = _ols_cluster_se(part["y"].to_numpy(), np.ones((len(part), 1)), pd.factorize(part["user"])[0])
        np.testing.assert_allclose(ours.se[j], ref[0], rtol=1e-7, err_msg=model)
        assert ours.n_clusters[j] == part["user"].nunique()


@pytest.mark.parametrize("seed", range(3))
def test_cr1_of_a_difference_of_means_with_clusters_across_arms(seed):
    frame = crossed_frame(seed)

    def diff(f, w):
        m = mean_by("arm")(f, w)
        return m[..., 1:2] - m[..., 0:1]

    ours = cluster_robust_se(diff, frame, "rater")
    X = sm.add_constant((frame["arm"] == "a1").astype(float).to_numpy())
    ref = _ols_cluster_se(frame["y"].to_numpy(), X, pd.factorize(frame["rater"])[0])[1]
    n, k = len(frame), 2
    np.testing.assert_allclose(ours.se[0], ref * np.sqrt((n - k) / (n - 1)), rtol=1e-7)  # statsmodels adds (N-1)/(N-K)


@pytest.mark.parametrize("seed", range(5))
def test_cgm_two_way_equals_statsmodels(seed):
    frame = crossed_frame(seed)
    ours = cluster_robust_se(mean_by(None), frame, ["rater", "item"])
    fit = sm.OLS(frame["y"].to_numpy(), np.ones((len(frame), 1))).fit()
    both, _, _ = cov_cluster_2groups(fit, pd.factorize(frame["rater"])[0], pd.factorize(frame["item"])[0])
    np.testing.assert_allclose(ours.se, np.sqrt(np.diag(both)), rtol=1e-7)
    assert ours.method == "CGM two-way" and not ours.fallback.any()


def test_cgm_covers_on_crossed_designs_where_one_way_does_not():
    """Coverage of the mean's 95% interval over crossed designs with rater and item effects."""
    rng = np.random.default_rng(7)
    hits = {"cgm": 0, "item": 0, "rater": 0}
    reps = 200
    for _ in range(reps):
        re, ie = rng.normal(0, 0.5, 20), rng.normal(0, 0.5, 80)
        r, i = np.meshgrid(np.arange(20), np.arange(80), indexing="ij")
        keep = rng.random(r.shape) < 0.5
        y = re[r] + ie[i] + rng.normal(0, 1, r.shape)
        frame = pd.DataFrame({"rater": r[keep], "item": i[keep], "y": y[keep]})
        for name, cl in (("cgm", ["rater", "item"]), ("item", "item"), ("rater", "rater")):
            res = cluster_robust_se(mean_by(None), frame, cl)
            half = res.critical()[0] * res.se[0]
            hits[name] += abs(res.estimate[0]) <= half  # true mean 0
    cover = {k: v / reps for k, v in hits.items()}
    assert 0.90 <= cover["cgm"] <= 0.99
    assert cover["item"] < 0.85  # clustering on items alone misses the rater effects


def test_t_reference_below_fifty_clusters():
    assert critical_value(0.95, 10) == pytest.approx(2.262, abs=1e-3)  # t(9)
    assert critical_value(0.95, 200) == pytest.approx(1.95996, abs=1e-4)


# two-way BCa -------------------------------------------------------------------------------------
def test_two_way_bca_acceleration_has_the_known_answer():
    """y = a_r + b_g, fully crossed: the mean's product-weight replicates are exactly the sum of
    two independent one-way resampled means, so the acceleration is known in closed form."""
    rng = np.random.default_rng(0)
    a, b = rng.exponential(1.0, 8), rng.normal(0, 0.3, 400)  # few skewed raters, many items
    r, g = np.meshgrid(np.arange(8), np.arange(400), indexing="ij")
    frame = pd.DataFrame({"r": r.ravel(), "g": g.ravel(), "y": (a[r] + b[g]).ravel()})
    da, db = a - a.mean(), b - b.mean()
    known = ((da**3).sum() / 8**3 + (db**3).sum() / 400**3) / (6 * ((da**2).sum() / 8**2 + (db**2).sum() / 400**2) ** 1.5)
    stat = mean_by(None)
    jack = []
    for col in ("r", "g"):
        codes = frame[col].to_numpy()
        w = (codes[None, :] != np.arange(codes.max() + 1)[:, None]).astype(float)
        jack.append(stat(frame, w))
    assert jackknife_acceleration(jack)[0] == pytest.approx(known, rel=1e-9)
    res = cluster_bootstrap(stat, frame, ["r", "g"], n_boot=40_000, seed=3)
    assert skew(res.replicates[:, 0]) / 6 == pytest.approx(known, abs=0.01)  # MC error ~0.002
    old = ((da**3).sum() + (db**3).sum()) / (6 * ((da**2).sum() + (db**2).sum()) ** 1.5)
    assert old < known / 10  # without each factor's G scaling the many items swamp the raters


# delete-one-cluster jackknife ----------------------------------------------------------------------
def mean_leave_out(frame: pd.DataFrame):
    """LeaveOut of the overall mean of y, by brute force: recompute the mean without each cluster."""

    def leave_out(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        y = frame["y"].to_numpy(float)
        values = np.array([[y[codes != c].mean()] for c in range(codes.max() + 1)])
        return values, np.ones_like(values, bool)

    return leave_out


@pytest.mark.parametrize("seed", [0, 1])
def test_jackknife_of_a_mean_is_cv3_and_close_to_cr1(seed):
    """One-way: (G-1)/G sum (theta_(c) - mean)^2 by hand; for a mean with many clusters it is CR1
    up to the leverage terms (CV3 >= CR1 in expectation); two-way: the CGM combination."""
    from steerstats.uncertainty.clusters import jackknife_robust_se

    frame = crossed_frame(seed, n_raters=40, n_items=120)
    y = frame["y"].to_numpy(float)
    codes = pd.factorize(frame["item"], sort=True)[0]
    values = np.array([y[codes != c].mean() for c in range(codes.max() + 1)])
    g = len(values)
    by_hand = np.sqrt((g - 1) / g * ((values - values.mean()) ** 2).sum())
    one = jackknife_robust_se(mean_leave_out(frame), [y.mean()], frame, "item")
    np.testing.assert_allclose(one.se, [by_hand], rtol=1e-12)
    cr1 = cluster_robust_se(mean_by(None), frame, "item")
    assert 0.97 < one.se[0] / cr1.se[0] < 1.15
    two = jackknife_robust_se(mean_leave_out(frame), [y.mean()], frame, ["rater", "item"])
    cgm = cluster_robust_se(mean_by(None), frame, ["rater", "item"])
    assert two.method == "CGM two-way jackknife" and 0.95 < two.se[0] / cgm.se[0] < 1.2


def test_jackknife_counts_only_the_clusters_in_each_component():
    """A per-arm mean's jackknife uses that arm's clusters only: it equals the one-arm computation."""
    from steerstats.uncertainty.clusters import jackknife_robust_se

    frame = nested_frame(3)
    models = sorted(frame["model"].unique())
    y, arm = frame["y"].to_numpy(float), frame["model"].to_numpy()

    def leave_out(codes):
        values = np.array([[y[(codes != c) & (arm == m)].mean() for m in models] for c in range(codes.max() + 1)])
        touched = np.array([[((codes == c) & (arm == m)).any() for m in models] for c in range(codes.max() + 1)])
        return values, touched

    est = np.array([y[arm == m].mean() for m in models])
    res = jackknife_robust_se(leave_out, est, frame, "user")
    for j, m in enumerate(models):
        part = frame[frame["model"] == m].reset_index(drop=True)
        alone = jackknife_robust_se(mean_leave_out(part), [est[j]], part, "user")
        np.testing.assert_allclose(res.se[j], alone.se[0], rtol=1e-12)
        assert res.n_clusters[j] == part["user"].nunique()
