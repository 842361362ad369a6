"""The paper's figure set (Vafa et al. Figs. 2, 3 left, 5, 7) and the split-kappa agreement:
figures built from the release with labelled axes, estimators against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import rankdata
from sklearn.metrics import cohen_kappa_score

from steerstats.data import load_study
from steerstats.report import figures as F
from steerstats.steerability import (
    JUDGEMENTS,
    judgement_table,
    rating_distribution_table,
    seed_constraint_table,
)
from steerstats.steerability.agreement import (
    _draw_splits,
    _items,
    _kappa,
    agreement_table,
    pair_probabilities,
    split_kappa,
)
from steerstats.steerability.rankings import model_rankings, rank_agreement


@pytest.fixture(scope="module")
def study(vafa2025_dir):
    return load_study("vafa2025", vafa2025_dir)


def _labelled(fig):
    for ax in fig.axes:
        if ax.get_visible() and ax.has_data():
            assert ax.get_xlabel() or ax.get_xticklabels(), "an axis without a label"
    assert any(ax.get_xlabel() for ax in fig.axes) and any(ax.get_ylabel() or ax.get_yticklabels() for ax in fig.axes)


def test_rating_distribution_from_the_release(study):
    dist = rating_distribution_table(study)
    shares = dist[[f"share_{k}" for k in (1, 2, 3, 4)]].sum(axis=1)
    np.testing.assert_allclose(shares, 1.0)
    r = study.sat_ratings
    overall = dist[(dist["subset"] == "first attempt") & (dist["model"] == "Overall")].iloc[0]
    assert overall["n"] == int((r["attempt"] == 1).sum())
    assert overall["share_4"] == pytest.approx(float((r.loc[r["attempt"] == 1, "rating"] == 4).mean()))
    fig = F.rating_distribution_figure(dist)
    _labelled(fig)
    assert [ax.get_title() for ax in fig.axes] == ["all attempts", "first attempt", "last attempt"]


def test_judgement_and_seed_figures_from_the_release(study):
    table, _ = judgement_table(study, n_boot=50, seed=0)
    assert {f"{n}_n_clusters" for n in JUDGEMENTS} <= set(table.columns)
    fig = F.judgement_rates_figure(table, tuple(JUDGEMENTS))
    _labelled(fig)
    assert "95%" in fig.axes[0].get_xlabel()
    seeds, _ = seed_constraint_table(study, n_boot=50, seed=0)
    fig = F.seed_frontier_figure(seeds)
    _labelled(fig)
    assert "steerability" in fig.axes[0].get_ylabel()
    fig = F.seed_frontier_figure(seeds, producibility={"1": 0.2, "2": 0.4, "3": 0.6, "default": 1.0})
    assert fig.axes[0].get_xlabel().startswith("producibility")


def test_rankings_equal_ranked_means_and_intervals_cover_them(study):
    ranks = model_rankings(study, n_boot=300, seed=0)
    assert set(ranks["metric"]) == {"dreamsim", "clip", "rating", "improvement"}
    dream = ranks[ranks["metric"] == "dreamsim"].set_index("model")
    means = study.steering.groupby("model")["dreamsim"].mean()
    np.testing.assert_allclose(dream.loc[means.index, "mean"], means, rtol=1e-12)
    np.testing.assert_array_equal(dream.loc[means.index, "rank"], rankdata(-means.to_numpy()))
    assert ((ranks["rank_ci_low"] <= ranks["rank"]) & (ranks["rank"] <= ranks["rank_ci_high"])).all()
    assert (ranks["rank_ci_low"] >= 1).all() and (ranks["rank_ci_high"] <= ranks["n_models"]).all()
    agree = rank_agreement(ranks)
    assert len(agree) == 6 and agree["spearman"].between(-1, 1).all()
    _labelled(F.rankings_figure(ranks))
    again = model_rankings(study, n_boot=300, seed=0)
    pd.testing.assert_frame_equal(again, ranks)


def test_one_split_kappa_equals_sklearn(study):
    frame = study.improvement
    values, starts, sizes, _, _ = _items(frame, "last_chosen", ("model", "goal_image"), "steering_user_id")
    cumulative = np.cumsum(pair_probabilities(values, starts, sizes), axis=1)[:, :3]
    cats = _draw_splits(cumulative, np.random.default_rng(3), 1)
    a, b = (cats[0] <= 1).astype(float), np.isin(cats[0], (0, 2)).astype(float)
    assert _kappa(cats[None], np.ones((1, len(a))))[0, 0] == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_pair_probabilities_enumerate_the_ordered_pairs():
    # items of 4, 3 and 2 judgements, with a left-out single-judgement item between the last two
    values = np.array([1, 1, 0, 1, 0, 0, 0, 1, 1, 1], dtype=bool)
    starts, sizes = np.array([0, 4, 8]), np.array([4, 3, 2])
    probs = pair_probabilities(values, starts, sizes)
    for i, (s0, n) in enumerate(zip(starts, sizes, strict=True)):
        v = values[s0 : s0 + n]
        pairs = [(v[x], v[y]) for x in range(n) for y in range(n) if x != y]
        brute = [np.mean([p == q for p in pairs]) for q in ((True, True), (True, False), (False, True), (False, False))]
        np.testing.assert_allclose(probs[i], brute, rtol=1e-12)
    draws = _draw_splits(np.cumsum(probs, axis=1)[:, :3], np.random.default_rng(0), 40_000)
    freq = np.stack([(draws == c).mean(axis=0) for c in range(4)], axis=1)
    np.testing.assert_allclose(freq, probs, atol=0.01)


def _simulated(rng, n_users=150, items_per_user=3, heterogeneous=True):
    """Items nested in users; P(yes) per item varies with a user effect (heterogeneous raters per
    item count) - the population kappa of two random raters is known from the item probabilities."""
    rows = []
    for u in range(n_users):
        user = rng.normal(0, 0.8)
        for i in range(items_per_user):
            p = 1 / (1 + np.exp(-(user + rng.normal(0, 1.0))))
            k = rng.integers(2, 9) if heterogeneous else 4
            rows += [{"model": "m", "goal_image": f"g{u}_{i}", "steering_user_id": f"u{u}", "y": bool(v), "p": p}
                     for v in rng.random(k) < p]
    return pd.DataFrame(rows)


def _population_kappa(rng):
    ps = []
    for _ in range(4000):
        user = rng.normal(0, 0.8)
        ps.append(1 / (1 + np.exp(-(user + rng.normal(0, 1.0, 3)))))
    p = np.concatenate(ps)
    po = np.mean(p**2 + (1 - p) ** 2)
    m = p.mean()
    pe = m**2 + (1 - m) ** 2
    return (po - pe) / (1 - pe)


@pytest.mark.slow
def test_split_kappa_interval_covers_the_population_kappa():
    truth = _population_kappa(np.random.default_rng(123))
    big = split_kappa(_simulated(np.random.default_rng(0), n_users=3000), "y", n_boot=50, n_splits=20)
    assert big.kappa == pytest.approx(truth, abs=0.02)
    cover, estimates, ses = [], [], []
    for rep in range(100):
        k = split_kappa(_simulated(np.random.default_rng(1000 + rep)), "y", n_boot=400, n_splits=20, seed=rep)
        cover.append(k.ci_low <= truth <= k.ci_high)
        estimates.append(k.kappa)
        ses.append(k.se)
    # the bootstrap SE matches the spread of the estimate across independent studies (measured:
    # 0.030 vs 0.029); one fresh split per replicate instead gave 2.1x and coverage 1.0
    assert np.mean(ses) / np.std(estimates, ddof=1) == pytest.approx(1.0, abs=0.2)
    assert np.mean(cover) >= 0.88, np.mean(cover)


def test_agreement_on_the_release_and_items_that_do_not_nest(study):
    table = agreement_table(study, n_boot=200, seed=0)
    assert list(table["judgement"]) == ["improvement (image)", "pom1 (image)", "pom5 (image)", "improvement (LLM)"]
    assert ((table["kappa_ci_low"] <= table["kappa"]) & (table["kappa"] <= table["kappa_ci_high"])).all()
    assert (table["kappa"].between(-1, 1)).all() and (table["cluster"] == "steering_user_id").all()
    crossed = study.improvement.assign(steering_user_id=np.arange(len(study.improvement)) % 7)
    k = split_kappa(crossed, "last_chosen", n_boot=100)
    assert k.cluster == "item (model, goal_image)"
