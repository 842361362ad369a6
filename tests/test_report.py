"""``steerstats report`` end to end: released data, synthetic truth, bad input, the registry."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats import metrics as M
from steerstats.cli import main
from steerstats.data import load_study
from steerstats.report import SECTIONS, ReportContext, Section, Table, build_report, to_latex

REQUIRED = {
    "similarity_by_model": ["model", "n", "dreamsim_mean", "dreamsim_se", "clip_mean", "clip_se", "dreamsim_se_cluster"],
    "similarity_by_attempt": ["model", "attempt", "n", "dreamsim_mean", "dreamsim_se", "dreamsim_se_cluster"],
    "satisfaction_by_model": [
        "model", "n", "rating_mean", "rating_se", "first_attempt_mean", "last_attempt_mean", "rating_max_mean",
        "share_unsatisfied", "share_very_unsatisfied", "share_very_satisfied", "rating_se_cluster",
    ],
    "judgement_rates": [
        "model", "improvement_rate", "improvement_rate_se", "pom1", "pom1_se", "pom5", "pom5_se",
        "improvement_rate_se_cluster", "pom1_se_cluster", "pom5_se_cluster",
    ],
    "blind_steering": ["k", "n_goals", "human_improvement", "llm_improvement", "ratio", "ratio_se"],
    "seed_constraint": ["condition", "n", "dreamsim_mean", "dreamsim_se", "dreamsim_se_cluster"],
    "seed_choice": ["attempt", "chosen_mean", "chosen_se", "not_chosen_mean", "not_chosen_se", "chosen_se_cluster"],
    "llm_steerability": [
        "model", "n", "rating_mean", "rating_se", "very_satisfied", "very_satisfied_se", "improvement_rate",
        "improvement_se", "rating_se_cluster", "improvement_se_cluster",
    ],
    "rating_distribution": ["subset", "model", "n", "share_1", "share_2", "share_3", "share_4"],
    "model_rankings": ["metric", "model", "mean", "mean_se", "rank", "rank_ci_low", "rank_ci_high", "cluster"],
    "interrater_agreement": ["judgement", "n_items", "kappa", "kappa_ci_low", "kappa_ci_high", "cluster"],
    "image_steering_traces": [
        "condition", "round", "n_tasks", "mixture_scale_mean", "mixture_scale_min", "mixture_scale_max",
        "share_kept_current",
    ],
}
LAST_ROW = {
    "similarity_by_model": ("model", "Average"),
    "satisfaction_by_model": ("model", "Overall"),
    "judgement_rates": ("model", "Overall"),
    "llm_steerability": ("model", "Overall"),
    "seed_choice": ("attempt", "Average"),
}
N_BOOT = 200


@pytest.fixture(scope="module")
def real_report(tmp_path_factory, vafa2025_dir):
    out = tmp_path_factory.mktemp("real") / "report"
    code = main(["report", "--dataset", "vafa2025", "--data-dir", str(vafa2025_dir), "--out", str(out),
                 "--n-boot", str(N_BOOT), "--seed", "1", "--quiet"])
    assert code == 0
    return out


@pytest.fixture(scope="module")
def real_study(vafa2025_dir):
    return load_study("vafa2025", vafa2025_dir)


def read(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / "tables" / f"{name}.csv", keep_default_na=False, na_values=[""])


def test_every_table_written_with_required_columns(real_report):
    for name, cols in REQUIRED.items():
        for ext in ("csv", "md", "tex"):
            assert (real_report / "tables" / f"{name}.{ext}").is_file(), (name, ext)
        frame = read(real_report, name)
        assert set(cols) <= set(frame.columns), (name, set(cols) - set(frame.columns))
        if name in LAST_ROW:
            column, label = LAST_ROW[name]
            assert str(frame[column].iloc[-1]) == label
    tex = (real_report / "tables" / "similarity_by_model.tex").read_text()
    assert r"\toprule" in tex and r"\bottomrule" in tex and "0.652 (0.003) [" in tex
    for fig in ("similarity_by_attempt", "similarity_by_model", "blind_steering_ratio", "ratings_by_model",
                "judgement_rates_by_model", "model_rankings", "seed_frontier"):
        for ext in ("png", "pdf"):
            assert (real_report / "figures" / f"{fig}.{ext}").stat().st_size > 1000


def test_report_md_and_manifest(real_report, vafa2025_dir):
    text = (real_report / "report.md").read_text()
    for name in REQUIRED:
        assert f"tables/{name}.md" in text
    assert "figures/similarity_by_model.png" in text
    assert "flux-dev has the highest mean DreamSim" in text  # interpretation computed from the numbers
    manifest = assert_run_layout(real_report, "report")
    assert manifest["seeds"]["seed"] == 1 and manifest["config"]["n_boot"] == N_BOOT
    assert manifest["packages"]["numpy"] == np.__version__
    inputs = {f["path"]: f["sha256"] for f in manifest["inputs"]}
    sums = dict(line.split()[::-1] for line in (vafa2025_dir / "SHA256SUMS").read_text().splitlines() if line.strip())
    steering = "image_generation/steering.csv"
    assert inputs[steering] == sums.get(steering, sums.get(f"./{steering}"))
    assert any("steering_2_seeds.csv" in w for w in manifest["warnings"])
    assert set(manifest["seconds"]) >= {"similarity", "judgements", "total"}


def test_numbers_equal_the_metric_functions(real_report, real_study):
    s = real_study.steering
    sim = read(real_report, "similarity_by_model")
    np.testing.assert_allclose(sim["dreamsim_mean"], M.similarity_by_model(s))
    np.testing.assert_allclose(sim["clip_mean"], M.similarity_by_model(s, column="clip_similarity"))
    # the paper's pooled mean DreamSim and its row SEM (release summary_metrics.csv, "Overall")
    assert sim["dreamsim_mean"].iloc[-1] == pytest.approx(0.6522720654088238, abs=1e-12)
    assert sim["dreamsim_se"].iloc[-1] == pytest.approx(0.0028972004395885044, rel=1e-9)
    # clustering: the goal-cluster bootstrap SE is larger than the row SEM for the pooled mean
    assert sim["dreamsim_se_cluster"].iloc[-1] > 1.5 * sim["dreamsim_se"].iloc[-1]

    sat = read(real_report, "satisfaction_by_model")
    out = M.satisfaction_by_model(real_study.sat_ratings).reshape(len(M.RATING_STATS), -1)
    for name, values in zip(M.RATING_STATS, out, strict=True):
        np.testing.assert_allclose(sat[name], values)
    np.testing.assert_allclose(sat["rating_max_mean"], M.rating_max_by_model(real_study.sat_ratings))

    rates = read(real_report, "judgement_rates")
    np.testing.assert_allclose(rates["improvement_rate"], M.majority_rate_exact(real_study.improvement))
    np.testing.assert_allclose(rates["pom1"], M.majority_rate_exact(real_study.pom1, column="ref_chosen"))
    # the release printed one unseeded draw (Overall 0.621 / 0.539 / 0.611 with SEMs 0.0134 / 0.0209 /
    # 0.0182); the exact expectation lies within a few of those SEMs and uses the same vote counts
    overall = rates.iloc[-1]
    for col, paper, sem in (("improvement_rate", 0.6208, 0.0134), ("pom1", 0.5386, 0.0209), ("pom5", 0.6112, 0.0182)):
        assert abs(overall[col] - paper) < 2 * sem
        assert overall[f"{col}_se"] == pytest.approx(sem, abs=5e-4)

    blind = read(real_report, "blind_steering")
    assert blind["k"].tolist() == [4, 7, 10, 20] and (blind["n_goals"] == 100).all()
    assert (blind["n_user_score_matches"] == 100).all()  # every blind goal joins its steering sequence
    goals = M.blind_steering_goals(s, real_study.blind_steering[20])
    np.testing.assert_allclose(blind["ratio"].iloc[-1], M.blind_steering_ratio(goals)[2])
    assert blind["ratio"].is_monotonic_increasing  # more rewrites, a better best rewrite

    seeds = read(real_report, "seed_constraint")
    assert seeds["condition"].astype(str).tolist() == ["1", "2", "3", "default"]
    assert seeds["dreamsim_mean"].iloc[-1] == pytest.approx(
        s.loc[s["model"] == "sd3.5-large-turbo", "dreamsim"].mean()
    )

    llm = read(real_report, "llm_steerability")
    assert llm["n"].iloc[-1] == len(real_study.llm_sat_ratings)
    assert llm["rating_mean"].iloc[-1] == pytest.approx(real_study.llm_sat_ratings["rating"].mean())
    # release LLMs/data/summary_metrics.csv: claude rating 2.5442 (SEM 0.0624), very satisfied 0.1535
    # (binomial SEM 0.0246); Overall improvement 0.4723 (one unseeded draw, SEM 0.0257)
    claude = llm[llm["model"] == "claude-3-5-sonnet-20241022"].iloc[0]
    assert claude["rating_mean"] == pytest.approx(2.5441860465116277)
    assert claude["rating_se"] == pytest.approx(0.062431050001633355)
    assert claude["very_satisfied"] == pytest.approx(0.15348837209302327)
    assert claude["very_satisfied_se"] == pytest.approx(0.024583005258904663)
    assert abs(llm["improvement_rate"].iloc[-1] - 0.47229551451187335) < 2 * 0.0257


def test_same_seed_same_tables(tmp_path):
    study = load_study("synthetic", seed=0)
    sections = [s for s in SECTIONS if s.name in ("judgements", "seeds")]
    for name in ("a", "b"):
        build_report(study, tmp_path / name, context=ReportContext(seed=5, n_boot=30), sections=sections,
                     progress=False)
    for table in ("judgement_rates", "seed_constraint", "seed_choice"):
        a = (tmp_path / "a" / "tables" / f"{table}.csv").read_bytes()
        assert a == (tmp_path / "b" / "tables" / f"{table}.csv").read_bytes()


STEERABILITY = [s for s in SECTIONS if s.target.startswith("steerstats.report.steerability:")]


def test_synthetic_report_shows_truth(tmp_path):
    out = tmp_path / "syn"
    build_report(load_study("synthetic", seed=0), out, context=ReportContext(n_boot=50), sections=STEERABILITY,
                 progress=False)
    sim = read(out, "similarity_by_model")
    assert "dreamsim_mean_true" in sim.columns and sim["dreamsim_mean_true"].notna().all()
    # the estimates are near the truth (a few cluster SEs)
    z = (sim["dreamsim_mean"] - sim["dreamsim_mean_true"]).abs() / sim["dreamsim_se_cluster"]
    assert (z < 4).all()
    for name, col in (("blind_steering", "ratio_true"), ("seed_constraint", "dreamsim_mean_true"),
                      ("judgement_rates", "improvement_rate_share_true"), ("llm_steerability", "rating_mean_true")):
        assert col in read(out, name).columns, (name, col)
    assert "Simulation truth" in (out / "report.md").read_text()


def test_bad_input_exits_2_and_leaves_no_output(tmp_path, vafa2025_dir, capsys):
    data = tmp_path / "data"
    shutil.copytree(vafa2025_dir, data)
    steering = data / "image_generation" / "steering.csv"
    frame = pd.read_csv(steering)
    frame.drop(columns=["dreamsim"]).to_csv(steering, index=False)
    out = tmp_path / "out"
    code = main(["report", "--dataset", "vafa2025", "--data-dir", str(data), "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "steering.csv" in err[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_failing_section_leaves_no_output(tmp_path):
    study = load_study("synthetic", seed=0)

    def boom(study, context):
        raise RuntimeError("section failed")

    import sys
    import types

    module = types.ModuleType("steerstats_test_boom")
    module.section = boom
    sys.modules["steerstats_test_boom"] = module
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        build_report(study, out, sections=[SECTIONS[-1], Section("boom", "steerstats_test_boom:section", "x")],
                     progress=False)
    assert not out.exists()


def test_registry_extension_and_skipped_section(tmp_path):
    import sys
    import types

    def extra(study, context):
        frame = pd.DataFrame({"model": ["a"], "x_mean": [1.0], "x_se": [0.1], "x_se_cluster": [0.2]})
        return [Table("extra", frame, "Extra", f"bayes={context.bayes}", "x")]

    def needs_llm(study, context):
        study.require("llm_sat_ratings")
        return []

    module = types.ModuleType("steerstats_test_extra")
    module.extra, module.needs_llm = extra, needs_llm
    sys.modules["steerstats_test_extra"] = module
    study = load_study("synthetic", seed=0)
    study = type(study)(name="partial", steering=study.steering)
    result = build_report(
        study, tmp_path / "r",
        context=ReportContext(bayes=True, n_boot=20),
        sections=[Section("extra", "steerstats_test_extra:extra", "Extra"),
                  Section("llm", "steerstats_test_extra:needs_llm", "LLM")],
        progress=False,
    )
    assert "bayes=True" in (tmp_path / "r" / "tables" / "extra.md").read_text()
    assert "llm" in result.skipped
    tex = to_latex(result.tables["extra"])
    assert "x mean" in tex and "1.000 (0.100) [0.200]" in tex  # a readable header, estimate (se) [cluster se]
    assert tex.startswith(r"\begin{table}") and r"\label{tab:extra}" in tex and r"\caption{" in tex
    assert tex.rstrip().endswith(r"\end{table}") and r"\resizebox" not in tex  # narrow: not scaled
    assert json.loads((tmp_path / "r" / "manifest.json").read_text())["skipped"]["llm"]


def test_seed_producibility_file_sets_the_frontier_axis(tmp_path, capsys):
    good = tmp_path / "p.csv"
    good.write_text("condition,producibility\n1,0.2\n2,0.4\n3,0.6\ndefault,1\n")
    from steerstats.cli.report import read_producibility

    assert read_producibility(str(good)) == {"1": 0.2, "2": 0.4, "3": 0.6, "default": 1.0}
    bad = tmp_path / "b.csv"
    bad.write_text("condition,producibility\n1,0.2\n1,0.3\n")
    assert main(["report", "--out", str(tmp_path / "o"), "--quiet", "--seed-producibility", str(bad)]) == 2
    assert "row 2, column 'condition'" in capsys.readouterr().err and not (tmp_path / "o").exists()


def test_sections_in_worker_processes_give_the_serial_report():
    """--jobs 2: the same tables (to float rounding: one BLAS thread per process), figures, caps
    and skipped sections as one process, in registry order; no worker left behind."""
    import multiprocessing

    from steerstats.report import run_sections
    from steerstats.report.artifacts import render_figure

    study = load_study("synthetic", seed=0)
    sections = [*STEERABILITY, Section("llm_goalspace", "steerstats.report.section_goalspace:section", "x", cost=9.0)]
    serial_context, parallel_context = ReportContext(seed=3, n_boot=40), ReportContext(seed=3, n_boot=40)
    serial = run_sections(study, serial_context, sections, progress=False)
    parallel = run_sections(study, parallel_context, sections, progress=False, jobs=2)
    assert not multiprocessing.active_children()
    assert list(parallel.tables) == list(serial.tables) and len(serial.tables) > 5
    for name, table in serial.tables.items():
        pd.testing.assert_frame_equal(parallel.tables[name].frame, table.frame, check_exact=False, rtol=1e-10, atol=1e-12)
        assert parallel.tables[name].se_note == table.se_note
    assert list(parallel.figures) == list(serial.figures)
    for name, figure in serial.figures.items():
        assert parallel.figures[name].figure is None and parallel.figures[name].title == figure.title
        ours, theirs = parallel.figures[name].rendered, render_figure(figure).rendered
        assert ours["png"].startswith(b"\x89PNG") and ours["pdf"].startswith(b"%PDF")
        assert abs(len(ours["png"]) - len(theirs["png"])) < 0.05 * len(theirs["png"])
    assert parallel.skipped == serial.skipped and "llm_goalspace" in parallel.skipped  # no text in the simulation
    assert parallel_context.caps == serial_context.caps


def test_a_worker_sections_error_reaches_the_caller_and_no_output_is_left(tmp_path):
    import multiprocessing

    from steerstats.errors import InputError

    failing = Section("fails", "report_sections_for_tests:fails_with_input_error", "x", cost=100.0)  # first: a worker's
    out = tmp_path / "out"
    with pytest.raises(InputError, match=r"x.csv, row 3, column 'c': bad cell"):
        build_report(load_study("synthetic", seed=0), out, context=ReportContext(n_boot=20),
                     sections=[failing, *STEERABILITY[:2]], progress=False, jobs=2)
    assert not out.exists() and not multiprocessing.active_children()


def test_report_cli_jobs(tmp_path, capsys):
    out = tmp_path / "r"
    args = ["report", "--dataset", "synthetic", "--n-boot", "30", "--out", str(out), "--quiet"]
    assert main([*args, "--jobs", "0"]) == 2
    assert "jobs must be at least 1" in capsys.readouterr().err and not out.exists()
    assert main([*args, "--jobs", "2"]) == 0
    assert_run_layout(out, "report")
