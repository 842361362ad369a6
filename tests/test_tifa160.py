"""TIFA-160: the loader on the real files, the DSG rule and aggregates on hand-computable frames,
the agreement and reliability statistics against independent implementations, the report."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading

import krippendorff
import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout
from scipy.stats import kendalltau, spearmanr

from steerstats.cli import main
from steerstats.data import load_study
from steerstats.data.tifa160 import is_yes, parse_parents
from steerstats.feedback import (
    icc2,
    run_agreement,
    run_feedback_meta,
    run_reliability,
    scorer_frame,
)
from steerstats.metrics.dsg import (
    dependency_scores,
    human_aggregates,
    image_scores,
    threshold_table,
)
from steerstats.metrics.weighted import (
    kendall_cluster_sums,
    kendall_from_cluster_sums,
    weighted_kendall,
)


@pytest.fixture(scope="module")
def study(tifa160_dir):
    return load_study("tifa160", tifa160_dir)


# ------------------------------------------------------------------------------------ loader


def test_loader_on_the_real_files(study):
    assert len(study.scores) == 800 and study.scores["image_id"].is_unique
    by_panel = study.ratings.groupby("panel").size()
    assert by_panel["dsg"] == 3995 and by_panel["tifa"] == 1600  # 5 of the 4000 likert ratings are missing
    assert study.ratings.groupby("panel")["rater"].nunique().to_dict() == {"dsg": 5, "tifa": 2}
    assert set(study.answers["vqa"]) == {"pali17b", "mplug", "instructblip"}
    assert len(study.answers) == 3 * 4605 and study.answers["image_id"].nunique() == 795
    assert set(study.scores["t2i_model"]) == {"mini-dalle", "vq-diffusion", "sd1dot1", "sd1dot5", "sd2dot1"}
    text = "\n".join(map(str, study.warnings))
    for quirk in ("not a plain yes/no", "'unsuitable' x3", "no pali17b answers at all: tifa160_134 (partiprompt_86)",
                  "fewer than 5 ratings", "carry two categories", "mini_dalle = mini-dalle", "non-numeric parents (outside)",
                  "275 have no proposition of that id"):
        assert quirk in text, quirk


def test_answers_and_parents_quirks():
    assert [is_yes(a) for a in ("yes", " Yes ", "yes 1000", "no bananas", "", "unsuitable", "10000", None)] == [
        True, True, True, False, False, False, False, False]
    assert parse_parents("0") == ((), [])
    assert parse_parents("1, 3") == ((1, 3), [])
    assert parse_parents("1, outside") == ((1,), ["outside"])


def _served(root):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def test_fetch_and_validate_from_a_mirror(tifa160_dir, tmp_path, capsys):
    server, thread = _served(tifa160_dir)
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/"
        assert main(["data", "fetch", "tifa160", "--out", str(tmp_path / "d"), "--base-url", base, "--quiet"]) == 0
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert main(["data", "validate", "--dataset", "tifa160", "--data-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "tifa160: valid" in out and "ratings" in out and "not a plain yes/no" in out


@pytest.mark.parametrize(("path", "edit", "needle"), [
    ("dsg/tifa160-likert-anns.csv", lambda t: t.replace(",3\n", ",7\n", 1), "column 'answer'"),
    ("dsg/tifa160-likert-anns.csv", lambda t: t.replace("mini-dalle", "dalle-mini", 1), "column 't2i_model'"),
    ("tifa/human_annotations_with_scores.json", lambda t: t.replace('"clipscore_vitb32"', '"clipscore"', 1),
     "has no field 'clipscore_vitb32'"),
    ("tifa/human_annotations_with_scores.json", lambda t: t[: len(t) // 2], "not valid JSON"),
])
def test_bad_files_are_one_line_errors(tifa160_dir, tmp_path, capsys, path, edit, needle):
    data = tmp_path / "d"
    shutil.copytree(tifa160_dir, data)
    target = data / path
    target.chmod(0o644)
    target.write_text(edit(target.read_text()))
    assert main(["report", "--dataset", "tifa160", "--data-dir", str(data), "--out", str(tmp_path / "o"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and path in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------ DSG rule and aggregates


def test_dependency_rule_is_transitive_and_ignores_absent_parents():
    ids = [1, 2, 3, 4, 5, 6]
    parents = [(), (), (2,), (3,), (1,), (9,)]  # 6's parent is not asked: ignored
    yes = [1, 0, 1, 1, 1, 1]
    np.testing.assert_array_equal(dependency_scores(ids, parents, yes), [1, 0, 0, 0, 1, 1])
    # a cycle is broken: each scores its own answer unless another parent failed
    np.testing.assert_array_equal(dependency_scores([1, 2], [(2,), (1,)], [1, 1]), [1, 1])


def test_image_and_category_scores_by_hand():
    answers = pd.DataFrame({
        "vqa": "v", "image_id": ["p|a"] * 4 + ["q|a"] * 2, "prompt_id": ["p"] * 4 + ["q"] * 2, "t2i_model": "a",
        "question_id": [1, 2, 3, 4, 1, 2], "parents": [(), (1,), (), (3,), (), (1,)], "yes": [0, 1, 1, 1, 1, 1],
    })
    questions = pd.DataFrame({"prompt_id": ["p"] * 4 + ["q"] * 2, "proposition_id": [1, 2, 3, 4, 1, 2],
                              "category_broad": ["entity", "attribute", "entity", "relation", "entity", "entity"]})
    out = image_scores(answers, questions, ("entity", "attribute", "relation", "action")).set_index("image_id")
    # image p: q1 no, q2 yes but its parent failed -> 0, q3 yes, q4 yes (parent ok): mean 2/4
    assert out.loc["p|a", "dsg"] == 0.5 and out.loc["p|a", "n_questions"] == 4
    assert out.loc["p|a", "dsg_entity"] == 0.5 and out.loc["p|a", "dsg_attribute"] == 0.0
    assert out.loc["p|a", "dsg_relation"] == 1.0
    assert np.isnan(out.loc["p|a", "dsg_action"]) and out.loc["p|a", "n_action"] == 0  # not asked: missing, not 0
    assert out.loc["q|a", "dsg"] == 1.0 and np.isnan(out.loc["q|a", "dsg_attribute"])


def test_human_aggregates_and_thresholds_by_hand():
    ratings = pd.DataFrame({"image_id": ["a"] * 3 + ["b"] * 2, "panel": "dsg", "rating": [5, 4, 2, 4, 4]})
    agg = human_aggregates(ratings, threshold=4).set_index("image_id")
    assert agg.loc["a", "human_mean"] == pytest.approx(11 / 3) and agg.loc["a", "human_median"] == 4
    assert agg["good"].to_dict() == {"a": 0, "b": 1}
    th = threshold_table(ratings, [3, 4, 5])
    assert th["n_good"].tolist() == [2, 1, 0]


def test_dsg_scores_on_the_release_match_a_direct_computation(study):
    frame, _ = scorer_frame(study)
    # PaLI's DSG score, recomputed with pandas only: answers scored by the first word, parents by id
    a = study.answers[study.answers["vqa"] == "pali17b"]
    some = a["image_id"].iloc[0]
    g = a[a["image_id"] == some]
    yes = dict(zip(g["question_id"], g["yes"], strict=True))
    score = [0.0 if any(yes.get(p, 1.0) == 0 for p in ps) else y for ps, y in zip(g["parents"], g["yes"], strict=True)]
    assert frame.set_index("image_id").loc[some, "dsg_pali17b"] == pytest.approx(np.mean(score))
    assert frame["dsg_pali17b"].isna().sum() == 5  # the prompt without answers: its 5 images


# ------------------------------------------------------------------- agreement, reliability


def test_weighted_kendall_and_cluster_sums_match_scipy():
    rng = np.random.default_rng(3)
    x = rng.integers(0, 4, 60).astype(float)
    y = x + rng.integers(0, 3, 60)
    assert weighted_kendall(x, y)[0] == pytest.approx(kendalltau(x, y).statistic, abs=1e-12)
    codes = np.repeat(np.arange(12), 5)
    counts = rng.integers(0, 3, (4, 12))
    rows = counts[:, codes]
    fast = kendall_from_cluster_sums(kendall_cluster_sums(x, y, codes, 12), counts)
    np.testing.assert_allclose(fast, weighted_kendall(x, y, rows), rtol=1e-12)
    rep = np.repeat(np.arange(60), rows[0])
    assert fast[0] == pytest.approx(kendalltau(x[rep], y[rep]).statistic, abs=1e-12)


def test_icc_matches_shrout_and_fleiss_table_2():
    data = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
    single, average = icc2(data)
    assert round(single, 2) == 0.29 and round(average, 2) == 0.62


def test_agreement_and_reliability_on_the_release(study):
    frame, kinds = scorer_frame(study)
    scorers = ["dsg_pali17b", "clipscore", "tifa_mplug-large", "dsg_pali17b_action"]
    ag = run_agreement(frame, scorers, kinds=kinds, n_boot=200, seed=1)
    t = ag.table.set_index("scorer")
    for s in scorers:
        ok = frame[s].notna()
        assert t.loc[s, "n"] == ok.sum()
        assert t.loc[s, "spearman"] == pytest.approx(spearmanr(frame.loc[ok, s], frame.loc[ok, "human_mean"]).statistic)
        assert t.loc[s, "kendall"] == pytest.approx(kendalltau(frame.loc[ok, s], frame.loc[ok, "human_mean"]).statistic)
        assert t.loc[s, "spearman_ci_low"] < t.loc[s, "spearman"] < t.loc[s, "spearman_ci_high"]
    assert t.loc["dsg_pali17b", "spearman"] == pytest.approx(0.564, abs=0.001)  # the DSG paper reports 0.563
    assert t.loc["dsg_pali17b_action", "n"] < 800  # only prompts that ask an action question
    d = ag.differences[ag.differences["statistic"] == "spearman"].set_index("scorer")
    assert d.loc["tifa_mplug-large", "difference"] == 0 and d["versus"].iloc[0] == "tifa_mplug-large"
    rel = run_reliability(study.ratings, n_boot=50, seed=0).table.set_index(["panel", "statistic"])
    wide = study.ratings[study.ratings["panel"] == "dsg"].pivot(index="image_id", columns="rater", values="rating")
    direct = krippendorff.alpha(reliability_data=wide.to_numpy(float).T, level_of_measurement="ordinal")
    assert rel.loc[("dsg", "krippendorff_alpha_ordinal"), "value"] == pytest.approx(direct, abs=1e-12)
    assert 0 < rel.loc[("dsg", "icc_2_1"), "value"] < rel.loc[("dsg", "icc_2_k"), "value"] < 1


def test_same_seed_same_numbers(study):
    a, b = (run_feedback_meta(study, n_boot=30, seed=5) for _ in range(2))
    pd.testing.assert_frame_equal(a.agreement.table, b.agreement.table)
    pd.testing.assert_frame_equal(a.reliability.table, b.reliability.table)


def test_report_on_tifa160(tifa160_dir, tmp_path):
    out = tmp_path / "r"
    assert main(["report", "--dataset", "tifa160", "--data-dir", str(tifa160_dir), "--n-boot", "100",
                 "--out", str(out), "--quiet"]) == 0
    manifest = assert_run_layout(out, "report")
    assert {"reliability", "scorer_agreement", "scorer_differences", "model_ranking", "human_thresholds",
            "reward_models", "reward_model_contrasts"} <= set(manifest["tables"])
    rm = pd.read_csv(out / "tables" / "reward_models.csv").set_index("arm")
    assert list(rm.index) == ["coarse", "cbm_pali17b", "cbm_pali17b_joint", "attributes_only_pali17b"]
    assert ((rm["auc_ci_low"] <= rm["auc"]) & (rm["auc"] <= rm["auc_ci_high"])).all()
    # the learning curve ends at the full split, whose row is the headline table's
    curve = pd.read_csv(out / "tables" / "reward_model_curve.csv")
    n = int(rm["n_train"].iloc[0])
    assert sorted(set(curve["n"])) == [100, 200, 400, n] and len(curve) == 16
    np.testing.assert_allclose(curve[curve["n"] == n].set_index("arm").loc[rm.index, "auc"], rm["auc"])
    contrasts = pd.read_csv(out / "tables" / "reward_model_contrasts.csv")
    assert set(contrasts["n"]) == {100, 200, 400, n} and len(contrasts) == 12
    # thresholds: the default one is the headline fit; the others change the class balance
    sens = pd.read_csv(out / "tables" / "reward_threshold_sensitivity.csv")
    assert sorted(set(sens["threshold"])) == [3.0, 3.5, 4.0, 4.5, 5.0]
    at4 = sens[sens["threshold"] == 4.0].set_index("arm")
    np.testing.assert_allclose(at4.loc[rm.index, "auc"], rm["auc"])
    share = sens.groupby("threshold")["share_good"].first()
    assert share.is_monotonic_decreasing and share.loc[4.0] == pytest.approx((frame_mean(tifa160_dir) >= 4).mean())
    coarse = sens[sens["arm"] == "coarse"]
    assert (coarse["diff_vs_coarse"] == 0).all() and coarse["diff_ci_low"].isna().all()
    # aggregator weights: intervals from the stage-2 bootstrap, none for the joint model
    w = pd.read_csv(out / "tables" / "reward_aggregator_weights.csv")
    boot = w[w["arm"] != "cbm_pali17b_joint"]
    assert set(boot["arm"]) == {"cbm_pali17b", "attributes_only_pali17b"} and len(boot) == 12
    assert ((boot["weight_ci_low"] <= boot["weight_mean"]) & (boot["weight_mean"] <= boot["weight_ci_high"])).all()
    assert w.loc[w["arm"] == "cbm_pali17b_joint", "weight_ci_low"].isna().all()
    assert "no image features" in (out / "report.md").read_text()
    sens = pd.read_csv(out / "tables" / "threshold_sensitivity.csv").set_index(["threshold", "scorer"])
    frame, _ = scorer_frame(load_study("tifa160", tifa160_dir))
    ok = frame["dsg_pali17b"].notna()
    from sklearn.metrics import roc_auc_score

    expected = roc_auc_score((frame.loc[ok, "human_mean"] >= 4).astype(int), frame.loc[ok, "dsg_pali17b"])
    assert sens.loc[(4.0, "dsg_pali17b"), "auc"] == pytest.approx(expected)
    assert set(sens.index.get_level_values(0)) == {3.0, 3.5, 4.0, 4.5, 5.0}
    table = pd.read_csv(out / "tables" / "scorer_agreement.csv")
    assert list(table.columns[:2]) == ["scorer", "kind"]
    assert {"scorer", "n", "spearman", "spearman_ci_low", "spearman_ci_high", "kendall", "kendall_ci_low",
            "kendall_ci_high"} <= set(table.columns)
    names = set(table["scorer"])
    assert {"dsg_pali17b", "dsg_mplug", "dsg_instructblip", "dsg_pali17b_entity", "clipscore", "tifa_vilt"} <= names
    text = (out / "report.md").read_text()
    assert "ceiling" in text and "not a plain yes/no" in text  # the quirks are listed in the report
    assert json.loads((out / "manifest.json").read_text())["dataset"] == "tifa160"


def frame_mean(tifa160_dir):
    frame, _ = scorer_frame(load_study("tifa160", tifa160_dir))
    return frame["human_mean"]


# ---------------------------------------------------------------- reward models on real data

TINY_BUDGET = """
[budget]
name = "tifa_tiny"
sizes = [150]
seeds = [0]
n_boot = 30
[data]
{data}
test_fraction = 0.25
seed = 0
[model]
hidden = [16]
epochs = 5
batch_size = 64
[[arm]]
name = "coarse"
kind = "coarse"
[[arm]]
name = "cbm_pali17b"
kind = "cbm"
attributes = ["pali17b_entity", "pali17b_attribute", "pali17b_relation", "pali17b_action", "pali17b_global", "pali17b_other"]
[[arm]]
name = "attributes_only"
kind = "attributes"
attributes = ["pali17b_entity", "pali17b_attribute", "pali17b_relation", "pali17b_action", "pali17b_global", "pali17b_other"]
[[contrast]]
a = "cbm_pali17b"
b = "coarse"
"""


def test_budget_on_tifa160_directly_and_as_a_user_table_with_empty_attributes(study, tifa160_dir, tmp_path):
    """The issue's sequence: AI category scores with categories not asked left empty, a binarised human
    rating, prompt embeddings + model one-hot, through `steerstats budget` -- once from the dataset, once
    from a user table + .npy; both train and report (interventions skip the empty attributes)."""
    from steerstats.feedback import tifa160_feedback

    data = tifa160_feedback(study, embedder="tfidf")
    assert np.isnan(data.attributes).any() and (data.aggregate == (data.aggregate > 0)).all()
    assert len(data) == 800 and data.embeddings.shape[1] > 5
    table = pd.DataFrame({"example_id": data.example_id, "group_id": data.group, "aggregate": data.aggregate})
    for j, name in enumerate(data.attribute_names):
        table[name] = data.attributes[:, j]
    table.to_csv(tmp_path / "table.csv", index=False)  # NaN -> empty cells
    np.save(tmp_path / "X.npy", data.embeddings)
    assert ",," in (tmp_path / "table.csv").read_text()
    sources = {
        "dataset": f'source = "tifa160"\ndata_dir = "{tifa160_dir}"\nembedder = "tfidf"',
        "table": f'source = "{tmp_path / "table.csv"}"\nembeddings = "{tmp_path / "X.npy"}"',
    }
    summaries = {}
    for name, spec in sources.items():
        config = tmp_path / f"{name}.toml"
        config.write_text(TINY_BUDGET.format(data=spec))
        out = tmp_path / f"out_{name}"
        assert main(["budget", "--config", str(config), "--out", str(out), "--quiet"]) == 0
        assert_run_layout(out, "budget")
        inter = pd.read_csv(out / "tables" / "interventions.csv")
        assert len(inter) and np.isfinite(inter["auc"]).all()
        summaries[name] = pd.read_csv(out / "tables" / "summary.csv")
        if name == "dataset":
            assert "no image features" in (out / "report.md").read_text()
    # the same data either way: the same numbers
    pd.testing.assert_frame_equal(summaries["dataset"], summaries["table"])
    # the attributes-only arm = an L2 logistic regression on the observed attributes (missing = 0 + indicator)
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    from steerstats.budget import load_config, make_split
    from steerstats.budget.runner import attribute_design, training_rows

    cfg = load_config(tmp_path / "table.toml")
    split = make_split(data, cfg)
    train = split.train.take(training_rows(split.train, 150, 0))
    cols = [n for n in data.attribute_names if n.startswith("pali17b_")]
    lr = LogisticRegression(C=1.0, max_iter=2000).fit(attribute_design(train.columns(cols)), train.aggregate)
    expected = roc_auc_score(split.test.aggregate, lr.decision_function(attribute_design(split.test.columns(cols))))
    got = summaries["table"].set_index("arm").loc["attributes_only", "auc"]
    assert got == pytest.approx(expected, abs=1e-9)
