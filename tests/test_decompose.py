"""The producibility/steering decomposition: identity with an oracle, cross-fitting, refit
bootstrap determinism, Bayesian draws, seed trade-off, CLI and (slow) validation."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats.data.simulate.decomposition import (
    DecompositionSimParams,
    oracle_mu,
    simulate_decomposition_study,
    true_decomposition,
)
from steerstats.decompose import (
    bayesian_bootstrap_weights,
    bootstrap_terms,
    crossfit_mu,
    decomposition_terms,
    estimate_terms,
    posterior_terms,
    prepare_decomposition,
    replicate_weights,
    seed_tradeoff,
    terms_frame,
)
from steerstats.errors import InputError

SMALL = DecompositionSimParams(users_per_model=10)


def _data(study, **kw):
    return prepare_decomposition(
        study.steering, blocks=("model", "goal"), goal_embeddings=study.truth.goal_embeddings, **kw
    )


@pytest.fixture(scope="module")
def study():
    return simulate_decomposition_study(SMALL, seed=4)


def test_oracle_terms_add_up_exactly_without_noise():
    params = DecompositionSimParams(users_per_model=6, user_sd=0.0, goal_sd=0.0, noise_sd=0.0)
    s = simulate_decomposition_study(params, seed=0)
    data = _data(s)
    mu = oracle_mu(params, s.steering, s.truth.goal_embeddings)
    np.testing.assert_allclose(mu, s.truth.mu_oracle)
    terms = terms_frame(data, decomposition_terms(data.y, data.codes, mu, data.reference))
    np.testing.assert_allclose(terms["mean_error_diff"], 0.0, atol=1e-12)
    np.testing.assert_allclose(terms["steering_term"] + terms["producible_term"], terms["observed_diff"], atol=1e-12)
    # the steering term of an additive truth is c_i - c_1 exactly, whatever goals were drawn
    truth = true_decomposition(params).set_index("model")
    np.testing.assert_allclose(terms.set_index("model")["steering_term"], truth["steering_term"], atol=1e-12)


def test_terms_follow_their_definitions_and_weights_duplicate_rows(study):
    data = _data(study)
    rng = np.random.default_rng(0)
    mu = rng.random((len(data.y), len(data.models)))
    t = decomposition_terms(data.y, data.codes, mu, data.reference)
    k, r = 1, data.reference
    own, ref = data.codes == k, data.codes == r
    assert t[0, k] == pytest.approx(data.y[own].mean() - data.y[ref].mean())
    assert t[1, k] == pytest.approx((mu[own, k] - mu[own, r]).mean())
    assert t[2, k] == pytest.approx(mu[own, r].mean() - mu[ref, r].mean())
    np.testing.assert_allclose(t[:, r], 0.0, atol=1e-12)
    w = rng.integers(0, 3, len(data.y)).astype(float)
    rep = np.repeat(np.arange(len(data.y)), w.astype(int))
    np.testing.assert_allclose(
        decomposition_terms(data.y, data.codes, mu, r, w),
        decomposition_terms(data.y[rep], data.codes[rep], mu[rep], r),
    )
    stacked = decomposition_terms(data.y, data.codes, np.stack([mu, mu]), r, np.vstack([w, np.ones_like(w)]))
    np.testing.assert_allclose(stacked[1], t)


def test_crossfit_prediction_ignores_own_fold_outcomes(study):
    data = _data(study)
    mu, alphas = crossfit_mu(data)
    assert mu.shape == (len(data.y), len(data.models)) and len(alphas) == data.n_folds
    changed = data.y.copy()
    rows = data.fold == 0
    changed[rows] += 10.0
    mu2, _ = crossfit_mu(type(data)(**{**data.__dict__, "y": changed}))
    np.testing.assert_allclose(mu2[rows], mu[rows])
    assert not np.allclose(mu2[~rows], mu[~rows])


def test_estimates_near_truth_on_one_large_study():
    s = simulate_decomposition_study(DecompositionSimParams(users_per_model=200), seed=11)
    est = terms_frame(_data(s), estimate_terms(_data(s))).set_index("model")
    truth = s.truth.terms.set_index("model")
    # with 2000 goals per model the sampling SD of each term is below ~0.006
    for col in ("steering_term", "producible_term"):
        np.testing.assert_allclose(est[col], truth[col], atol=0.02)


def test_replicate_weights_resample_users_within_models(study):
    data = _data(study)
    w = replicate_weights(data, seed=3, b=0)
    per_model = pd.Series(w).groupby(data.codes).sum()
    rows_per_model = pd.Series(np.ones_like(w)).groupby(data.codes).sum()
    np.testing.assert_allclose(per_model, rows_per_model)  # each model keeps its number of users
    per_user = pd.DataFrame({"w": w, "c": data.cluster}).groupby("c")["w"].nunique()
    assert (per_user == 1).all()  # whole users are drawn


def test_bootstrap_refit_is_deterministic_across_workers(study):
    data = _data(study)
    a = bootstrap_terms(data, n_boot=6, seed=5, n_jobs=1, progress=False)
    b = bootstrap_terms(data, n_boot=6, seed=5, n_jobs=1, chunk=4, progress=False)
    c = bootstrap_terms(data, n_boot=6, seed=5, n_jobs=2, chunk=2, progress=False)
    np.testing.assert_array_equal(a.draws, b.draws)
    np.testing.assert_array_equal(a.draws, c.draws)
    d = bootstrap_terms(data, n_boot=6, seed=6, n_jobs=1, progress=False)
    assert not np.array_equal(a.draws, d.draws)
    assert (a.ci_low <= a.ci_high).all() and a.draws.shape == (6, 4, len(data.models))


def test_posterior_terms_with_fixed_parameters(study):
    data = _data(study, estimator="additive")
    k = len(data.models)
    rng = np.random.default_rng(0)
    alpha = rng.standard_normal(k)
    beta = rng.standard_normal(data.features.shape[1])
    samples = {"alpha": np.broadcast_to(alpha, (2, 3, k)), "beta": np.broadcast_to(beta, (2, 3, len(beta)))}
    draws = posterior_terms(samples, data, center=0.6, scale=0.1, seed=1)
    mu = 0.6 + 0.1 * ((data.features @ beta)[:, None] + alpha[None, :])
    w = bayesian_bootstrap_weights(data, 6, np.random.default_rng(1))
    np.testing.assert_allclose(draws, decomposition_terms(data.y, data.codes, np.stack([mu] * 6), data.reference, w))
    # additive mu: the steering term is alpha_k - alpha_ref in every draw, whatever the weights
    np.testing.assert_allclose(draws[:, 1, :], np.broadcast_to(0.1 * (alpha - alpha[data.reference]), (6, k)), atol=1e-12)


def test_posterior_terms_with_model_specific_slopes(study):
    data = _data(study)  # interacted: shared basis + per-model slopes on the leading components
    k, q = len(data.models), data.interaction.shape[1]
    x = np.hstack([data.features, data.expanded])
    rng = np.random.default_rng(1)
    alpha, beta, delta = rng.standard_normal(k), rng.standard_normal(x.shape[1]), rng.standard_normal((k, q))
    samples = {"alpha": np.broadcast_to(alpha, (1, 2, k)), "beta": np.broadcast_to(beta, (1, 2, len(beta))),
               "delta": np.broadcast_to(delta, (1, 2, k, q))}
    draws = posterior_terms(samples, data, center=0.5, scale=0.2, seed=2)
    mu = 0.5 + 0.2 * ((x @ beta)[:, None] + alpha[None, :] + data.interaction @ delta.T)
    w = bayesian_bootstrap_weights(data, 2, np.random.default_rng(2))
    np.testing.assert_allclose(draws, decomposition_terms(data.y, data.codes, np.stack([mu] * 2), data.reference, w))


@pytest.mark.slow
def test_bayesian_model_recovers_steering_terms():
    from steerstats.decompose import linear_decomposition_model, model_inputs
    from steerstats.uncertainty.bayes import NutsSettings, run_nuts

    s = simulate_decomposition_study(DecompositionSimParams(users_per_model=15), seed=8)
    data = _data(s)
    kwargs, center, scale = model_inputs(data)
    post = run_nuts(linear_decomposition_model, kwargs, NutsSettings(300, 300, 2, progress=False), seed=0)
    idata = post.inference_data()  # what decompose --bayes writes as posterior/decomposition.nc
    assert (idata.posterior.sizes["chain"], idata.posterior.sizes["draw"]) == (2, 300)
    assert set(post.samples) <= set(idata.posterior.data_vars)
    draws = posterior_terms(post.samples, data, center, scale, seed=0)
    est = terms_frame(data, draws.mean(axis=0)).set_index("model")
    sd = terms_frame(data, draws.std(axis=0)).set_index("model")
    truth = s.truth.terms.set_index("model")
    z = (est["steering_term"] - truth["steering_term"]).abs() / sd["steering_term"]
    assert (z < 3).all()


def test_seed_tradeoff_on_the_release(vafa2025_dir):
    from steerstats.data import load_study

    study = load_study("vafa2025", vafa2025_dir)
    table = seed_tradeoff(study.steering, study.seed_constraint)
    assert list(table["condition"]) == ["1 seed", "2 seeds", "3 seeds", "unconstrained"]
    free = study.steering[study.steering["model"] == "sd3.5-large-turbo"]["dreamsim"]
    assert table["mean"].iloc[-1] == pytest.approx(free.mean())
    assert table["mean"].iloc[0] == pytest.approx(study.seed_constraint[1]["dreamsim"].mean())
    assert (table["cluster_se"] > table["sem"]).all()  # attempts within a user are correlated
    bad = {1: study.seed_constraint[1].assign(model="dall-e-2")}
    with pytest.raises(InputError, match="row 1"):
        seed_tradeoff(study.steering, bad)


def test_decompose_cli_on_the_release_warns_that_its_text_features_are_too_many_for_its_goals(vafa2025_dir, tmp_path, capsys):
    """The release: 64 TF-IDF goal features for ~56 goals a model, a regime where the validation
    found the terms biased (nonadditive_highdim); the run says so in stderr and in the report."""
    from steerstats.cli import main

    out = tmp_path / "release"
    assert main(["decompose", "--dataset", "vafa2025", "--data-dir", str(vafa2025_dir), "--splits", "2",
                 "--quiet", "--out", str(out)]) == 0
    table = pd.read_csv(out / "tables" / "decomposition.csv")
    assert len(table) == 9 and (table["reference"] == "dall-e-2").all()
    assert table["method"].str.startswith("influence").all()
    np.testing.assert_allclose(table["steering_term"] + table["producible_term"], table["observed_diff"], atol=1e-12)
    assert "warning: 64 features for as few as" in capsys.readouterr().err
    assert "Caution: 64 features" in (out / "report.md").read_text()
    # --components 5 meets the bound (50 goals for the smallest model): no caution, and the estimand says what mu
    # conditions on
    reduced = tmp_path / "reduced"
    assert main(["decompose", "--dataset", "vafa2025", "--data-dir", str(vafa2025_dir), "--splits", "2",
                 "--components", "5", "--quiet", "--out", str(reduced)]) == 0
    assert "warning" not in capsys.readouterr().err
    report = (reduced / "report.md").read_text()
    assert "Caution" not in report and "reduced to the 5 leading principal components of its 64 features" in report
    assert len(pd.read_csv(reduced / "tables" / "decomposition.csv")) == 9


def test_feature_dimension_caution_follows_goals_per_feature():
    from steerstats.data.simulate.decomposition import nonadditive_params
    from steerstats.decompose.estimate import feature_dimension_caution

    few = _data(simulate_decomposition_study(nonadditive_params(), seed=0))  # 6 features, 56 goals a model
    assert feature_dimension_caution(few) is None
    many = _data(simulate_decomposition_study(nonadditive_params(n_features=16), seed=0))
    assert feature_dimension_caution(many).startswith("16 features for as few as 56 goals a model (3.5 per feature")


def test_components_recover_the_signal_subspace_and_lift_the_caution():
    """nonadditive_spiked: 6 signal features and 58 irrelevant ones of SD 0.5. The 6 leading
    principal components span the signal features (every canonical correlation > 0.95), the
    64-feature layout draws the caution and the reduced one does not; a bad q is a ConfigError."""
    from steerstats.data.simulate.decomposition import nonadditive_params
    from steerstats.decompose.estimate import feature_dimension_caution
    from steerstats.errors import ConfigError

    s = simulate_decomposition_study(nonadditive_params(irrelevant_features=58), seed=0)
    full, reduced = _data(s), _data(s, components=6)
    assert full.features.shape[1] == 64 and full.reduced_from is None
    assert reduced.features.shape[1] == 6 and reduced.reduced_from == 64
    np.testing.assert_allclose(reduced.features.std(axis=0), 1.0)
    assert feature_dimension_caution(full).endswith("make them trustworthy") and "--components 6" in feature_dimension_caution(full)
    assert feature_dimension_caution(reduced) is None
    _, first = np.unique(reduced.goal, return_index=True)
    signal = s.truth.goal_embeddings.set_index("goal_image").loc[s.steering["goal_image"].iloc[first]].to_numpy()[:, :6]
    q_pcs, _ = np.linalg.qr(reduced.features[first] - reduced.features[first].mean(axis=0))
    q_signal, _ = np.linalg.qr(signal - signal.mean(axis=0))
    assert np.linalg.svd(q_pcs.T @ q_signal, compute_uv=False).min() > 0.95
    for bad in (0, 65):
        with pytest.raises(ConfigError, match="components must be between 1 and the number of features \\(64\\)"):
            _data(s, components=bad)


def test_irrelevant_features_are_appended_without_changing_the_study():
    from steerstats.data.simulate.decomposition import nonadditive_params, true_decomposition
    from steerstats.errors import ConfigError

    base = simulate_decomposition_study(nonadditive_params(), seed=3)
    spiked = simulate_decomposition_study(nonadditive_params(irrelevant_features=5, irrelevant_sd=0.25), seed=3)
    pd.testing.assert_frame_equal(base.steering, spiked.steering)
    pd.testing.assert_frame_equal(base.truth.goal_embeddings, spiked.truth.goal_embeddings.iloc[:, :7])
    extra = spiked.truth.goal_embeddings.iloc[:, 7:].to_numpy()
    assert extra.shape[1] == 5 and 0.2 < extra.std() < 0.3
    np.testing.assert_array_equal(base.truth.mu_oracle, spiked.truth.mu_oracle)
    pd.testing.assert_frame_equal(true_decomposition(base.truth.params), true_decomposition(spiked.truth.params))
    with pytest.raises(ConfigError, match="irrelevant"):
        nonadditive_params(irrelevant_features=-1)


def test_reference_must_exist(study):
    with pytest.raises(InputError, match="reference model"):
        prepare_decomposition(study.steering, reference="not-a-model", blocks=("model",))


def test_decompose_cli_synthetic_with_truth(tmp_path):
    from steerstats.cli import main

    out = tmp_path / "dec"
    code = main(["decompose", "--dataset", "synthetic", "--n-boot", "4", "--jobs", "1", "--quiet", "--out", str(out)])
    assert code == 0
    assert assert_run_layout(out, "decompose")["truth"]
    table = pd.read_csv(out / "tables" / "decomposition.csv")
    for col in ("observed_diff", "steering_term", "producible_term", "mean_error_diff", "method", "truth_steering_term"):
        assert col in table.columns
    for term in ("observed_diff", "steering_term", "producible_term", "mean_error_diff"):
        assert {f"{term}_ci_low", f"{term}_ci_high"} <= set(table.columns)
    np.testing.assert_allclose(
        table["observed_diff"] - table["steering_term"] - table["producible_term"], table["mean_error_diff"], atol=1e-12
    )
    assert (out / "figures" / "decomposition.png").is_file()
    assert main(["decompose", "--dataset", "synthetic", "--reference", "nope", "--out", str(tmp_path / "x")]) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_validation_bias_and_coverage():
    from steerstats.decompose import validate_decomposition

    _, summary = validate_decomposition(scenarios=("nonadditive",), n_sims=20, n_boot=40, seed=1, n_jobs=1, progress=False)
    terms = summary[summary["term"].isin(["steering_term", "producible_term"])]
    interacted = terms[terms["estimator"] == "interacted"]
    additive = terms[terms["estimator"] == "additive"]
    # the default estimator: |bias| within ~3 Monte Carlo SEs of zero (R = 20), coverage near 95%
    assert (interacted["bias"].abs() <= 3 * interacted["bias_mcse"]).all()
    assert interacted["coverage"].mean() >= 0.85
    # the additive option fails on the same studies: its worst bias is several MC SEs off
    assert (additive["bias"].abs() / additive["bias_mcse"]).max() > 4


def test_report_section_on_the_release_simulator(tmp_path):
    from steerstats.data import load_study
    from steerstats.report import ReportContext
    from steerstats.report.section_decomposition import section

    out = section(load_study("synthetic", seed=1), ReportContext(seed=1, n_boot=20))
    assert [o.name for o in out] == ["steerability_predictors", "steerability_predictor_gains", "steerability_predictors",
                                     "decomposition", "decomposition", "decomposition_predictor", "decomposition_calibration"]
    predictors = out[0].frame.set_index("predictor")
    assert np.isfinite(predictors["r2"]).all() and (predictors["r2"] <= 1).all()
    gains = out[1].frame
    assert list(gains["block"]) == ["model", "prompt", "goal"]  # the nested chain, ridge head
    # the gains telescope: their sum is the full predictor's R^2 minus the training mean's
    full, mean = predictors.loc["model+prompt+goal", "r2"], predictors.loc["mean", "r2"]
    assert gains["r2_gain"].sum() == pytest.approx(full - mean, abs=1e-12)
    assert (gains["r2_gain_ci_low"] <= gains["r2_gain_ci_high"]).all()
    decomposition = out[3].frame
    assert (decomposition["reference"] == "dall-e-2").all() and len(decomposition) == 9


def test_validate_cli_writes_summary(tmp_path):
    from steerstats.cli import main

    out = tmp_path / "val"
    argv = ["decompose", "--validate", "--n-sims", "2", "--n-boot", "3", "--jobs", "1", "--quiet", "--out", str(out)]
    assert main(argv) == 0
    assert assert_run_layout(out, "decompose --validate")["truth"]
    summary = pd.read_csv(out / "tables" / "decomposition_validation.csv")
    assert set(summary["term"]) == {"observed_diff", "steering_term", "producible_term", "mean_error_diff"}
    assert set(summary["scenario"]) == {"additive", "nonadditive"} and set(summary["estimator"]) == {"interacted", "additive"}
    assert (summary["n_sims"] == 2).all() and summary["coverage"].between(0, 1).all()
    assert {"bias_mcse", "bias_over_sd", "coverage_mcse"} <= set(summary.columns)
    draws = pd.read_csv(out / "tables" / "decomposition_validation_draws.csv")
    assert len(draws) == 2 * len(summary)
    assert main([*argv[:3], "1", *argv[4:]]) == 2  # fewer than 2 simulations
    # --estimator picks the one estimator to check; --splits reaches the influence interval
    one = tmp_path / "one"
    assert main([*argv[:-1], str(one), "--estimator", "interacted", "--splits", "2", "--scenarios", "nonadditive"]) == 0
    summary = pd.read_csv(one / "tables" / "decomposition_validation.csv")
    assert set(summary["estimator"]) == {"interacted"} and set(summary["scenario"]) == {"nonadditive"}
    assert summary["interval"].str.startswith("cluster-robust influence function, 2 cross-fitting splits").all()
    # --components reaches the estimator and the table's note
    spiked = tmp_path / "spiked"
    assert main([*argv[:-1], str(spiked), "--estimator", "interacted", "--splits", "2", "--scenarios",
                 "nonadditive_spiked", "--components", "6"]) == 0
    assert "reduced to their 6 leading principal components" in (spiked / "tables" / "decomposition_validation.md").read_text()
    assert json.loads((spiked / "manifest.json").read_text())["config"]["components"] == 6
    assert main([*argv[:-1], str(tmp_path / "bad"), "--estimator", "interacted", "--scenarios", "nonadditive",
                 "--components", "7"]) == 2


def test_cli_recovers_a_nonadditive_truth_that_the_additive_option_misses(tmp_path, capsys):
    """Model-specific slopes, a non-linear goal effect, shifted goal distributions (one study;
    the population claims are the R = 200 study of ``decompose --validate``): the default
    estimator's intervals hold every true term, the additive option's miss several."""
    from steerstats.cli import main

    result = {}
    for estimator in ("interacted", "additive"):
        out = tmp_path / estimator
        argv = ["decompose", "--dataset", "synthetic-nonadditive", "--seed", "1", "--n-boot", "30", "--jobs", "1",
                "--estimator", estimator, "--quiet", "--out", str(out)]
        assert main(argv) == 0, capsys.readouterr().err
        table = pd.read_csv(out / "tables" / "decomposition.csv")
        terms = ("steering_term", "producible_term")
        err = np.concatenate([(table[t] - table[f"truth_{t}"]).to_numpy() for t in terms])
        inside = np.concatenate([((table[f"{t}_ci_low"] <= table[f"truth_{t}"]) & (table[f"truth_{t}"] <= table[f"{t}_ci_high"])).to_numpy()
                                 for t in terms])
        result[estimator] = (np.abs(err).mean(), inside.mean())
        fit = pd.read_csv(out / "tables" / "decomposition_predictor.csv")
        assert {"r2_within", "mse", "mean_error"} <= set(fit.columns) and fit["r2_within"].iloc[-1] > 0
    assert result["interacted"][0] < 0.03 and result["interacted"][1] >= 5 / 6
    assert result["additive"][1] < result["interacted"][1]


def test_debiased_terms_add_up_and_reduce_to_ipw_without_a_predictor(study):
    from steerstats.decompose.terms import debiased_terms

    data = _data(study)
    rng = np.random.default_rng(3)
    mu = rng.random((len(data.y), len(data.models)))
    w = np.zeros_like(mu)
    ref = data.codes == data.reference
    w[ref] = rng.exponential(1.0, (ref.sum(), len(data.models)))
    t = debiased_terms(data.y, data.codes, mu, data.reference, w)
    np.testing.assert_allclose(t[1] + t[2], t[0], atol=1e-12)
    np.testing.assert_allclose(t[3], 0.0, atol=1e-12)
    # mu = 0: the counterfactual mean is the weighted (IPW) mean of the reference rows
    t0 = debiased_terms(data.y, data.codes, np.zeros_like(mu), data.reference, w)
    k = 1 if data.reference != 1 else 2
    ipw = (w[ref, k] * data.y[ref]).sum() / ref.sum()
    assert t0[2, k] == pytest.approx(ipw - data.y[ref].mean())


def test_density_ratios_recover_the_density_ratio_of_shifted_goals():
    from steerstats.data.simulate.decomposition import difficulty_direction
    from steerstats.decompose.density_ratio import fit_density_ratios

    params = DecompositionSimParams(users_per_model=150, goal_shift=(0.0, 0.8, -0.5, 0.3))
    s = simulate_decomposition_study(params, seed=5)
    data = _data(s)
    w = fit_density_ratios(data).weights
    x = s.truth.goal_embeddings.set_index("goal_image").loc[s.steering["goal_image"]].to_numpy()
    d = x @ difficulty_direction(params.n_features)
    ref = data.codes == data.reference
    for k, shift in enumerate(params.goal_shift):
        if k == data.reference:
            continue
        # log N(shift v, I) / N(0, I) = shift * d - shift^2 / 2: the log weights' slope on d is the shift
        slope = np.polyfit(d[ref], np.log(w[ref, k]), 1)[0]
        assert slope == pytest.approx(shift, abs=0.25)
        assert np.mean(w[ref, k]) == pytest.approx(1.0)


def test_influence_is_the_derivative_of_the_debiased_terms_in_each_row_weight(study):
    from steerstats.decompose.density_ratio import fit_density_ratios
    from steerstats.decompose.terms import debiased_influence, debiased_terms

    data = _data(study)
    mu, _ = crossfit_mu(data)
    riesz = fit_density_ratios(data).weights
    influence = debiased_influence(data.y, data.codes, mu, data.reference, riesz)
    h = 1e-6
    rows = np.random.default_rng(0).choice(len(data.y), 12, replace=False)
    for i in rows:
        up, down = np.ones(len(data.y)), np.ones(len(data.y))
        up[i] += h
        down[i] -= h
        derivative = (debiased_terms(data.y, data.codes, mu, data.reference, riesz, up)
                      - debiased_terms(data.y, data.codes, mu, data.reference, riesz, down)) / (2 * h)
        np.testing.assert_allclose(influence[i, :3], derivative[:3], atol=1e-7)
    np.testing.assert_allclose(influence[:, 1] + influence[:, 2], influence[:, 0], atol=1e-14)


def test_influence_with_the_ratio_term_is_the_derivative_through_the_refitted_ratios():
    """The density ratios refitted at each perturbed row weight (mu fixed): the full influence
    (fixed-nuisance part + density_ratio_influence) is that derivative, the fixed part alone is not."""
    from steerstats.data.simulate.decomposition import nonadditive_params
    from steerstats.decompose.density_ratio import density_ratio_influence, fit_density_ratios
    from steerstats.decompose.terms import debiased_influence, debiased_terms

    study = simulate_decomposition_study(nonadditive_params(), seed=[0, 3])
    data = _data(study)
    mu, _ = crossfit_mu(data)
    ratios = fit_density_ratios(data)
    fixed = debiased_influence(data.y, data.codes, mu, data.reference, ratios.weights)
    full = debiased_influence(data.y, data.codes, mu, data.reference, ratios.weights,
                              density_ratio_influence(data, mu, ratios))
    np.testing.assert_allclose(full[:, 1] + full[:, 2], full[:, 0], atol=1e-14)
    others = [m for m in range(len(data.models)) if m != data.reference]
    h = 1e-4
    gaps = []
    for i in np.random.default_rng(0).choice(len(data.y), 6, replace=False):
        terms = []
        for step in (h, -h):
            omega = np.ones(len(data.y))
            omega[i] += step
            terms.append(debiased_terms(data.y, data.codes, mu, data.reference,
                                        fit_density_ratios(data, omega).weights, omega))
        derivative = ((terms[0] - terms[1]) / (2 * h))[:3][:, others]
        scale = np.abs(derivative).max()
        np.testing.assert_allclose(full[i, :3][:, others], derivative, atol=1e-4 * scale)
        gaps.append(np.abs(fixed[i, :3][:, others] - derivative).max() / scale)
    assert max(gaps) > 0.1  # the ratio's estimation moves the terms: the fixed-nuisance influence misses it


def test_cluster_variance_of_the_observed_difference_matches_statsmodels(study):
    """Nested clusters (users within models): the CR1 variance of a difference of two model means
    is the sum of each model's intercept-only cluster-robust variance (statsmodels, CR1)."""
    import statsmodels.api as sm

    from steerstats.decompose.density_ratio import fit_density_ratios
    from steerstats.decompose.influence import cluster_variance
    from steerstats.decompose.terms import debiased_influence

    data = _data(study)
    mu, _ = crossfit_mu(data)
    var, df = cluster_variance(debiased_influence(data.y, data.codes, mu, data.reference, fit_density_ratios(data).weights), data)

    def sm_var(rows):
        fit = sm.OLS(data.y[rows], np.ones((rows.sum(), 1))).fit(cov_type="cluster", cov_kwds={"groups": data.cluster[rows]})
        return float(fit.cov_params()[0, 0])

    ref = data.codes == data.reference
    for k in range(len(data.models)):
        if k == data.reference:
            continue
        assert var[0, k] == pytest.approx(sm_var(data.codes == k) + sm_var(ref), rel=1e-10)
        assert 9 <= df[0, k] <= 18  # Satterthwaite: between one model's G - 1 and the sum of both
    assert np.all(var[:, data.reference] == 0)


def test_influence_interval_is_the_cr1_variance_of_the_split_averaged_influence(study):
    """The estimate averages the S splits' terms; its variance is the CR1 variance of the averaged
    row influence (not the average of the splits' variances, which keeps the split noise that
    averaging removed)."""
    from steerstats.decompose import influence_terms
    from steerstats.decompose.influence import cluster_variance, split_terms

    data = _data(study)
    seed, n_splits = 4, 2
    (theta0, psi0), (theta1, psi1) = split_terms(data, 0, seed), split_terms(data, 1, seed)
    expected, df = cluster_variance((psi0 + psi1) / 2, data)
    got = influence_terms(data, n_splits=n_splits, seed=seed)
    np.testing.assert_allclose(got.estimate, (theta0 + theta1) / 2, rtol=1e-12)
    np.testing.assert_allclose(got.se**2, expected, rtol=1e-10, atol=1e-15)
    np.testing.assert_allclose(got.df, df, rtol=1e-10)
    assert not np.array_equal(psi0, psi1)  # split 1 draws other folds
    # a split's influence includes the estimation of the density ratios (split 0: the data's own folds)
    from steerstats.decompose.density_ratio import density_ratio_influence, fit_density_ratios
    from steerstats.decompose.estimate import crossfit_mu
    from steerstats.decompose.terms import debiased_influence

    mu, _ = crossfit_mu(data)
    ratios = fit_density_ratios(data)
    np.testing.assert_allclose(psi0, debiased_influence(data.y, data.codes, mu, data.reference, ratios.weights,
                                                        density_ratio_influence(data, mu, ratios)), rtol=1e-12)
    mean_of_variances = (cluster_variance(psi0, data)[0] + cluster_variance(psi1, data)[0]) / 2
    others = [m for m in range(len(data.models)) if m != data.reference]
    # Jensen: averaging removes the split noise of the steering and producible terms (the observed difference has none)
    assert (expected[1:3][:, others] < mean_of_variances[1:3][:, others]).all()


def test_influence_interval_is_deterministic_and_refuses_the_additive_estimator(study):
    from scipy.stats import t as t_dist

    from steerstats.decompose import influence_terms, terms_interval
    from steerstats.errors import ConfigError

    data = _data(study)
    a = influence_terms(data, n_splits=3, seed=2)
    b = terms_interval(data, seed=2, n_splits=3)  # the interacted estimator's default interval
    assert np.array_equal(a.estimate, b.estimate) and np.array_equal(a.se, b.se)
    assert a.draws.shape == (3, 4, len(data.models)) and "influence" in a.method
    np.testing.assert_allclose(a.estimate, a.draws.mean(axis=0))
    k = 1 if data.reference != 1 else 2
    half = t_dist.ppf(0.975, a.df[1, k]) * a.se[1, k]
    assert a.ci_high[1, k] - a.estimate[1, k] == pytest.approx(half)
    others = [m for m in range(len(data.models)) if m != data.reference]
    assert (a.se[:3][:, others] > 0).all() and (a.se[:, data.reference] == 0).all()
    with pytest.raises(ConfigError, match="interacted"):
        influence_terms(_data(study, estimator="additive"))
    assert "bootstrap" in terms_interval(_data(study, estimator="additive"), n_boot=3, n_jobs=1, progress=False).method
    with pytest.raises(ConfigError, match="n_boot"):
        bootstrap_terms(data, n_boot=1)
