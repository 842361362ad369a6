"""The synthetic study: determinism, the release's schema, and truth matching large-sample estimates."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from steerstats.data import (
    SimulationParams,
    load_card,
    load_file,
    load_study,
    schema_only,
    simulate_steering,
    simulate_study,
)
from steerstats.data.image_steering import TIDY_COLUMNS
from steerstats.data.simulate.truth import expected_sigmoid
from steerstats.errors import ConfigError

FRAMES = (
    "steering", "sat_ratings", "improvement", "pom1", "pom5", "choosing_seed", "image_steering",
    "llm_steering", "llm_sat_ratings", "llm_improvement",
)
CARD_KEYS = {
    "steering": "steering", "sat_ratings": "sat_ratings", "improvement": "improvement",
    "pom1": "pom1", "pom5": "pom5", "choosing_seed": "choosing_seed",
    "llm_steering": "llm_steering", "llm_sat_ratings": "llm_sat_ratings",
    "llm_improvement": "llm_improvement",
}


@pytest.fixture(scope="module")
def study():
    return simulate_study(seed=7)


def _frames(s):
    out = {name: getattr(s, name) for name in FRAMES}
    out.update({f"blind_{k}": v for k, v in s.blind_steering.items()})
    out.update({f"seed_{k}": v for k, v in s.seed_constraint.items()})
    return out


def test_bit_identical_for_a_seed(study):
    again = simulate_study(seed=7)
    for name, frame in _frames(study).items():
        pd.testing.assert_frame_equal(frame, _frames(again)[name], check_exact=True, obj=name)
    other = simulate_study(seed=8)
    assert not np.array_equal(other.steering["dreamsim"], study.steering["dreamsim"])
    pd.testing.assert_frame_equal(load_study("synthetic", seed=7).steering, study.steering, check_exact=True)


def test_simulate_steering_is_the_studys_steering(study):
    fast = simulate_steering(SimulationParams(), 7)
    pd.testing.assert_frame_equal(fast, study.steering, check_exact=True)
    rng_a, rng_b = np.random.default_rng(3), np.random.default_rng(3)
    pd.testing.assert_frame_equal(simulate_steering(None, rng_a), simulate_steering(None, rng_b))


def test_release_design_by_default(study):
    s = study.steering
    assert len(s) == 277 * 2 * 5 and s["steering_user_id"].nunique() == 277
    assert set(s["model"]) == set(load_card("vafa2025").models["image"])
    assert (s.groupby(["steering_user_id", "goal_image"]).size() == 5).all()
    assert {k: len(v) for k, v in study.blind_steering.items()} == {4: 400, 7: 700, 10: 1000, 20: 2000}
    assert set(study.seed_constraint) == {1, 2, 3}
    assert study.name == "synthetic" and study.truth is not None


SCHEMA = schema_only(load_card("vafa2025"))  # the release's schema, not its sha256 / row counts


@pytest.mark.parametrize("name", sorted(CARD_KEYS))
def test_frames_pass_the_release_validation(study, tmp_path, name):
    """Written as CSV, every simulated frame loads through the release's card and round-trips."""
    frame = getattr(study, name)
    spec = load_card("vafa2025").file(CARD_KEYS[name])
    assert list(frame.columns) == [c.name for c in spec.columns if not c.drop]
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    table = load_file(path, CARD_KEYS[name], SCHEMA)
    pd.testing.assert_frame_equal(table.frame, frame, check_exact=False, rtol=1e-12)


def test_blind_steering_and_seed_frames_match_the_card(study, tmp_path):
    for k, frame in study.blind_steering.items():
        frame.to_csv(tmp_path / "b.csv", index=False)
        assert len(load_file(tmp_path / "b.csv", f"blind_steering_{k}", SCHEMA).frame) == len(frame)
    for n, frame in study.seed_constraint.items():
        frame.to_csv(tmp_path / "s.csv", index=False)
        assert len(load_file(tmp_path / "s.csv", f"seed_constraint_{n}", SCHEMA).frame) == len(frame)
    # blind steering's user_score is the user's own first-attempt dreamsim
    s = study.steering
    first = s[s["attempt"] == 1].set_index("goal_image")["dreamsim"]
    b = study.blind_steering[4]
    assert np.array_equal(b["user_score"].to_numpy(), first.loc[b["goal_url"]].to_numpy())


def test_image_steering_schema_matches_the_release(study, vafa2025_dir):
    released = load_study("vafa2025", vafa2025_dir).image_steering
    assert list(study.image_steering.columns) == list(TIDY_COLUMNS) == list(released.columns)
    assert dict(study.image_steering.dtypes.astype(str)) == dict(released.dtypes.astype(str))


def test_missing_llm_attempts_are_reported(study):
    assert any("missing attempts" in w.message for w in study.warnings)
    seqs = study.llm_steering.groupby(["steering_user_id", "goal_headline"])["attempt"]
    assert (seqs.min() == 1).all() and (seqs.max() == 5).all()  # only middle attempts are skipped


def test_expected_sigmoid_quadrature():
    rng = np.random.default_rng(0)
    draws = rng.normal(0.7, 0.8, 2_000_000)
    assert expected_sigmoid(0.7, 0.64) == pytest.approx(np.mean(1 / (1 + np.exp(-draws))), abs=1e-3)
    assert expected_sigmoid(0.0, 2.0) == pytest.approx(0.5, abs=1e-12)


def test_truth_is_self_consistent(study):
    t = study.truth
    models = list(SimulationParams().models)
    assert np.allclose(np.diag(t.dreamsim_cross.loc[models, models]), t.dreamsim_mean_by_model[models])
    assert np.allclose(t.rating_probs_by_model.sum(axis=1), 1)
    assert t.rating_probs_by_model.to_numpy().min() > 0


def test_realised_latent_effects_are_in_truth(study):
    p = SimulationParams()
    d = study.truth.goal_difficulty_by_goal
    assert len(d) == study.steering["goal_image"].nunique() == p.n_users * p.goals_per_user
    b = study.truth.user_effect_by_user
    assert list(b.index) == list(dict.fromkeys(study.steering["steering_user_id"]))
    # eta of attempt 1 = alpha_m - d_g + b_u + noise: the latent effects explain most of it
    s = study.steering[study.steering["attempt"] == 1]
    alpha = pd.Series(p.model_effect, index=p.models)
    pred = alpha.loc[s["model"]].to_numpy() - d.loc[s["goal_image"]].to_numpy() + b.loc[s["steering_user_id"]].to_numpy()
    logit = np.log(s["dreamsim"] / (1 - s["dreamsim"])).to_numpy()
    assert np.std(logit - pred) == pytest.approx(p.sigma_attempt, rel=0.15)


def test_params_are_validated():
    with pytest.raises(ConfigError):
        SimulationParams(model_effect=(0.0,))
    with pytest.raises(ConfigError):
        SimulationParams(rating_cutpoints=(1.0, 0.0, 2.0))
    with pytest.raises(dataclasses.FrozenInstanceError):
        SimulationParams().n_users = 3  # type: ignore[misc]


@pytest.fixture(scope="module")
def big():
    p = SimulationParams(
        n_users=12_000, n_ratings=150_000, n_raters=20_000, n_judges=20_000,
        improvement_per_goal=2, pom_per_goal=2, blind_goals=6_000, choosing_seed_users=4_000,
        seed_constraint_users=3_000, llm_users=6_000, llm_ratings=100_000, llm_raters=20_000,
        llm_improvement_per_goal=2, image_steering_users=(500, 500, 500),
    )
    return simulate_study(p, seed=11)


def _cluster_se(values: pd.Series, *clusters: pd.Series) -> float:
    """SE of a mean, summing one-way cluster-robust variances (conservative two-way)."""
    resid = values.to_numpy(dtype=float) - values.mean()
    n = resid.size
    var = sum(float((pd.Series(resid).groupby(c.to_numpy()).sum() ** 2).sum()) / n**2 for c in clusters)
    return float(np.sqrt(var))


def _assert_close(frame: pd.DataFrame, value: str, by: str | list[str], truth: pd.Series, clusters: list[str]) -> None:
    """Every group's mean lies within 4 cluster-robust SEs of its truth."""
    for key, g in frame.groupby(by):
        se = _cluster_se(g[value], *(g[c] for c in clusters))
        t = truth.loc[key] if not isinstance(key, tuple) else truth.loc[key[0], key[1]]
        assert abs(g[value].mean() - t) < 4 * se, (value, key, g[value].mean(), t, se)


def _assert_close_all(frame: pd.DataFrame, value: str, truth: float, clusters: list[str]) -> None:
    se = _cluster_se(frame[value], *(frame[c] for c in clusters))
    assert abs(frame[value].mean() - truth) < 4 * se, (value, frame[value].mean(), truth, se)


@pytest.mark.slow
def test_truth_matches_large_sample_estimates(big):
    t, s = big.truth, big
    user = ["steering_user_id"]
    _assert_close(s.steering, "dreamsim", "model", t.dreamsim_mean_by_model, user)
    _assert_close(s.steering, "dreamsim", ["model", "attempt"], t.dreamsim_mean_by_attempt, user)
    _assert_close(s.steering, "clip_similarity", "model", t.clip_mean_by_model, user)
    _assert_close_all(s.steering, "dreamsim", t.dreamsim_mean_by_model["Average"], user)
    raters = ["steering_user_id", "user_id"]
    _assert_close(s.sat_ratings, "rating", "model", t.rating_mean_by_model, raters)
    very = s.sat_ratings.assign(very=(s.sat_ratings["rating"] == 4).astype(float))
    _assert_close_all(very, "very", t.share_very_satisfied_by_model["Overall"], raters)
    for frame, col, key in (
        (s.improvement, "last_chosen", "improvement_prob_by_model"),
        (s.pom1, "ref_chosen", "pom1_prob_by_model"),
        (s.pom5, "ref_chosen", "pom5_prob_by_model"),
    ):
        _assert_close_all(frame.assign(y=frame[col].astype(float)), "y", getattr(t, key)["Overall"], raters)
    for n in (1, 2, 3):
        _assert_close_all(s.seed_constraint[n], "dreamsim", t.seed_constraint[n], user)
    _assert_close(s.choosing_seed, "dreamsim", "attempt", t.choosing_seed["chosen_mean"], user)
    _assert_close(s.llm_sat_ratings, "rating", "model", t.llm_rating_mean_by_model, raters)
    imp = s.llm_improvement.assign(y=s.llm_improvement["last_chosen"].astype(float))
    _assert_close_all(imp, "y", t.llm_improvement_prob_by_model["Overall"], raters)
    kept = s.image_steering.assign(y=s.image_steering["kept_current"].astype(float))
    truth_keep = pd.Series(SimulationParams().keep_current_prob, index=range(1, 5))
    _assert_close(kept, "y", "round", truth_keep, ["steering_user_id"])


@pytest.mark.slow
def test_blind_steering_truth_matches_large_sample(big):
    steer = big.steering
    g = steer.groupby("goal_image")["dreamsim"]
    first = steer[steer["attempt"] == 1].set_index("goal_image")["dreamsim"]
    human = (g.max() - first).rename("human")
    for k, frame in big.blind_steering.items():
        best = frame.groupby("goal_url")["score"].max()
        llm = np.maximum(0.0, best - first.loc[best.index])
        truth = big.truth.blind_steering[k]
        assert human.loc[best.index].mean() == pytest.approx(truth["human_improvement"], abs=0.004)
        assert llm.mean() == pytest.approx(truth["llm_improvement"], abs=0.004)
        assert llm.mean() / human.loc[best.index].mean() == pytest.approx(truth["ratio"], rel=0.05)


def test_decomposition_truth_has_the_right_sign():
    """A model that produces harder goals has a negative producible-set term."""
    p = SimulationParams(
        model_effect=(0.5,) * 10, goal_difficulty=(0.0, 0.4, 0, 0, 0, 0, 0, 0, 0, 0)
    )
    t = simulate_study(p, seed=0).truth
    cross = t.dreamsim_cross
    m1, m2 = p.models[0], p.models[1]
    steering_term = cross.loc[m2, m2] - cross.loc[m1, m2]
    producible_term = cross.loc[m1, m2] - cross.loc[m1, m1]
    assert steering_term == pytest.approx(0.0, abs=1e-12)
    assert producible_term < -0.05
    assert steering_term + producible_term == pytest.approx(
        t.dreamsim_mean_by_model[m2] - t.dreamsim_mean_by_model[m1], abs=1e-12
    )


def test_subset_of_models():
    """A design without seed-capable models or sd3.5-large-turbo drops those experiments cleanly."""
    p = SimulationParams(models=("dall-e-2",), model_effect=(0.3,), goal_difficulty=(0.0,), n_users=40)
    s = simulate_study(p, seed=1)
    assert s.choosing_seed is None and s.seed_constraint == {}
    assert s.truth.choosing_seed is None and s.truth.seed_constraint == {}
    assert set(s.steering["model"]) == {"dall-e-2"} and len(s.steering) == 40 * 2 * 5


def test_each_simulator_has_a_typed_truth_with_typed_params(study):
    from steerstats.data.simulate.decomposition import (
        DecompositionSimParams,
        DecompositionTruth,
        simulate_decomposition_study,
        true_decomposition,
    )
    from steerstats.data.simulate.truth import SteerabilityTruth

    assert isinstance(study.truth, SteerabilityTruth) and isinstance(study.truth.params, SimulationParams)
    small = DecompositionSimParams(users_per_model=4)
    dec = simulate_decomposition_study(small, seed=0).truth
    assert isinstance(dec, DecompositionTruth) and dec.params == small
    other = small.models[1]
    pd.testing.assert_frame_equal(dec.terms_for(other), true_decomposition(small, other))
    assert dec.terms_for(small.models[0]) is dec.terms


def test_truth_lookup_by_label(study):
    t = study.truth
    by_model = t.lookup("dreamsim_mean_by_model")
    assert by_model["Average"] == t.dreamsim_mean_by_model["Average"]
    cell = t.lookup("dreamsim_mean_by_attempt")  # a wide frame: (row, column) labels
    model = t.dreamsim_mean_by_attempt.index[0]
    assert cell[(str(model), "3")] == t.dreamsim_mean_by_attempt.loc[model, 3]
    blind = t.lookup("blind_steering", "ratio")  # a dict of dicts: one field of each entry
    assert set(blind) == {str(k) for k in t.blind_steering} and blind[str(next(iter(t.blind_steering)))] > 0
    assert t.lookup("choosing_seed", "chosen_mean")["1"] == t.choosing_seed.loc[1, "chosen_mean"]
    assert t.lookup("no_such_quantity") is None and t.lookup("choosing_seed", "no_such_column") is None
    assert t.lookup("params") is None  # not a table of values
