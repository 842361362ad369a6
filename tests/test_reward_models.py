"""Reward models: learning, stage-2 recovery, interventions, determinism, persistence, bad input."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.base import clone
from sklearn.metrics import roc_auc_score

from steerstats.errors import InputError
from steerstats.models import (
    CoarseRewardModel,
    ConceptBottleneckRewardModel,
    TrainSpec,
    intervention_curve,
    load_model,
    load_spec,
    save_model,
    train,
    train_many,
)
from steerstats.models.persistence import make_model

SMALL = {"hidden": (32,), "epochs": 40, "learning_rate": 3e-3, "batch_size": 64}


def _concept_task(n: int, seed: int, noise: float = 0.0):
    """Concepts c_j = 1[x_j > 0] on the first 3 of 8 inputs; y from a known linear aggregator."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    c = (x[:, :3] > 0).astype(float)
    x_obs = x + noise * rng.standard_normal(x.shape).astype(np.float32)
    y = (c @ np.array([2.0, -1.5, 1.0]) > 0.5).astype(int)
    return x_obs, y, c


def test_coarse_learns_separable_task():
    x, _, _ = _concept_task(600, 0)
    xt, _, _ = _concept_task(400, 1)
    w = np.array([1.0, 1.0, -1.0, 0, 0, 0, 0, 0])
    y, yt = (x @ w > 0).astype(int), (xt @ w > 0).astype(int)
    model = CoarseRewardModel(**SMALL).fit(x, y)
    assert model.score(xt, yt) > 0.95
    proba = model.predict_proba(xt)
    assert proba.shape == (400, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


@pytest.mark.parametrize("mode", ["sequential", "independent", "joint"])
def test_cbm_modes_learn_separable_task(mode):
    x, y, c = _concept_task(600, 0)
    xt, yt, ct = _concept_task(400, 1)
    # the joint aggregator starts from a random init, not a converged logistic regression
    params = {**SMALL, "learning_rate": 1e-2} if mode == "joint" else SMALL
    model = ConceptBottleneckRewardModel(mode=mode, **params).fit(x, y, c)
    assert model.score(xt, yt) > 0.95
    assert model.concepts(xt).shape == (400, 3)
    assert model.aggregator_weights_.shape == (3,)
    # the attribute heads themselves are learnt
    assert np.mean((model.concepts(xt) > 0.5) == ct) > 0.9


@pytest.mark.parametrize("mode", ["sequential", "independent"])
def test_aggregator_bootstrap_refits_stage2_and_covers_the_fitted_weights(mode):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(5)
    x, y, c = _concept_task(500, 2, noise=0.3)
    groups = rng.integers(0, 100, 500)
    model = ConceptBottleneckRewardModel(mode=mode, **SMALL).fit(x, y, c)
    reps = model.aggregator_bootstrap(x, y, c, groups, n_boot=60, seed=1)
    assert reps.shape == (60, 3) and np.isfinite(reps).all()
    lo, hi = np.quantile(reps, [0.025, 0.975], axis=0)
    assert ((lo <= model.aggregator_weights_) & (model.aggregator_weights_ <= hi)).all()
    # replicate 0 is stage 2 refit on that resample of the stage-2 design (stage 1 fixed)
    design = model.concepts(x) if mode == "sequential" else c
    from steerstats.uncertainty.bootstrap import cluster_counts

    codes = np.unique(groups, return_inverse=True)[1]
    rows = np.repeat(np.arange(500), cluster_counts(int(codes.max()) + 1, 60, np.random.default_rng(1))[0, codes])
    ref = LogisticRegression(class_weight="balanced", C=model.C).fit(design[rows], y[rows]).coef_[0]
    np.testing.assert_allclose(reps[0], ref, rtol=1e-5, atol=1e-7)
    assert np.array_equal(reps, model.aggregator_bootstrap(x, y, c, groups, n_boot=60, seed=1))


def test_joint_aggregator_has_no_stage2_bootstrap():
    from steerstats.errors import ConfigError

    x, y, c = _concept_task(200, 0)
    model = ConceptBottleneckRewardModel(mode="joint", **{**SMALL, "epochs": 2}).fit(x, y, c)
    with pytest.raises(ConfigError, match="joint"):
        model.aggregator_bootstrap(x, y, c, np.arange(200), n_boot=5)


def test_sequential_stage2_recovers_sign_and_ranking_of_known_weights():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3000, 8)).astype(np.float32)
    c = (x[:, :4] > 0).astype(float)
    w_true = np.array([2.5, -1.5, 0.6, -0.3])
    y = (rng.random(3000) < 1 / (1 + np.exp(-(c @ w_true - 0.6)))).astype(int)
    model = ConceptBottleneckRewardModel(**SMALL).fit(x, y, c)
    w = model.aggregator_weights_
    np.testing.assert_array_equal(np.sign(w), np.sign(w_true))
    assert spearmanr(w, w_true).statistic == pytest.approx(1.0)


def test_interventions_with_true_attributes_raise_auc():
    x, y, c = _concept_task(500, 0, noise=1.5)
    xt, yt, ct = _concept_task(600, 1, noise=1.5)
    model = ConceptBottleneckRewardModel(**SMALL).fit(x, y, c)
    for order in ("uncertain", "random"):
        curve = intervention_curve(model, xt, yt, ct, order=order, n_repeats=3, seed=0)
        assert list(curve["n_intervened"]) == [0, 1, 2, 3]
        assert curve["auc"].iloc[-1] > curve["auc"].iloc[0] + 0.05
        # k = 0 is the model's own AUC
        assert curve["auc"].iloc[0] == pytest.approx(model.score(xt, yt))


def test_interventions_skip_attributes_not_elicited():
    x, y, c = _concept_task(500, 0, noise=1.5)
    xt, yt, ct = _concept_task(600, 1, noise=1.5)
    model = ConceptBottleneckRewardModel(**SMALL).fit(x, y, c)
    known = ct.astype(float)
    known[::3, 0] = np.nan  # attribute 0 not elicited for every third test example
    known[::5] = np.nan  # nothing elicited for every fifth
    probs = model.concepts(xt)
    for order in ("uncertain", "random"):
        curve = intervention_curve(model, xt, yt, known, order=order, n_repeats=2, seed=0)
        assert np.isfinite(curve["auc"]).all()
        # all elicited set = the predictions with the known values filled in where elicited
        filled = np.where(np.isfinite(known), known, probs)
        assert curve["auc"].iloc[-1] == pytest.approx(roc_auc_score(yt, model.aggregate_logit(filled)))
        assert curve["auc"].iloc[0] == pytest.approx(model.score(xt, yt))


def test_soft_and_missing_attribute_labels():
    x, y, c = _concept_task(600, 0)
    xt, yt, _ = _concept_task(400, 1)
    soft = np.clip(0.8 * c + 0.1, 0, 1)
    soft[::7, 1] = np.nan  # not elicited for every 7th example
    model = ConceptBottleneckRewardModel(**SMALL).fit(x, y, soft)
    assert model.score(xt, yt) > 0.9
    with pytest.raises(InputError, match="independent mode"):
        ConceptBottleneckRewardModel(mode="independent", **SMALL).fit(x, y, soft)


def test_same_seed_bit_identical_other_seed_differs():
    x, y, c = _concept_task(300, 0)
    a = ConceptBottleneckRewardModel(**SMALL, random_state=5).fit(x, y, c)
    b = ConceptBottleneckRewardModel(**SMALL, random_state=5).fit(x, y, c)
    d = ConceptBottleneckRewardModel(**SMALL, random_state=6).fit(x, y, c)
    np.testing.assert_array_equal(a.decision_function(x), b.decision_function(x))
    assert not np.array_equal(a.decision_function(x), d.decision_function(x))


def test_early_stopping_keeps_best_validation_epoch():
    x, y, _ = _concept_task(400, 0, noise=1.0)
    groups = np.arange(400) // 4
    model = CoarseRewardModel(**{**SMALL, "epochs": 60}, validation_fraction=0.25).fit(
        x, y, groups=groups
    )
    assert np.all(np.isfinite(model.val_loss_))
    assert model.best_epoch_ == int(np.argmin(model.val_loss_))


def test_train_many_matches_single_runs():
    x, _, c = _concept_task(200, 0)
    spec = TrainSpec(hidden=(16,), n_out=3, epochs=5, batch_size=64, learning_rate=1e-3)
    keys = jax.random.split(jax.random.key(0), 2)
    many = train_many(spec, x, c, keys)
    for k, res in zip(keys, many, strict=True):
        single = train(spec, x, c, k)
        np.testing.assert_allclose(res.train_loss, single.train_loss, rtol=1e-4, atol=1e-5)


def test_sklearn_api_and_persistence(tmp_path):
    x, y, c = _concept_task(300, 0)
    model = ConceptBottleneckRewardModel(**SMALL, attribute_names=("a", "b", "c"))
    assert clone(model).get_params() == model.get_params()
    model.set_params(epochs=10)
    model.fit(x, y, c)
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.decision_function(x), model.decision_function(x))
    np.testing.assert_array_equal(loaded.aggregator_weights_, model.aggregator_weights_)
    assert loaded.attribute_names == ("a", "b", "c")
    coarse = CoarseRewardModel(**{**SMALL, "epochs": 5}).fit(x, y)
    save_model(coarse, tmp_path / "c")
    np.testing.assert_array_equal(
        load_model(tmp_path / "c").decision_function(x), coarse.decision_function(x)
    )


def test_paper_specs_load(request):
    root = request.config.rootpath / "models"
    coarse = load_spec(root / "coarse_paper.toml")
    cbm = load_spec(root / "cbm_sequential_paper.toml")
    assert isinstance(coarse, CoarseRewardModel)
    assert coarse.get_params()["hidden"] == (256, 256) and coarse.epochs == 100
    assert coarse.learning_rate == 1e-4 and coarse.batch_size == 128
    assert isinstance(cbm, ConceptBottleneckRewardModel) and cbm.mode == "sequential"
    assert load_spec(root / "cbm_joint.toml").mode == "joint"


def test_bad_inputs_raise_input_error():
    x, y, c = _concept_task(50, 0)
    bad_x = x.copy()
    bad_x[7, 2] = np.nan
    with pytest.raises(InputError, match="row 8"):
        CoarseRewardModel(**SMALL).fit(bad_x, y)
    bad_y = y.astype(float)
    bad_y[3] = 2
    with pytest.raises(InputError, match=r"row 4.*aggregate"):
        CoarseRewardModel(**SMALL).fit(x, bad_y)
    bad_c = c.copy()
    bad_c[5, 0] = 1.5
    with pytest.raises(InputError, match="row 6"):
        ConceptBottleneckRewardModel(**SMALL).fit(x, y, bad_c)
    with pytest.raises(InputError, match="needs attribute labels"):
        ConceptBottleneckRewardModel(**SMALL).fit(x, y)
    missing_y = y.astype(float)
    missing_y[9] = np.nan
    with pytest.raises(InputError, match=r"row 10.*aggregate.*missing"):
        CoarseRewardModel(**SMALL).fit(x, missing_y)
    model = CoarseRewardModel(**{**SMALL, "epochs": 2}).fit(x, y)
    with pytest.raises(ValueError, match="4 features, but CoarseRewardModel is expecting"):
        model.decision_function(x[:, :4])
    with pytest.raises(Exception, match="unknown"):
        make_model("coarse", mode="joint")
