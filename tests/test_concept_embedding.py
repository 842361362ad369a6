"""Concept-embedding reward model and the intervention policies on a world built for them: one
attribute carries most of the aggregate, the embeddings see every attribute through noise."""

from __future__ import annotations

import numpy as np
import pytest

from steerstats.models import (
    ConceptBottleneckRewardModel,
    ConceptEmbeddingRewardModel,
    intervention_curve,
)

WEIGHTS = np.array([3.0, 0.3, 0.3, 0.3, 0.3])
PROJECTION = np.random.default_rng(9).normal(size=(5, 16))


def _sample(n, rng):
    c = (rng.random((n, 5)) < 0.5).astype(float)
    X = (c @ PROJECTION + rng.normal(0, 1.5, (n, 16))).astype(np.float32)
    y = (rng.random(n) < 1 / (1 + np.exp(-2 * (c @ WEIGHTS - 1.8)))).astype(int)
    return X, c, y


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    X, c, y = _sample(2000, rng)
    test = _sample(1000, rng)
    kw = {"hidden": (32,), "epochs": 40, "learning_rate": 3e-3}
    cem = ConceptEmbeddingRewardModel(embedding_size=8, **kw).fit(X, y, concepts=c)
    cbm = ConceptBottleneckRewardModel(**kw).fit(X, y, concepts=c)
    return {"cem": cem, "cbm": cbm}, test


def test_cem_learns_and_interventions_act_through_the_probabilities(fitted):
    models, (Xt, ct, yt) = fitted
    cem = models["cem"]
    assert cem.score(Xt, yt) > 0.85
    full = cem.decision_function(Xt, known=ct)
    np.testing.assert_allclose(full, cem.logit_from_concepts(Xt, ct), rtol=1e-6, atol=1e-6)
    none = cem.decision_function(Xt, known=ct, known_mask=np.zeros_like(ct, bool))
    np.testing.assert_allclose(none, cem.decision_function(Xt), rtol=1e-5, atol=1e-5)
    # NaN (not elicited) is never used even when the mask asks for it
    partial = ct.copy()
    partial[:, 1:] = np.nan
    only0 = np.where(np.arange(5) == 0, ct, cem.concepts(Xt))
    np.testing.assert_allclose(cem.decision_function(Xt, known=partial), cem.logit_from_concepts(Xt, only0),
                               rtol=1e-5, atol=1e-5)
    X, c, y = _sample(2000, np.random.default_rng(0))  # the fixture's training sample
    again = ConceptEmbeddingRewardModel(hidden=(32,), epochs=40, learning_rate=3e-3, embedding_size=8).fit(X, y, concepts=c)
    np.testing.assert_array_equal(again.decision_function(Xt), cem.decision_function(Xt))  # seeded rerun


@pytest.mark.parametrize("name", ["cem", "cbm"])
def test_oracle_bounds_every_policy_and_cooperative_beats_random(fitted, name):
    models, (Xt, ct, yt) = fitted
    model = models[name]
    curves = {o: intervention_curve(model, Xt, yt, ct, order=o, n_repeats=5, seed=1)["auc"].to_numpy()
              for o in ("random", "uncertain", "cooperative", "oracle")}
    for order, auc in curves.items():
        assert auc[0] == pytest.approx(curves["oracle"][0])  # k = 0: the same model
        assert (curves["oracle"] >= auc - 1e-9).all(), order
    assert curves["cooperative"][1] > curves["random"][1] + 0.005  # the heavy attribute first
    assert curves["random"][-1] > curves["random"][0]  # knowing every attribute helps


def test_policies_skip_attributes_not_elicited(fitted):
    models, (Xt, ct, yt) = fitted
    known = ct.copy()
    known[:, 0] = np.nan  # the heavy attribute was never elicited
    for order in ("cooperative", "oracle"):
        curve = intervention_curve(models["cbm"], Xt, yt, known, order=order)
        assert len(curve) == 6 and curve["auc"].iloc[-1] == pytest.approx(curve["auc"].iloc[-2])
    flat = intervention_curve(models["cbm"], Xt, yt, np.full_like(ct, np.nan), order="oracle")
    assert flat["auc"].nunique() == 1
