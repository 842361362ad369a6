"""Bradley-Terry / Davidson preference reward models: recovery of known utilities, agreement with
choix (an independent implementation), bad input."""

from __future__ import annotations

import choix  # test-only (dev extra, installed by `make setup`): a missing one is a broken set-up, not a skip
import numpy as np
import pytest

from steerstats.errors import InputError
from steerstats.models.pairwise import BradleyTerryRewardModel


def _comparisons(rng, n=12, m=3000, nu=None):
    u = rng.normal(0, 1, n)
    pairs = np.array([rng.choice(n, 2, replace=False) for _ in range(m)])
    d = u[pairs[:, 0]] - u[pairs[:, 1]]
    if nu is None:
        outcome = (rng.random(m) < 1 / (1 + np.exp(-d))).astype(float)
    else:
        pa, pb = np.exp(d / 2), np.exp(-d / 2)
        total = pa + pb + nu
        draw = rng.random(m)
        outcome = np.where(draw < pa / total, 1.0, np.where(draw < (pa + pb) / total, 0.0, 0.5))
    return u, pairs, outcome


def test_item_level_bradley_terry_equals_choix_mle():
    u, pairs, outcome = _comparisons(np.random.default_rng(0))
    X = np.eye(len(u), dtype=np.float32)  # one-hot items and no hidden layer: r is one utility per item
    model = BradleyTerryRewardModel(hidden=(), epochs=1500, learning_rate=0.05, batch_size=len(pairs), ties="drop")
    r = model.fit(X, pairs, outcome).decision_function(X)
    data = [(a, b) if o == 1 else (b, a) for (a, b), o in zip(pairs, outcome, strict=True)]
    reference = choix.opt_pairwise(len(u), data, alpha=0)
    np.testing.assert_allclose(r - r.mean(), reference - reference.mean(), atol=1e-4)


def test_davidson_recovers_utilities_and_the_tie_parameter():
    u, pairs, outcome = _comparisons(np.random.default_rng(1), m=6000, nu=0.8)
    X = np.eye(len(u), dtype=np.float32)
    model = BradleyTerryRewardModel(hidden=(), epochs=1500, learning_rate=0.05, batch_size=len(pairs), ties="davidson")
    r = model.fit(X, pairs, outcome).decision_function(X)
    assert model.tie_parameter_ == pytest.approx(0.8, abs=0.1)
    assert np.corrcoef(r, u)[0, 1] > 0.97
    probs = model.predict_pair_proba(X, pairs[:5])
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    # ties as half wins bias nothing in sign: the same ranking of items
    half = BradleyTerryRewardModel(hidden=(), epochs=1500, learning_rate=0.05, batch_size=len(pairs), ties="half")
    rh = half.fit(X, pairs, outcome).decision_function(X)
    assert np.corrcoef(rh, r)[0, 1] > 0.99


def test_feature_based_model_generalises_to_unseen_items():
    """Utilities are a nonlinear function of features; the MLP scores held-out items."""
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    u = np.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2]
    train_items = np.arange(300)
    pairs = np.array([rng.choice(train_items, 2, replace=False) for _ in range(6000)])
    d = u[pairs[:, 0]] - u[pairs[:, 1]]
    outcome = (rng.random(len(pairs)) < 1 / (1 + np.exp(-3 * d))).astype(float)
    model = BradleyTerryRewardModel(hidden=(32, 32), epochs=60, learning_rate=3e-3, ties="drop").fit(X, pairs, outcome)
    test = np.array([rng.choice(np.arange(300, 400), 2, replace=False) for _ in range(2000)])
    truth = (u[test[:, 0]] > u[test[:, 1]]).astype(float)
    assert model.score(X, test, truth) > 0.8
    again = BradleyTerryRewardModel(hidden=(32, 32), epochs=60, learning_rate=3e-3, ties="drop").fit(X, pairs, outcome)
    np.testing.assert_array_equal(again.decision_function(X), model.decision_function(X))  # seeded


@pytest.mark.parametrize(
    ("pairs", "outcome", "message"),
    [
        ([[0, 0]], [1], "compares item 0 with itself"),
        ([[0, 9]], [1], "refers to item 9"),
        (np.zeros((0, 2), int), [], "no pairs"),
        ([[0, 1]], [2], "must be 1 .*0 .*or 0.5"),
        ([[0, 1], [1, 0]], [1], "1 outcomes for 2 pairs"),
    ],
)
def test_bad_comparisons_are_errors(pairs, outcome, message):
    X = np.eye(3, dtype=np.float32)
    with pytest.raises(InputError, match=message):
        BradleyTerryRewardModel(hidden=(), epochs=1).fit(X, np.asarray(pairs), np.asarray(outcome))


def test_cycles_are_fine_and_all_ties_with_drop_is_an_error():
    X = np.eye(3, dtype=np.float32)
    cycle = np.array([[0, 1], [1, 2], [2, 0]] * 10)
    r = BradleyTerryRewardModel(hidden=(), epochs=200, learning_rate=0.05, ties="drop").fit(
        X, cycle, np.ones(30)).decision_function(X)
    assert np.ptp(r) < 0.05  # a perfect cycle: equal utilities
    with pytest.raises(InputError, match="every pair is a tie"):
        BradleyTerryRewardModel(hidden=(), epochs=1, ties="drop").fit(X, cycle, np.full(30, 0.5))


def _rankings(rng, n=10, lists=800, size=4):
    u = rng.normal(0, 1, n)
    out = []
    for _ in range(lists):
        s = rng.choice(n, size, replace=False)
        out.append(list(s[np.argsort(-(u[s] + rng.gumbel(size=size)))]))  # Gumbel-max: exact Plackett-Luce draws
    return u, out


def test_plackett_luce_equals_choix_and_partial_rankings_recover_utilities():
    from steerstats.models.pairwise import PlackettLuceRewardModel

    u, rankings = _rankings(np.random.default_rng(3))
    X = np.eye(len(u), dtype=np.float32)
    fit = PlackettLuceRewardModel(hidden=(), epochs=1500, learning_rate=0.05, batch_size=len(rankings)).fit(X, rankings)
    r = fit.decision_function(X)
    reference = choix.opt_rankings(len(u), rankings, alpha=0)
    np.testing.assert_allclose(r - r.mean(), reference - reference.mean(), atol=1e-4)
    top2 = PlackettLuceRewardModel(hidden=(), epochs=1500, learning_rate=0.05, batch_size=len(rankings)).fit(
        X, [k[:2] for k in rankings], [k[2:] for k in rankings])
    assert np.corrcoef(top2.decision_function(X), u)[0, 1] > 0.97


@pytest.mark.parametrize(("rankings", "unranked", "message"), [
    ([[0, 0, 1]], None, "lists an item twice"),
    ([[0]], None, "fewer than two items"),
    ([[0, 7]], None, "refers to item 7"),
    ([], None, "no rankings"),
    ([[0, 1]], [[2], [1]], "2 unranked sets for 1 rankings"),
])
def test_bad_rankings_are_errors(rankings, unranked, message):
    from steerstats.models.pairwise import PlackettLuceRewardModel

    with pytest.raises(InputError, match=message):
        PlackettLuceRewardModel(hidden=(), epochs=1).fit(np.eye(3, dtype=np.float32), rankings, unranked)
