"""qa-feedback: the loader on the real file and on broken records, the error-type analysis against
direct computations (pandas, sklearn), and `steerstats preferences` end to end."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout
from sklearn.metrics import roc_auc_score

from steerstats.cli import main
from steerstats.data import load_study
from steerstats.data.qa_feedback import PAIRS, parse_records
from steerstats.errors import InputError
from steerstats.feedback.preferences import answer1_comparisons, error_type_table


@pytest.fixture(scope="module")
def qa_dir(repo_root):
    path = repo_root.parent / "shared" / "data" / "qa_feedback"
    if not (path / "dev_feedback.json").is_file():
        pytest.fail(f"the qa_feedback data must sit at {path}")
    return path


@pytest.fixture(scope="module")
def study(qa_dir):
    return load_study("qa_feedback", qa_dir)


def test_real_file_loads_with_every_record(study, qa_dir):
    records = json.loads((qa_dir / "dev_feedback.json").read_text())
    assert len(study.questions) == 500 and len(study.answers) == 2000 and len(study.preferences) == 3000
    assert study.preferences["code"].value_counts().to_dict() == {1: 1577, 2: 1039, 0: 384}
    # the tie code 0 is outcome 0.5, code 2 (second preferred) is 0
    assert set(zip(study.preferences["code"], study.preferences["outcome"], strict=True)) == {(1, 1.0), (2, 0.0), (0, 0.5)}
    first = records[0]
    a1 = study.attributes.iloc[0]
    n = len(first["prediction 1"])
    mask = np.zeros(n, bool)
    for e in first["feedback"]["errors"]:
        if e["error type"] == "Irrelevant":
            mask[e["start"]:e["end"]] = True
    assert a1["err_irrelevant"] == 1 and a1["share_irrelevant"] == pytest.approx(mask.mean())
    assert a1["n_errors"] == len(first["feedback"]["errors"])
    assert study.files[0].sha256.startswith("f394289e")


def _record(**overrides):
    rec = {"question": "q?", "passages": [], "gold": "g", "prediction 1": "abcdefghij", "prediction 2": "b",
           "prediction 3": "c", "prediction 4": "d", "preference": [1, 2, 0, 1, 1, 2],
           "feedback": {"errors": [{"error type": "Redundant", "start": 2, "end": 6}], "missing-info": []}}
    rec.update(overrides)
    return rec


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"preference": [1, 2, 0]}, r"row 2, column 'preference'.*6 codes"),
        ({"preference": [1, 2, 3, 1, 1, 1]}, r"column 'preference'"),
        ({"prediction 3": ""}, r"row 2, column 'prediction 3'.*non-empty text"),
        ({"feedback": {"errors": [{"start": 0, "end": 1}]}}, r"column 'feedback'.*error type"),
        ({"feedback": {"errors": [{"error type": "Redundant", "start": "0", "end": 1}]}}, r"integer start"),
    ],
)
def test_broken_records_name_the_record_and_field(bad, message):
    with pytest.raises(InputError, match=message):
        parse_records([_record(), _record(**bad)], "f.json")
    missing = _record()
    del missing["gold"]
    with pytest.raises(InputError, match=r"row 1, column 'gold': field missing"):
        parse_records([missing], "f.json")


def test_quirks_are_warnings_not_drops():
    recs = [_record(feedback={"errors": [{"error type": "Redundant", "start": 5, "end": 99},
                                         {"error type": "Made-Up", "start": 3, "end": 3}], "missing-info": []}),
            _record(**{"prediction 2": "abcdefghij"})]
    study, warns = parse_records(recs, "f.json")
    text = " | ".join(str(w) for w in warns)
    assert "clipped" in text and "empty" in text and "Made-Up" in text and "identical answers" in text
    assert "questions repeat" in text
    assert study.attributes.loc[0, "share_redundant"] == pytest.approx(0.5)  # chars 5..9 of 10
    assert "err_made_up" in study.attributes.columns and len(study.questions) == 2
    assert len(study.preferences) == 2 * len(PAIRS)


def test_error_type_table_equals_direct_computations(study):
    table = error_type_table(study, n_boot=200, seed=0).set_index("attribute")
    comp = answer1_comparisons(study).merge(study.attributes, on="question_id")
    for col in ("err_unverifiable", "miss_answer", "any_error"):
        by = comp.groupby(comp[col] > 0)["win"].mean()
        assert table.loc[col, "win_share_present"] == pytest.approx(by[True])
        assert table.loc[col, "win_share_absent"] == pytest.approx(by[False])
        decided = comp[comp["win"] != 0.5]
        auc = roc_auc_score(decided["win"] == 1, -decided[col])
        assert table.loc[col, "auc_absent_predicts_win"] == pytest.approx(auc, abs=1e-12)
        assert table.loc[col, "difference_ci_low"] <= table.loc[col, "difference"] <= table.loc[col, "difference_ci_high"]
    assert (table["cluster"] == "question_id").all()


SMALL = """
seed = 0
n_boot = 100
embedder = "tfidf"
sizes = [20, 60]
seeds = [0]
[model]
hidden = [8]
epochs = 5
stage2_epochs = 30
"""


def test_preferences_command_end_to_end(tmp_path, qa_dir, capsys):
    cfg = tmp_path / "p.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "out"
    assert main(["preferences", "--config", str(cfg), "--data-dir", str(qa_dir), "--out", str(out), "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    assert_run_layout(out, "preferences")
    curve = pd.read_csv(out / "tables" / "preference_learning_curve.csv")
    assert set(curve["arm"]) == {"bt", "cbm_bt"} and set(curve["n_questions"]) == {20, 60}
    assert curve["accuracy"].between(0, 1).all() and curve["n_test_questions"].between(90, 100).all()
    assert curve["tie_aware_accuracy"].between(0, 1).all() and (curve["log_lik"] < 0).all()
    assert (curve["n_test_pairs_with_ties"] > curve["n_test_pairs"]).all()
    assert (curve.loc[curve["arm"] == "cbm_bt", "cost"].to_numpy() == [20 * 11, 60 * 11]).all()
    pairs = pd.read_csv(out / "tables" / "preference_test_pairs.csv")
    bt60 = pairs[(pairs["arm"] == "bt") & (pairs["n_questions"] == 60)]
    assert curve.loc[(curve["arm"] == "bt") & (curve["n_questions"] == 60), "accuracy"].iloc[0] == pytest.approx(bt60["accuracy"].mean())
    assert bt60["accuracy"].isna().sum() == (bt60["outcome"] == 0.5).sum()  # ties: no plain accuracy
    cfg.write_text(SMALL.replace("sizes = [20, 60]", "sizes = [20, 9999]"))
    assert main(["preferences", "--config", str(cfg), "--data-dir", str(qa_dir), "--out", str(tmp_path / "x"), "--quiet"]) == 2
    assert "sizes: at most 350 training questions" in capsys.readouterr().err


def test_tie_aware_accuracy_and_threshold():
    from steerstats.feedback.preferences import tie_aware_correct, tie_threshold

    d = np.array([2.0, -1.0, 0.05, -0.02, 0.5])
    outcome = np.array([1.0, 0.0, 0.5, 0.5, 0.0])
    np.testing.assert_array_equal(tie_aware_correct(d, outcome, 0.1), [1, 1, 1, 1, 0])
    np.testing.assert_array_equal(tie_aware_correct(d, outcome, 0.0), [1, 1, 0, 0, 0])
    eps = tie_threshold(d, outcome)
    assert 0.05 <= eps < 0.5 and tie_aware_correct(d, outcome, eps).mean() == pytest.approx(0.8)
