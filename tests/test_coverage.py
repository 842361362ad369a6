"""Coverage runner (resume, determinism, settings guard, summary) and the variance-component fit."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats.data.simulate import SimulationParams, simulate_steering
from steerstats.errors import ConfigError
from steerstats.uncertainty.calibrate import fit_variance_components
from steerstats.uncertainty.coverage import CoverageConfig, run_coverage, summarise

SMALL = dataclasses.replace(SimulationParams(), n_users=60)
CONFIG = CoverageConfig(reps=5, reps_bayes=0, n_boot=100, seed=3, scenarios=("nested",))


def test_resume_skips_finished_reps_and_matches_a_fresh_run(tmp_path, monkeypatch):
    import steerstats.uncertainty.coverage as cov

    first = run_coverage(tmp_path / "a", SMALL, dataclasses.replace(CONFIG, reps=3), progress=False)
    assert sorted(first["rep"].unique()) == [0, 1, 2]
    calls = []
    real = cov.fast_replication
    monkeypatch.setattr(cov, "fast_replication", lambda *a: calls.append(a[2]) or real(*a))
    resumed = run_coverage(tmp_path / "a", SMALL, CONFIG, progress=False)
    assert calls == [3, 4]  # only the missing replications ran
    monkeypatch.setattr(cov, "fast_replication", real)
    fresh = run_coverage(tmp_path / "b", SMALL, CONFIG, progress=False)
    key = ["scenario", "rep", "method", "model"]
    pd.testing.assert_frame_equal(
        resumed.sort_values(key).reset_index(drop=True), fresh.sort_values(key).reset_index(drop=True)
    )
    methods = {"sem", "bootstrap_goal", "bootstrap_user", "bootstrap_user_bca", "bootstrap_user_t", "cr1_user_t"}
    assert set(fresh["method"]) == methods
    assert len(fresh) == 5 * len(methods) * len(SMALL.models)


def test_other_settings_refuse_to_resume(tmp_path):
    run_coverage(tmp_path, SMALL, dataclasses.replace(CONFIG, reps=1), progress=False)
    with pytest.raises(ConfigError, match="other settings"):
        run_coverage(tmp_path, SMALL, dataclasses.replace(CONFIG, reps=1, n_boot=200), progress=False)


def test_summary_and_outputs(tmp_path):
    rows = pd.DataFrame(
        {"scenario": "nested", "rep": [0, 0, 1, 1, 0, 1], "method": ["sem"] * 4 + ["bayes"] * 2, "model": ["a", "b", "a", "b", "a", "a"],
         "estimate": 0.5, "low": 0.4, "high": 0.6, "truth": 0.5,
         "covered": [True, False, True, True, True, True], "width": [0.2, 0.2, 0.2, 0.2, 0.1, 0.3],
         "status": ["ok"] * 5 + ["failed: R-hat 1.05 > 1.01 (alpha[0])"]}
    )
    table = summarise(rows)
    assert (table["scenario"] == "nested").all()
    sem = table.set_index("method").loc["sem"]
    assert sem["coverage"] == 0.75 and sem["mc_se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4))
    bayes = table.set_index("method").loc["bayes"]
    assert bayes["failed_fits"] == 1 and bayes["intervals"] == 1 and bayes["mean_width"] == 0.1
    from steerstats.report.coverage import coverage_run
    from steerstats.report.run import write_run

    write_run(tmp_path / "out", coverage_run(rows, CONFIG, {"sigma_user": 0.4}))
    for name in ("tables/coverage.csv", "tables/coverage.md", "tables/coverage.long.csv", "figures/coverage.png",
                 "calibration.json", "report.md", "manifest.json"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert "| nested | sem | 2 | 0 | 4 | 0.750 |" in (tmp_path / "out" / "tables" / "coverage.md").read_text()
    tidy = pd.read_csv(tmp_path / "out" / "tables" / "coverage.long.csv")
    sem_row = tidy[(tidy["quantity"] == "coverage") & (tidy["method_key"] == "sem")].iloc[0]
    assert sem_row["se"] == pytest.approx(np.sqrt(0.75 * 0.25 / 4)) and sem_row["se_column"] == "mc_se"


def test_variance_components_recovered_on_a_large_simulated_study():
    p = dataclasses.replace(
        SimulationParams(), n_users=6000, sigma_user=0.5, sigma_goal=0.3, sigma_attempt=0.35, attempt_trend=0.07
    )
    vc = fit_variance_components(simulate_steering(p, 11))
    assert vc.sigma_user == pytest.approx(0.5, abs=0.03)
    assert vc.sigma_goal == pytest.approx(0.3, abs=0.03)
    assert vc.sigma_attempt == pytest.approx(0.35, abs=0.01)
    assert vc.attempt_trend == pytest.approx(0.07, abs=0.005)
    truth = dict(zip(p.models, np.subtract(p.model_effect, p.goal_difficulty), strict=True))
    for m, v in vc.model_intercept.items():
        assert v == pytest.approx(truth[m], abs=0.06)
    back = vc.to_params()
    assert back.sigma_goal == vc.sigma_goal and back.models == tuple(sorted(p.models))


def test_variance_components_on_release(vafa2025_dir):
    frame = pd.read_csv(vafa2025_dir / "image_generation" / "steering.csv")
    vc = fit_variance_components(frame)
    assert (vc.n_rows, vc.n_users, vc.n_goals, vc.goals_per_user) == (2770, 277, 554, 2)
    assert 0 < vc.sigma_user < 1 and 0 < vc.sigma_goal < 1 and 0 < vc.sigma_attempt < 1


def test_validate_coverage_cli(vafa2025_dir, tmp_path, capsys):
    from steerstats.cli import main

    out = tmp_path / "cov"
    args = ["validate", "coverage", "--reps", "2", "--reps-bayes", "0", "--n-boot", "50",
            "--data-dir", str(vafa2025_dir), "--out", str(out), "--quiet"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| nested | sem | 2 |" in text and "| nested | bootstrap_user | 2 |" in text and "| crossed | cgm_twoway | 2 |" in text
    assert_run_layout(out, "validate coverage")
    calibration = (out / "calibration.json").read_text()
    assert "sigma_user" in calibration and "method of moments" in calibration
    assert main([*args[:3], "-1", *args[4:]]) == 2  # bad --reps: one-line error, exit 2


def test_every_replication_is_kept_and_a_torn_tail_is_recomputed(tmp_path, monkeypatch):
    import steerstats.uncertainty.coverage as cov
    from steerstats.errors import InputError

    config = dataclasses.replace(CONFIG, reps=3)
    run_coverage(tmp_path / "a", SMALL, config, progress=False)
    log = tmp_path / "a" / cov.LOGS["fast"]
    lines = log.read_bytes().splitlines(keepends=True)
    assert len(lines) == 3  # one flushed line per replication, written as it finished
    log.write_bytes(b"".join(lines[:2]) + lines[2][: len(lines[2]) // 2])  # killed mid-append
    calls = []
    real = cov.fast_replication
    monkeypatch.setattr(cov, "fast_replication", lambda *a: calls.append(a[2]) or real(*a))
    resumed = run_coverage(tmp_path / "a", SMALL, config, progress=False)
    assert calls == [2]  # only the torn replication ran again
    monkeypatch.setattr(cov, "fast_replication", real)
    fresh = run_coverage(tmp_path / "b", SMALL, config, progress=False)
    key = ["scenario", "rep", "method", "model"]
    pd.testing.assert_frame_equal(resumed.sort_values(key).reset_index(drop=True),
                                  fresh.sort_values(key).reset_index(drop=True))
    log.write_bytes(b"not json\n" + log.read_bytes())  # damage in the middle is not a torn tail
    with pytest.raises(InputError, match="row 1"):
        run_coverage(tmp_path / "a", SMALL, config, progress=False)


def test_coverage_out_in_a_foreign_directory_is_refused(tmp_path):
    from steerstats._io import OutputError

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match="did not write"):
        run_coverage(tmp_path, SMALL, CONFIG, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_crossed_and_heterogeneous_scenarios_have_their_methods_and_truth():
    import steerstats.uncertainty.coverage as cov

    rng = np.random.default_rng(0)
    frame, truth = cov.simulate_crossed_judgements(SMALL, rng)
    from steerstats.uncertainty.clusters import cluster_structure, headline_cluster

    head = headline_cluster(cluster_structure(frame, ["goal_image", "steering_user_id", "user_id"]))
    assert head.method == "CGM two-way" and set(head.factors) == {"steering_user_id", "user_id"}
    # the truth is the per-judgement rate: a large sample's share is close to it
    big, big_truth = cov.simulate_crossed_judgements(dataclasses.replace(SMALL, n_users=4000), np.random.default_rng(1))
    share = big.groupby("model")["y"].mean()
    np.testing.assert_allclose(share.reindex(big_truth.index), big_truth, atol=0.08)  # ~3.5 SE of 110 shared raters
    rows = cov.fast_replication(frame, truth, 0, CONFIG, "crossed")
    assert {r["method"] for r in rows} == {"sem", "bootstrap_user", "bootstrap_rater", "bootstrap_twoway",
                                            "cgm_twoway", "cgm_twoway_t"}
    het, het_truth = cov.simulate_scenario("heterogeneous", SMALL, np.random.default_rng(2))
    assert set(het["model"]) == set(SMALL.models) and het_truth.index.tolist() == list(SMALL.models)
    sd = het.groupby(["model", "steering_user_id"])["dreamsim"].mean().groupby("model").std()
    assert sd.max() > 2 * sd.min()  # user SDs differ by model


def test_validate_coverage_cli_scenarios(tmp_path, capsys, vafa2025_dir):
    from steerstats.cli import main

    out = tmp_path / "cov"
    assert main(["validate", "coverage", "--reps", "2", "--reps-bayes", "0", "--n-boot", "30", "--scenarios",
                 "crossed", "--data-dir", str(vafa2025_dir), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "| crossed | cgm_twoway |" in text and "| crossed | bootstrap_twoway |" in text
    assert main(["validate", "coverage", "--scenarios", "bogus", "--out", str(tmp_path / "x"), "--quiet"]) == 2


def test_majority_truth_equals_the_binomial_mixture_by_quadrature():
    """Given the user effect b, fresh raters' judgements are iid Bernoulli(Phi((theta + b) /
    sqrt(1 + sd_r^2))): the population majority rate is a 1-d integral over b, independent of the
    Monte Carlo of ``majority_truth``."""
    from scipy import integrate
    from scipy.stats import binom, norm

    import steerstats.uncertainty.coverage as cov
    from steerstats.metrics import chunk_sizes, expected_votes

    c, (lo, hi) = cov.CROSSED, cov.MAJORITY_PER_GOAL
    for theta in (0.1, 0.5):
        yes = 0.0
        for n in range(lo, hi + 1):
            e = np.array([expected_votes(k, n)[0] for k in range(n + 1)])

            def integrand(b, n=n, e=e, theta=theta):
                p = norm.cdf((theta + b) / np.sqrt(1 + c["sd_rater"] ** 2))
                return binom.pmf(np.arange(n + 1), n, p) @ e * norm.pdf(b, scale=c["sd_user"])

            yes += integrate.quad(integrand, -8 * c["sd_user"], 8 * c["sd_user"])[0]
        chunks = sum(len(chunk_sizes(n)) for n in range(lo, hi + 1))
        assert cov.majority_truth(theta) == pytest.approx(yes / chunks, abs=1.5e-3)


def test_crossed_majority_scenario_scores_the_majority_rate_with_the_jackknife():
    import steerstats.uncertainty.coverage as cov

    frame, truth = cov.simulate_scenario("crossed_majority", SMALL, np.random.default_rng(4))
    sizes = frame.groupby("goal_image").size()
    assert sizes.min() >= cov.MAJORITY_PER_GOAL[0] and sizes.max() <= cov.MAJORITY_PER_GOAL[1]
    assert not frame.duplicated(["goal_image", "user_id"]).any()  # distinct raters per goal
    rows = cov.fast_replication(frame, truth, 0, CONFIG, "crossed_majority")
    assert {r["method"] for r in rows} == {"sem", "bootstrap_user", "bootstrap_user_t", "cgm_jackknife",
                                            "cgm_jackknife_t"}
    jack = {r["model"]: r for r in rows if r["method"] == "cgm_jackknife"}
    sem = {r["model"]: r for r in rows if r["method"] == "sem"}
    # user and rater effects widen the intervals beyond the SEM of independent votes (on average over models)
    assert np.mean([jack[m]["width"] for m in jack]) > 1.1 * np.mean([sem[m]["width"] for m in sem])
    assert all(jack[m]["estimate"] == sem[m]["estimate"] for m in jack)
    assert all(jack[m]["truth"] == truth[m] for m in jack)
