"""`steerstats goalspace score`: a small table end to end, and bad input (exit 2, one line)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats.cli import main

ROWS = [
    ("a", "The cat sat on the mat.", "The feline rested upon the mat of the house."),
    ("a", "I really love it, oh wow!", "I love it."),
    ("b", "The dog ran to the park quickly.", "A dog ran to a park."),
]


def _vector_table(path):
    frame = pd.DataFrame(ROWS, columns=["model", "source_text", "output_text"])
    frame["goal_text_length"] = [0.9, "", 0.1]
    frame["goal_formality"] = ["", 0.2, 0.5]
    frame.to_csv(path, index=False)
    return path


def test_score_vector_goals_writes_outputs(tmp_path, capsys):
    table = _vector_table(tmp_path / "probes.csv")
    out = tmp_path / "out"
    rc = main(["goalspace", "score", "--in", str(table), "--out", str(out), "--dims", "text_length",
               "formality", "--norm", "table", "--quiet"])
    assert rc == 0
    scores = pd.read_csv(out / "tables" / "scores.csv")
    assert len(scores) == 3 and scores["steering_error"].notna().all()
    # unrequested goal dimension held at the source value
    assert scores.loc[1, "zgoal_text_length"] == scores.loc[1, "z0_text_length"]
    summary = pd.read_csv(out / "tables" / "summary_numeric.csv")
    assert summary["model"].tolist() == ["a", "b"] and summary["n"].tolist() == [2, 1]
    for name in ("tables/summary.md", "tables/summary.tex", "tables/summary.csv", "figures/flow_field.png"):
        assert (out / name).is_file()
    manifest = assert_run_layout(out, "goalspace score")
    assert manifest["inputs"][0]["path"] == str(table) and manifest["details"]["rows"] == 3
    settings = manifest["config"]
    assert settings["goal"] == "vector" and settings["dims"] == ["text_length", "formality"]


def test_score_goal_text_binned(tmp_path):
    frame = pd.DataFrame(ROWS, columns=["model", "source_text", "output_text"])
    frame["goal_text"] = ["The committee approved the proposal of the minister.", "The reform.", "The dog ran."]
    frame.to_csv(tmp_path / "t.csv", index=False)
    rc = main(["goalspace", "score", "--in", str(tmp_path / "t.csv"), "--out", str(tmp_path / "o"),
               "--mode", "binned", "--quiet"])
    assert rc == 0
    scores = pd.read_csv(tmp_path / "o" / "tables" / "scores.csv")
    # binned coordinates are multiples of 1/7, so the squared error is a multiple of 1/49
    sq = scores["steering_error"].to_numpy() ** 2 * 49
    assert abs(sq - sq.round()).max() < 1e-9


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda f: f.assign(goal_formality=["", "high", 0.5]), "row 2, column 'goal_formality'"),
        (lambda f: f.assign(goal_formality=["", 1.5, 0.5]), "row 2, column 'goal_formality'"),
        (lambda f: f.assign(output_text=["x y", "", "z"]), "row 2, column 'output_text'"),
        (lambda f: f.drop(columns="source_text"), "column 'source_text'"),
        (lambda f: f.drop(columns="goal_formality"), "column 'goal_formality'"),
        (lambda f: f.assign(source_text=["The cat.", "?!", "The dog."]), "row 2, column 'source_text'"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, edit, expected):
    table = _vector_table(tmp_path / "probes.csv")
    edit(pd.read_csv(table, dtype=str, keep_default_na=False)).to_csv(table, index=False)
    out = tmp_path / "out"
    rc = main(["goalspace", "score", "--in", str(table), "--out", str(out), "--dims", "text_length",
               "formality", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1 and expected in err and str(table) in err
    assert not out.exists()  # no partial output


def test_score_with_reference_corpus_normalisation(tmp_path):
    table = _vector_table(tmp_path / "probes.csv")
    corpus = tmp_path / "corpus.csv"
    pd.DataFrame({"text": ["One two three.", "One two three four five six seven eight nine ten.",
                           "I see it.", "The report of the committee on the state of the union."]}).to_csv(corpus, index=False)
    out = tmp_path / "out"
    rc = main(["goalspace", "score", "--in", str(table), "--out", str(out), "--dims", "text_length",
               "formality", "--norm", str(corpus), "--pair", "formality", "text_length", "--quiet"])
    assert rc == 0
    settings = json.loads((out / "manifest.json").read_text())["config"]
    lo, hi = settings["normalisation"]["ranges"]["text_length"]
    # 2.5/97.5 percentiles of the corpus lengths 3, 10, 3, 11 words (linear interpolation)
    assert (lo, hi) == pytest.approx(tuple(np.percentile([3, 10, 3, 11], [2.5, 97.5])))
    assert settings["flow_pair"] == ["formality", "text_length"]
