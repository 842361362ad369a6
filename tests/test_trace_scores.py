"""Table 1 from scored image-steering traces: hand-made traces with known answers, and the release."""

from __future__ import annotations

import json
import zlib

import numpy as np
import pandas as pd
import pytest
from run_layout import assert_run_layout

from steerstats.errors import InputError
from steerstats.generate.trace_scores import (
    TEXT_CONDITION,
    score_lookup,
    scored_tasks,
    table1_from_tasks,
    task_endpoints,
    text_tasks,
    trace_pairs,
)


def _traces(spec):
    """Tidy traces: spec = [(condition, user, task, goal, [(offered images, selected index), ...])]."""
    rows = []
    for cond, user, task, goal, rounds in spec:
        for r, (offered, sel) in enumerate(rounds, start=1):
            rows.append({"condition": cond, "steering_user_id": user, "task": task, "goal_url": goal, "round": r,
                         "images_offered": json.dumps(offered), "selected_image_url": offered[sel],
                         "selected_index": sel})
    return pd.DataFrame(rows)


# first image is round 1's offered[0]; the final image the last round's selection
SPEC = [
    ("random", "u1", 0, "g1", [(["a0", "a1"], 1), (["a1", "a2"], 0)]),           # final a1
    ("random", "u1", 1, "g2", [(["b0", "b1"], 0), (["b0", "b2"], 1)]),           # final b2
    ("random", "u2", 0, "g3", [(["c0", "c1"], 1), (["c1", "c2"], 1)]),           # final c2
    ("learned", "u3", 0, "g4", [(["d0", "d1"], 1), (["d1", "d2"], 0)]),          # final d1
    ("learned", "u3", 1, "g5", [(["e0", "e1"], 1), (["e1", "e2"], 1)]),          # final e2
]
SCORES = pd.DataFrame({
    "goal_image": ["g1", "g1", "g2", "g2", "g3", "g3", "g4", "g4", "g5", "g5"],
    "generated_image": ["a0", "a1", "b0", "b2", "c0", "c2", "d0", "d1", "e0", "e2"],
    "dreamsim": [0.4, 0.6, 0.5, 0.4, 0.2, 0.5, 0.3, 0.8, 0.5, 0.6],
})


def test_endpoints_and_pairs():
    ends = task_endpoints(_traces(SPEC))
    assert ends["first_image"].tolist() == ["d0", "e0", "a0", "b0", "c0"]  # sorted by condition, user, task
    assert ends["final_image"].tolist() == ["d1", "e2", "a1", "b2", "c2"]
    assert len(trace_pairs(_traces(SPEC))) == 10


def test_table1_by_hand():
    tasks = scored_tasks(_traces(SPEC), score_lookup(SCORES, "dreamsim"))
    t1 = table1_from_tasks(tasks, n_boot=400, seed=1)
    table = t1.table.set_index("condition")
    # random: +0.2, -0.1, +0.3 -> mean 0.4/3, 2 of 3 improved; learned: +0.5, +0.1 -> 0.3, 2 of 2
    assert table.loc["random", "avg_change"] == pytest.approx(0.4 / 3)
    assert table.loc["random", "pct_improved"] == pytest.approx(200 / 3)
    assert table.loc["learned", "avg_change"] == pytest.approx(0.3)
    assert table.loc["learned", "pct_improved"] == pytest.approx(100)
    assert table.loc["random", "n_tasks"] == 3 and table.loc["random", "n_users"] == 2
    assert t1.stratified and "stratified" in table.loc["random", "cluster"]
    # one learned user: resampling users cannot move that condition's mean
    assert table.loc["learned", "avg_change_ci_low"] == pytest.approx(0.3)
    assert table.loc["learned", "avg_change_ci_high"] == pytest.approx(0.3)
    # random: the replicates are the two users' mixtures: u1 mean 0.05 (2 tasks), u2 0.3 (1 task)
    assert 0.05 - 1e-12 <= table.loc["random", "avg_change_ci_low"] <= table.loc["random", "avg_change_ci_high"] <= 0.3 + 1e-12
    ratio = t1.ratios.iloc[0]
    assert ratio["condition"] == "learned" and ratio["baseline"] == "random"
    assert ratio["ratio"] == pytest.approx(0.3 / (0.4 / 3))
    assert ratio["ratio_ci_low"] == pytest.approx(0.3 / 0.3) and ratio["ratio_ci_high"] == pytest.approx(0.3 / 0.05)
    again = table1_from_tasks(tasks, n_boot=400, seed=1)
    pd.testing.assert_frame_equal(again.table, t1.table)


def test_shared_users_are_resampled_jointly():
    spec = [*SPEC, ("learned", "u1", 2, "g1", [(["a0", "a1"], 1)])]
    tasks = scored_tasks(_traces(spec), score_lookup(SCORES, "dreamsim"))
    t1 = table1_from_tasks(tasks, n_boot=200, seed=0)
    assert not t1.stratified and "joint" in t1.table["cluster"].iloc[0]


def test_missing_scores_are_counted_and_clashing_scores_are_errors():
    with pytest.warns(UserWarning, match="left out: random 1"):
        tasks = scored_tasks(_traces(SPEC), score_lookup(SCORES.iloc[2:], "dreamsim"))
    assert len(tasks) == 4
    status = SCORES.assign(score_status=["ok"] * 9 + ["unreadable: generated_image"])
    with pytest.warns(UserWarning, match="learned 1"):
        scored_tasks(_traces(SPEC), score_lookup(status, "dreamsim"))
    clash = pd.concat([SCORES, SCORES.iloc[:1].assign(dreamsim=0.9)])
    with pytest.raises(InputError, match=r"\(g1, a0\) has two different scores"):
        score_lookup(clash, "dreamsim")
    with pytest.raises(InputError, match=r"row 2.*not a number"):
        score_lookup(SCORES.astype({"dreamsim": object}).assign(dreamsim=["0.1", "high", *["0.2"] * 8]), "dreamsim")
    with pytest.raises(InputError, match="no task has scores"):
        scored_tasks(_traces(SPEC), score_lookup(SCORES.assign(goal_image="elsewhere"), "dreamsim"))


def test_text_baseline_is_first_to_last_attempt():
    steering = pd.DataFrame({"steering_user_id": ["v1"] * 3 + ["v2"] * 2, "goal_image": ["h1"] * 3 + ["h2"] * 2,
                             "model": ["m"] * 5, "attempt": [1, 2, 3, 2, 1], "dreamsim": [0.1, 0.5, 0.3, 0.2, 0.4]})
    text = text_tasks(steering)
    assert text["change"].tolist() == pytest.approx([0.2, -0.2])
    tasks = pd.concat([text, scored_tasks(_traces(SPEC), score_lookup(SCORES, "dreamsim"))], ignore_index=True)
    t1 = table1_from_tasks(tasks, n_boot=100, seed=0)
    assert t1.table["condition"].iloc[0] == TEXT_CONDITION
    assert set(t1.ratios["baseline"]) == {TEXT_CONDITION}


SMALL = """
seed = 0
n_boot = 100
[world]
latent_dim = 4
prompt_dim = 4
embed_dim = 8
hidden = 16
[train]
episodes = 200
[evaluate]
episodes = 100
"""


def test_steer_scores_on_the_release_end_to_end(tmp_path, vafa2025_dir, capsys):
    """--pairs-out -> (a scorer) -> --scores on the release's traces, with made-up scores (the
    release has none): a deterministic function of the image URL, final images scored higher."""
    from steerstats.cli import main

    pairs = tmp_path / "pairs.csv"
    assert main(["steer", "--data-dir", str(vafa2025_dir), "--pairs-out", str(pairs)]) == 0
    frame = pd.read_csv(pairs)
    u = np.array([zlib.crc32(s.encode()) % 1000 / 1000 for s in frame["generated_image"]])
    frame["dreamsim"] = 0.3 + 0.4 * u
    frame.to_csv(tmp_path / "scores.csv", index=False)
    cfg = tmp_path / "steer.toml"
    cfg.write_text(SMALL)
    out = tmp_path / "out"
    assert main(["steer", "--config", str(cfg), "--data-dir", str(vafa2025_dir), "--scores",
                 str(tmp_path / "scores.csv"), "--text-baseline", "--out", str(out), "--quiet"]) == 0
    assert "avg change" in capsys.readouterr().out
    assert_run_layout(out, "steer")
    table = pd.read_csv(out / "tables" / "image_steering_table1.csv").set_index("condition")
    assert set(table.index) == {TEXT_CONDITION, "random", "learned", "learned_tiles"}
    assert table.loc["random", "n_tasks"] == 100 and table.loc["learned", "n_users"] == 33
    # recompute one condition by hand from the files
    traces_ends = task_endpoints(__import__("steerstats.data", fromlist=["load_study"]).load_study(
        "vafa2025", vafa2025_dir).require("image_steering"))
    lookup = frame.set_index(["goal_image", "generated_image"])["dreamsim"]
    r = traces_ends[traces_ends["condition"] == "random"]
    change = lookup.loc[list(zip(r["goal_url"], r["final_image"], strict=True))].to_numpy() - \
        lookup.loc[list(zip(r["goal_url"], r["first_image"], strict=True))].to_numpy()
    assert table.loc["random", "avg_change"] == pytest.approx(change.mean())
    assert table.loc["random", "pct_improved"] == pytest.approx(100 * (change > 0).mean())
    ratios = pd.read_csv(out / "tables" / "image_steering_ratios.csv")
    assert set(ratios["baseline"]) == {TEXT_CONDITION} and len(ratios) == 3
    assert (out / "figures" / "image_steering_change.png").is_file()
    tidy = pd.read_csv(out / "tables" / "image_steering_table1.long.csv")
    assert tidy["cluster"].str.contains("steering_user_id").all()
