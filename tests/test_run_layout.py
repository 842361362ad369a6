"""The run writer (steerstats.report.run): one layout and manifest schema for every command, the
tidy long tables, posteriors as InferenceData netCDF, resumable directories, umask modes."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from run_layout import RUN_COMMANDS

from steerstats.report import Table, long_table
from steerstats.report.run import MANIFEST_KEYS, Run, manifest, write_run, write_run_beside_state

TESTS = Path(__file__).resolve().parent


def test_every_command_that_writes_a_run_has_its_layout_checked():
    calls = set()
    for path in TESTS.glob("test_*.py"):
        calls |= set(re.findall(r'assert_run_layout\([^,]+, "([^"]+)"\)', path.read_text()))
    assert set(RUN_COMMANDS) <= calls, sorted(set(RUN_COMMANDS) - calls)


def _table() -> Table:
    frame = pd.DataFrame({
        "model": ["a", "b"], "n": [10, 12],
        "x_mean": [0.5, 0.7], "x_se": [0.1, 0.2], "x_se_cluster": [0.15, 0.25],
        "x_mean_ci_low": [0.2, 0.2], "x_mean_ci_high": [0.8, 1.2], "truth_x_mean": [0.45, 0.75],
    })
    return Table("t", frame, "A table", "interpretation", "estimand: mean x; SE clustered on users")


def test_long_table_takes_the_headline_se_interval_and_truth():
    t = _table()
    tidy = long_table(Table(t.name, t.frame, t.title, t.interpretation, t.se_note, method="cluster bootstrap",
                            cluster="steering users"))
    est = tidy[tidy["method"] == "cluster bootstrap"]
    assert list(est["quantity"]) == ["x_mean", "x_mean"] and list(est["model"]) == ["a", "b"]
    np.testing.assert_array_equal(est["estimate"], [0.5, 0.7])
    np.testing.assert_array_equal(est["se"], [0.15, 0.25])  # the cluster SE is the headline
    assert set(est["se_column"]) == {"x_se_cluster"}
    np.testing.assert_array_equal(est["ci_high"], [0.8, 1.2])
    np.testing.assert_array_equal(est["n"], [10, 12])
    assert set(est["level"]) == {0.95} and set(est["cluster"]) == {"steering users"}
    assert set(est["se_note"]) == {"estimand: mean x; SE clustered on users"}
    truth = tidy[tidy["method"] == "truth"]  # simulation truth is one more method
    np.testing.assert_array_equal(truth["estimate"], [0.45, 0.75])
    assert truth["se"].isna().all() and list(truth["model"]) == ["a", "b"]


def test_long_table_of_a_descriptive_table_keeps_every_number():
    t = Table("d", pd.DataFrame({"arm": ["a"], "auc": [0.7], "n": [3]}), "d", "", "none")
    tidy = long_table(t)
    assert list(tidy["quantity"]) == ["auc", "n"] and tidy["se"].isna().all()


def _posterior():
    from steerstats.uncertainty.bayes.diagnostics import inference_data

    rng = np.random.default_rng(0)
    return inference_data({"mu": rng.normal(size=(2, 50)), "theta": rng.normal(size=(2, 50, 3))},
                          diverging=np.zeros((2, 50), bool))


def test_write_run_layout_posterior_round_trip_and_umask(tmp_path):
    from steerstats.uncertainty.bayes.diagnostics import read_inference_data

    run = Run(command="demo", title="Demo", tables=[_table()], posteriors={"fit": _posterior()},
              data=[("draws", pd.DataFrame({"b": [1, 2]}))], files={"extra/notes.txt": "hi"},
              config={"n_boot": 5}, caps={"n_boot": 5}, seeds={"seed": 3})
    old = os.umask(0o027)
    try:
        out = write_run(tmp_path / "out", run)
    finally:
        os.umask(old)
    m = json.loads((out / "manifest.json").read_text())
    assert set(m) == set(MANIFEST_KEYS) and m["argv"] is None  # not called through the CLI
    assert m["tables"] == ["t", "draws"] and m["posteriors"] == ["fit"] and m["caps"] == {"n_boot": 5}
    assert {"tables/t.csv", "tables/t.long.csv", "tables/t.tex", "tables/draws.csv", "posterior/fit.nc",
            "extra/notes.txt", "report.md", "manifest.json"} <= set(m["files"])
    for rel in m["files"]:
        assert stat.S_IMODE((out / rel).stat().st_mode) == 0o640, rel
    back = read_inference_data(out / "posterior" / "fit.nc")
    np.testing.assert_array_equal(back.posterior["theta"].values, _posterior().posterior["theta"].values)
    assert not back.sample_stats["diverging"].values.any()
    assert "posterior/fit.nc" in (out / "report.md").read_text()


def test_two_tables_with_one_name_are_refused_before_anything_is_written(tmp_path):
    run = Run(command="demo", title="Demo", tables=[_table()], data=[("t", pd.DataFrame({"a": [1]}))])
    with pytest.raises(ValueError, match="share a name"):
        write_run(tmp_path / "out", run)
    assert not (tmp_path / "out").exists()


def test_writing_beside_state_keeps_the_state_and_replaces_the_rest(tmp_path):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "results.jsonl").write_text('{"run": 1}\n')
    write_run_beside_state(out, Run(command="demo", title="1", tables=[_table()], posteriors={"fit": _posterior()}))
    assert (out / "posterior" / "fit.nc").is_file()
    second = Table("u", pd.DataFrame({"k": ["a"], "v": [1.0], "v_se": [0.1]}), "U", "", "none")
    write_run_beside_state(out, Run(command="demo", title="2", tables=[second]))
    assert (out / "results.jsonl").read_text() == '{"run": 1}\n'
    assert sorted(p.name for p in (out / "tables").iterdir()) == ["u.csv", "u.long.csv", "u.md", "u.tex"]
    assert not (out / "posterior").exists()  # the first run's posterior does not survive the second
    m = json.loads((out / "manifest.json").read_text())
    assert "results.jsonl" in m["files"] and "posterior/fit.nc" not in m["files"]
    assert [p.name for p in out.iterdir() if p.name.endswith((".sstmp", ".old"))] == []


def test_the_cli_records_its_command_line():
    from steerstats.report.run import INVOCATION

    token = INVOCATION.set(("budget", "--config", "x.toml"))
    try:
        m = manifest(Run(command="budget", title=""), [])
    finally:
        INVOCATION.reset(token)
    assert m["argv"] == ["steerstats", "budget", "--config", "x.toml"]


def test_latex_tables_are_floats_with_caption_label_and_wide_ones_fit():
    from steerstats.report import to_latex

    narrow = to_latex(_table())
    assert narrow.splitlines()[:4] == [r"\begin{table}[htbp]", r"\centering",
                                       r"\caption{A table. estimand: mean x; SE clustered on users}", r"\label{tab:t}"]
    assert "model & n & x mean" in narrow and "0.500 (0.100) [0.150]" in narrow
    frame = pd.DataFrame({f"col_{i}": [float(i)] for i in range(9)})
    wide = to_latex(Table("wide_one", frame, "Wide", "", "none"))
    assert r"\resizebox{\textwidth}{!}{%" in wide and r"\label{tab:wide-one}" in wide
    for env in ("table", "tabular"):
        assert wide.count(rf"\begin{{{env}}}") == wide.count(rf"\end{{{env}}}") == 1
    assert wide.index(r"\end{tabular}") < wide.index("}\n" + r"\end{table}")  # resizebox closed inside the float
