"""Attacks: a careful user's mistakes and hostile inputs, through the CLI.

Every case asserts the contract of the command line: exit status 2 (bad input, bad config, a path
steerstats must not write to) or 3 (the environment), exactly one ``steerstats:`` line on stderr
naming the file/row/column or the config key, no traceback, no partial output, and an input
directory whose every byte is unchanged (hashed before and after).
"""

from __future__ import annotations

import csv
import errno
import hashlib
import io
import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tomli_w

from steerstats.cli import main

REPO = Path(__file__).resolve().parents[1]
ANALYSES = REPO / "analyses"


# helpers -----------------------------------------------------------------------------------------
def run(argv: list[str], capsys) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_clean_error(result: tuple[int, str, str], *needles: str, code: int = 2) -> str:
    """Exit ``code``, one ``steerstats:`` line holding every needle, no traceback."""
    rc, _, err = result
    lines = [line for line in err.splitlines() if line.startswith("steerstats:")]
    assert rc == code, err
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def digest(root: Path) -> dict[str, str]:
    """sha256 of every file under ``root`` (symbolic links followed), by relative path."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def leftovers(parent: Path) -> list[str]:
    """Temporary siblings a run left behind."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(".") and p.name.endswith((".sstmp", ".tmp", ".old")))


# data files --------------------------------------------------------------------------------------
@pytest.fixture
def data_copy(tmp_path, vafa2025_dir) -> Path:
    """The release as symbolic links; a case replaces the one file it corrupts with a real file."""
    root = tmp_path / "data"
    for path in vafa2025_dir.rglob("*.csv"):
        target = root / path.relative_to(vafa2025_dir)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(path, target)
    return root


def _records(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def _write(path: Path, records: list[list[str]]) -> None:
    buf = io.StringIO(newline="")
    csv.writer(buf, lineterminator="\n").writerows(records)
    path.unlink()
    path.write_text(buf.getvalue(), encoding="utf-8")


def _set_cell(path: Path, row: int, column: str, value: str) -> None:
    recs = _records(path)
    recs[row][recs[0].index(column)] = value
    _write(path, recs)


def _duplicate_row(path: Path, row: int) -> None:
    recs = _records(path)
    _write(path, [*recs[: row + 1], recs[row], *recs[row + 1 :]])


def _delete_row(path: Path, row: int) -> None:
    recs = _records(path)
    _write(path, recs[:row] + recs[row + 1 :])


def _replace_bytes(path: Path, old: bytes, new: bytes, count: int = 1) -> None:
    raw = path.read_bytes()
    assert old in raw
    path.unlink()
    path.write_bytes(raw.replace(old, new, count))


def _raw(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)


IG, LLM = "image_generation", "llm"
DATA_ATTACKS = {
    # exact duplicate records: counted twice before
    "duplicate_sat_rating": (f"{IG}/sat_rating_4.csv", lambda p: _duplicate_row(p, 5), ["sat_rating_4.csv", "row 6", "exact duplicate of row 5"]),
    "duplicate_improvement": (f"{IG}/improvement.csv", lambda p: _duplicate_row(p, 1), ["improvement.csv", "row 2", "exact duplicate of row 1"]),
    "duplicate_pom1": (f"{IG}/pom1.csv", lambda p: _duplicate_row(p, 100), ["pom1.csv", "exact duplicate of row 100"]),
    "duplicate_img_steering": (f"{IG}/img_steering.csv", lambda p: _duplicate_row(p, 3), ["img_steering.csv", "exact duplicate of row 3"]),
    "duplicate_steering": (f"{IG}/steering.csv", lambda p: _duplicate_row(p, 7), ["steering.csv", "exact duplicate of row 7"]),
    # deleted records: the card's row counts
    "deleted_sat_rating": (f"{IG}/sat_rating_4.csv", lambda p: _delete_row(p, 9), ["sat_rating_4.csv", "2574 data records where the released file has 2575"]),
    "deleted_improvement": (f"{IG}/improvement.csv", lambda p: _delete_row(p, 1), ["improvement.csv", "released file has 3390"]),
    "deleted_pom1": (f"{IG}/pom1.csv", lambda p: _delete_row(p, 1), ["pom1.csv", "released file has 1170"]),
    "deleted_img_steering": (f"{IG}/img_steering.csv", lambda p: _delete_row(p, 1), ["img_steering.csv", "released file has 50"]),
    "deleted_llm_steering": (f"{LLM}/steering_llms.csv", lambda p: _delete_row(p, 4), ["steering_llms.csv", "released file has 550"]),
    "deleted_llm_ratings": (f"{LLM}/sat_ratings.csv", lambda p: _delete_row(p, 4), ["sat_ratings.csv", "released file has 980"]),
    "deleted_llm_improvement": (f"{LLM}/improvement.csv", lambda p: _delete_row(p, 4), ["llm/improvement.csv", "released file has 1050"]),
    # truncation and damaged files
    "truncated_last_number": (f"{IG}/steering.csv", lambda p: _raw(p, p.read_bytes()[:-4]), ["steering.csv", "looks truncated"]),
    "empty_file": (f"{IG}/sat_rating_4.csv", lambda p: _raw(p, b""), ["sat_rating_4.csv", "file is empty"]),
    "header_only": (f"{IG}/pom5.csv", lambda p: _raw(p, p.read_bytes().split(b"\n")[0] + b"\n"), ["pom5.csv", "no data rows"]),
    "pickle_instead_of_csv": (f"{IG}/pom5.csv", lambda p: _raw(p, pickle.dumps({"a": list(range(50))})), ["pom5.csv"]),
    "non_utf8": (f"{LLM}/steering_llms.csv", lambda p: _replace_bytes(p, b"headline", b"head\xfeline"), ["steering_llms.csv", "invalid UTF-8"]),
    "unclosed_quote_in_record_4": (f"{IG}/steering.csv", lambda p: _set_cell_raw_quote(p, 4), ["steering.csv", "row 4", "column 'dreamsim'", "quote"]),
    # wrong types and values
    "text_in_number": (f"{IG}/steering.csv", lambda p: _set_cell(p, 5, "dreamsim", "abc"), ["steering.csv", "row 5", "column 'dreamsim'", "expected a number"]),
    "unknown_model": (f"{IG}/steering.csv", lambda p: _set_cell(p, 7, "model", "dall-e-9"), ["row 7", "column 'model'", "unknown model name"]),
    "empty_required_cell": (f"{IG}/pom1.csv", lambda p: _set_cell(p, 3, "model", ""), ["pom1.csv", "row 3", "column 'model'", "missing value"]),
    "rating_out_of_range": (f"{IG}/sat_rating_4.csv", lambda p: _set_cell(p, 2, "rating", "7"), ["row 2", "column 'rating'", "outside the allowed range"]),
    "generated_image_twice": (f"{IG}/steering.csv", lambda p: _copy_cell(p, 10, 9, "generated_image"), ["steering.csv", "row 10", "generated_image", "also at row 9"]),
    # literal columns: parsed safely, every field type-checked
    "unhashable_literal": (f"{IG}/img_steering.csv", lambda p: _set_cell(p, 2, "all_attempts", "{[]: 1}"), ["img_steering.csv", "row 2", "column 'all_attempts'", "not a valid Python literal (TypeError)"]),
    "bytes_literal": (f"{IG}/img_steering.csv", lambda p: _replace_bytes(p, b"'goal_url': '", b"'goal_url': b'"), ["img_steering.csv", "row 1", "'goal_url' must be a string, got bytes"]),
    "nul_in_literal": (f"{IG}/img_steering_rl.csv", lambda p: _replace_bytes(p, b"'goal_prompt': '", b"'goal_prompt': '\\x00"), ["img_steering_rl.csv", "column 'all_attempts'", "'goal_prompt' contains a NUL byte"]),
    "unknown_model_in_trace": (f"{IG}/img_steering_rl_tiles.csv", lambda p: _replace_bytes(p, b"'model': 'foundry'", b"'model': 'other'"), ["img_steering_rl_tiles.csv", "row 1", "unknown model 'other'"]),
    "number_as_selected_url": (f"{IG}/img_steering.csv", lambda p: _replace_bytes(p, b"'selected_index': 0", b"'selected_index': 'x'"), ["img_steering.csv", "selected_index"]),
    "parameters_not_strings": (f"{LLM}/steering_llms.csv", lambda p: _set_cell(p, 3, "parameters", "['tone', 3]"), ["steering_llms.csv", "row 3", "column 'parameters'", "expected a list of strings"]),
    "missing_file": (f"{IG}/pom1.csv", lambda p: p.unlink(), ["pom1.csv", "missing", "steerstats data fetch"]),
}


def _set_cell_raw_quote(path: Path, row: int) -> None:
    """Open a quote in the first field of data record ``row`` that never closes."""
    lines = path.read_bytes().split(b"\n")
    lines[row] = b'"' + lines[row]
    _raw(path, b"\n".join(lines))


def _copy_cell(path: Path, row: int, source: int, column: str) -> None:
    recs = _records(path)
    j = recs[0].index(column)
    recs[row][j] = recs[source][j]
    _write(path, recs)


@pytest.mark.parametrize("case", sorted(DATA_ATTACKS))
def test_bad_release_file_is_one_line_and_no_output(case, data_copy, tmp_path, capsys):
    rel, corrupt, needles = DATA_ATTACKS[case]
    corrupt(data_copy / rel)
    before = digest(data_copy)
    out = tmp_path / "report"
    result = run(["report", "--dataset", "vafa2025", "--data-dir", data_copy, "--out", out, "--n-boot", 2, "--quiet"], capsys)
    assert_clean_error(result, *needles)
    assert not out.exists() and leftovers(tmp_path) == []
    assert digest(data_copy) == before


def test_the_release_itself_still_validates(vafa2025_dir, capsys):
    rc, out, err = run(["data", "validate", "--dataset", "vafa2025", "--data-dir", vafa2025_dir], capsys)
    assert rc == 0 and "vafa2025: valid" in out, err


# configs -----------------------------------------------------------------------------------------
def _toml(path: Path, table: dict) -> Path:
    path.write_text(tomli_w.dumps(table), encoding="utf-8")
    return path


def _load(name: str) -> dict:
    return tomllib.loads((ANALYSES / name).read_text(encoding="utf-8"))


def _set(table: dict, dotted: str, value) -> dict:
    *parents, key = dotted.split(".")
    node = table
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    node[key] = value
    return table


BUDGET = "budget_experiment2.toml"
CONFIG_ATTACKS = {
    # (command, base config, change, needles)
    "budget_unknown_key": ("budget", BUDGET, lambda t: _set(t, "budget.seedz", [1]), ["budget.seedz", "did you mean 'seeds'"]),
    "budget_unknown_model_key": ("budget", BUDGET, lambda t: _set(t, "model.epoch", 3), ["model.epoch", "did you mean 'epochs'"]),
    "budget_negative_size": ("budget", BUDGET, lambda t: _set(t, "budget.sizes", [-40]), ["budget.sizes[0]", ">= 1"]),
    "budget_zero_size": ("budget", BUDGET, lambda t: _set(t, "budget.sizes", [0]), ["budget.sizes[0]"]),
    "budget_negative_epochs": ("budget", BUDGET, lambda t: _set(t, "model.epochs", -1), ["model.epochs", ">= 1"]),
    "budget_n_boot_text": ("budget", BUDGET, lambda t: _set(t, "budget.n_boot", "abc"), ["budget.n_boot", "must be an integer"]),
    "budget_n_boot_one": ("budget", BUDGET, lambda t: _set(t, "budget.n_boot", 1), ["budget.n_boot", ">= 2"]),
    "budget_level_2": ("budget", BUDGET, lambda t: _set(t, "budget.level", 2), ["budget.level", "< 1"]),
    "budget_bool_as_int": ("budget", BUDGET, lambda t: _set(t, "data.world.dim", True), ["data.world.dim", "integer"]),
    "budget_arm_kind": ("budget", BUDGET, lambda t: _set(t, "arm.0.kind", "cbn"), ["arm[0].kind", "did you mean 'cbm'"]),
    "budget_contrast_unknown_arm": ("budget", BUDGET, lambda t: _set(t, "contrast.0.a", "nope"), ["contrast[0].a", "not an arm"]),
    "budget_size_beyond_pool": ("budget", BUDGET, lambda t: _set(t, "budget.sizes", [100, 3000]), ["3000", "exceeds"]),
    "budget_no_arms": ("budget", BUDGET, lambda t: t.pop("arm") and t, ["arm", "required key missing"]),
    "budget_selection_zero": ("budget", BUDGET, lambda t: _set(t, "selection.budget", 0), ["selection.budget", "> 0"]),
    "budget_world_list_length": ("budget", BUDGET, lambda t: _set(t, "data.world.prevalence", [0.5, 0.5]), ["prevalence has 2 values for 9 attributes"]),
    "rejection_compare_n_beyond_pool": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "compare.n", 1000), ["compare.n", "1000", "64"]),
    "rejection_n_boot_text": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "n_boot", "abc"), ["n_boot", "integer"]),
    "rejection_level": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "level", 2), ["level", "< 1"]),
    "rejection_unknown_key": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "judges.kind", ["oracle"]), ["judges.kind", "did you mean 'kinds'"]),
    "rejection_judge": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "judges.kinds", ["robot"]), ["judges.kinds[0]", "'robot'"]),
    "rejection_model_kind": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "models.coarse.kind", "big"), ["models.coarse.kind"]),
    "rejection_world_dim": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "world.dim", -1), ["world.dim", ">= 1"]),
    "rejection_epsilon": ("rejection", "rejection_synthetic.toml", lambda t: _set(t, "accuracy.score_epsilon", "auto"), ["accuracy.score_epsilon"]),
    "steer_negative_episodes": ("steer", "steer_synthetic.toml", lambda t: _set(t, "train.episodes", -5), ["train.episodes", ">= 1"]),
    "steer_zero_rounds": ("steer", "steer_synthetic.toml", lambda t: _set(t, "rounds", 0), ["rounds", ">= 1"]),
    "steer_huge_suggestions": ("steer", "steer_synthetic.toml", lambda t: _set(t, "suggestions", 100000), ["suggestions", "<= 64"]),
    "steer_unknown_key": ("steer", "steer_synthetic.toml", lambda t: _set(t, "evaluate.episode", 3), ["evaluate.episode", "did you mean 'episodes'"]),
    "steer_low_above_high": ("steer", "steer_synthetic.toml", lambda t: _set(_set(t, "random.low", 0.9), "random.high", 0.1), ["random.low"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_ATTACKS))
def test_bad_config_is_one_line_naming_the_key(case, tmp_path, capsys):
    command, base, change, needles = CONFIG_ATTACKS[case]
    config = _toml(tmp_path / "c.toml", change(_load(base)))
    out = tmp_path / "out"
    result = run([command, "--config", config, "--out", out], capsys)
    assert_clean_error(result, *needles)
    assert not out.exists()  # nothing written: the config is checked before any output


@pytest.mark.parametrize("command", ["budget", "rejection", "steer"])
@pytest.mark.parametrize(
    ("kind", "needle"),
    [("non_utf8", "not UTF-8"), ("directory", "is a directory"), ("not_toml", "not valid TOML"), ("missing", "not found"),
     ("pickle", "not UTF-8")],
)
def test_unreadable_config_file(command, kind, needle, tmp_path, capsys):
    path = tmp_path / "c.toml"
    if kind == "non_utf8":
        path.write_bytes(b"seed = 1\n# caf\xe9\n")
    elif kind == "directory":
        path.mkdir()
    elif kind == "not_toml":
        path.write_text("seed = = 1\n")
    elif kind == "pickle":
        path.write_bytes(pickle.dumps(object))
    result = run([command, "--config", path, "--out", tmp_path / "out"], capsys)
    assert_clean_error(result, needle, str(path))
    assert not (tmp_path / "out").exists()


def test_budget_config_without_contrasts_runs(tmp_path, capsys):
    table = {
        "budget": {"name": "tiny", "sizes": [40], "seeds": [0], "n_boot": 20},
        "data": {"source": "synthetic", "n": 200, "test_fraction": 0.5, "seed": 0, "world": {"dim": 16, "group_size": 2}},
        "model": {"hidden": [8], "epochs": 2, "batch_size": 16},
        "arm": [{"name": "coarse", "kind": "coarse"}],
    }
    config = _toml(tmp_path / "c.toml", table)
    rc, out, err = run(["budget", "--config", config, "--out", tmp_path / "out", "--quiet"], capsys)
    assert rc == 0, err
    assert "1/1 runs finished" in out and (tmp_path / "out" / "tables" / "contrasts.csv").is_file()


# --out -------------------------------------------------------------------------------------------
def _goalspace_table(path: Path) -> Path:
    pd.DataFrame(
        {"model": ["a", "b"], "source_text": ["The cat sat.", "A dog ran far."],
         "goal_text_length": ["0.8", "0.2"], "output_text": ["The big cat sat on the mat.", "Dog ran."]}
    ).to_csv(path, index=False)
    return path


def _score(table: Path, out: Path, *extra) -> list:
    return ["goalspace", "score", "--in", table, "--out", out, "--dims", "text_length", "--norm", "table", "--quiet", *extra]


def test_out_at_a_non_empty_directory_keeps_its_files(tmp_path, capsys):
    table = _goalspace_table(tmp_path / "t.csv")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert_clean_error(run(_score(table, out), capsys), "non-empty directory that steerstats did not write")
    assert_clean_error(run([*_score(table, out), "--force"], capsys), "did not write")  # --force never does
    assert (out / "thesis.tex").read_text() == "years of work"
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_out_at_the_data_directory_leaves_the_data(vafa2025_dir, data_copy, capsys):
    before = digest(data_copy)
    for out in (data_copy, data_copy / "image_generation", data_copy.parent):
        result = run(["report", "--dataset", "vafa2025", "--data-dir", data_copy, "--out", out, "--quiet"], capsys)
        assert_clean_error(result, "--out")
    result = run(["goalspace", "llm-study", "--data-dir", data_copy, "--out", data_copy, "--quiet"], capsys)
    assert_clean_error(result, "contains the input")
    assert digest(data_copy) == before


def test_out_at_a_file_is_refused(tmp_path, capsys):
    table = _goalspace_table(tmp_path / "t.csv")
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    assert_clean_error(run(_score(table, target), capsys), "is a file")
    assert_clean_error(run(["report", "--out", target, "--quiet"], capsys), "is a file")
    assert target.read_text() == "keep me" and leftovers(tmp_path) == []


def test_out_at_the_input_table_is_refused(tmp_path, capsys):
    table = _goalspace_table(tmp_path / "t.csv")
    before = table.read_bytes()
    assert_clean_error(run(_score(table, table), capsys))
    assert table.read_bytes() == before


def test_previous_output_is_replaced_and_another_commands_needs_force(tmp_path, capsys):
    table = _goalspace_table(tmp_path / "t.csv")
    out = tmp_path / "o"
    assert run(_score(table, out), capsys)[0] == 0
    first = digest(out)
    stamp = json.loads((out / "manifest.json").read_text())
    assert run(_score(table, out), capsys)[0] == 0  # the same command: replaced
    again = digest(out)
    # same input, same seed: the same bytes, but for the manifest's time stamp and step times
    assert {k: v for k, v in again.items() if k != "manifest.json"} == {k: v for k, v in first.items() if k != "manifest.json"}
    volatile = ("timestamp", "seconds")
    restamp = json.loads((out / "manifest.json").read_text())
    assert {k: v for k, v in restamp.items() if k not in volatile} == {k: v for k, v in stamp.items() if k not in volatile}
    first = again
    result = run(["budget", "--config", ANALYSES / BUDGET, "--out", out], capsys)
    assert_clean_error(result, "holds the output of 'steerstats goalspace score'")
    assert digest(out) == first


def test_long_out_name_within_the_file_system_limit(tmp_path, capsys):
    table = _goalspace_table(tmp_path / "t.csv")
    out = tmp_path / ("x" * 245)
    rc, _, err = run(_score(table, out), capsys)
    assert rc == 0, err
    assert (out / "tables" / "scores.csv").is_file() and leftovers(tmp_path) == []


def test_out_name_beyond_the_limit_is_an_environment_error(tmp_path, capsys):
    table = _goalspace_table(tmp_path / "t.csv")
    result = run(_score(table, tmp_path / ("x" * 300)), capsys)
    assert_clean_error(result, "File name too long", code=3)


def test_budget_out_in_a_foreign_directory_is_refused(tmp_path, capsys):
    out = tmp_path / "b"
    out.mkdir()
    (out / "data.csv").write_text("a\n1\n")
    assert_clean_error(run(["budget", "--config", ANALYSES / BUDGET, "--out", out], capsys), "did not write")
    assert sorted(p.name for p in out.iterdir()) == ["data.csv"]


def test_fetch_to_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "f"
    target.write_text("x")
    assert_clean_error(run(["data", "fetch", "--to", target, "--quiet"], capsys), "is a file")
    assert target.read_text() == "x"


# the environment ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "needle"),
    [(errno.ENOSPC, "free some space"), (errno.EROFS, "read-only"), (errno.EACCES, "no permission")],
)
def test_full_or_read_only_disk_is_one_line_exit_3(code, needle, tmp_path, capsys, monkeypatch):
    import steerstats._io as io_mod

    table = _goalspace_table(tmp_path / "t.csv")

    def refuse(fd):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(io_mod.os, "fsync", refuse)
    result = run(_score(table, tmp_path / "o"), capsys)
    assert_clean_error(result, needle, code=3)
    assert not (tmp_path / "o").exists() and leftovers(tmp_path) == []


def test_a_bug_is_one_line_and_its_traceback_only_with_v(tmp_path, capsys, monkeypatch):
    import steerstats.goalspace.table as table_mod

    table = _goalspace_table(tmp_path / "t.csv")
    monkeypatch.setattr(table_mod, "score_frame", lambda *a, **k: 1 / 0)
    line = assert_clean_error(run(_score(table, tmp_path / "o"), capsys), "internal error (ZeroDivisionError", code=1)
    assert "-v" in line
    rc, _, err = run(["-v", *_score(table, tmp_path / "o")], capsys)
    assert rc == 1 and "Traceback" in err


# weights and arrays ------------------------------------------------------------------------------
@pytest.fixture
def hostile_files(tmp_path) -> dict[str, Path]:
    files = {"pickle": tmp_path / "w.pt", "garbage": tmp_path / "g.bin", "object_npy": tmp_path / "o.npy"}
    files["pickle"].write_bytes(pickle.dumps({"state_dict": {"layers.0.weight": [1.0]}}))
    files["garbage"].write_bytes(b"\x00not weights\x01" * 64)
    np.save(files["object_npy"], np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return files


@pytest.mark.parametrize("kind", ["pickle", "garbage"])
def test_unloadable_weights_are_refused(kind, hostile_files, tmp_path, capsys):
    texts = tmp_path / "t.csv"
    pd.DataFrame({"t": ["a photo", "a drawing"]}).to_csv(texts, index=False)
    out = tmp_path / "e.parquet"
    result = run(["embed", "texts", "--model", "ViT-B-32", "--weights", hostile_files[kind], "--in", texts,
                  "--column", "t", "--out", out, "--no-cache", "--quiet"], capsys)
    assert_clean_error(result, "cannot build ViT-B-32", str(hostile_files[kind]))
    assert not out.exists()


@pytest.mark.parametrize("kind", ["pickle", "garbage"])
def test_unloadable_aesthetic_head_is_refused(kind, hostile_files, tmp_path):
    from steerstats.embed.aesthetic import AestheticFirstLayer
    from steerstats.errors import ConfigError

    with pytest.raises(ConfigError, match="cannot load aesthetic head weights"):
        AestheticFirstLayer.from_file(hostile_files[kind])


@pytest.mark.parametrize("kind", ["pickle", "garbage", "object_npy"])
def test_unloadable_budget_embeddings_are_refused(kind, hostile_files, tmp_path, capsys):
    table = tmp_path / "feedback.csv"
    pd.DataFrame({"example_id": range(8), "group_id": [0, 0, 1, 1, 2, 2, 3, 3], "aggregate": [0, 1] * 4,
                  "blurry": [0.0, 1.0] * 4}).to_csv(table, index=False)
    config = _toml(tmp_path / "c.toml", {
        "budget": {"sizes": [2], "n_boot": 10},
        "data": {"source": str(table), "embeddings": str(hostile_files[kind]), "test_fraction": 0.5},
        "arm": [{"name": "coarse", "kind": "coarse"}],
    })
    result = run(["budget", "--config", config, "--out", tmp_path / "out", "--quiet"], capsys)
    assert_clean_error(result, str(hostile_files[kind]), "not a numeric .npy")


def test_short_last_row_of_a_goal_table_is_an_error(tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text("model,source_text,goal_text_length,output_text\na,The cat sat.,0.8,The big cat.\nb,A dog\n")
    assert_clean_error(run(_score(table, tmp_path / "o"), capsys), "row 2", "fields")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("content", "needle"), [("t\n", "no rows"), ("t\nhello\n   \n", "row 2")])
def test_embed_texts_refuses_empty_tables_and_strings(content, needle, tmp_path, capsys):
    table = tmp_path / "t.csv"
    table.write_text(content)
    result = run(["embed", "texts", "--model", "ViT-B-32", "--random-init", "--in", table, "--column", "t",
                  "--out", tmp_path / "e.parquet", "--no-cache", "--quiet"], capsys)
    assert_clean_error(result, needle)


# kills -------------------------------------------------------------------------------------------
def test_sigkill_mid_report_then_a_clean_rerun(tmp_path):
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "steerstats", "report", "--out", str(out), "--n-boot", "50", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 240
        partial = []
        while time.monotonic() < deadline and proc.poll() is None:
            partial = [p for p in tmp_path.glob(".report.*.sstmp") if (p / "tables").is_dir() and any((p / "tables").iterdir())]
            if partial:
                break
            time.sleep(0.05)
        assert partial, "the report finished or never started writing before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not out.exists() and partial[0].exists()  # killed: a marked partial, no output
    done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert (out / "report.md").is_file() and leftovers(tmp_path) == []


def test_stale_partial_of_a_live_writer_is_kept(tmp_path):
    from steerstats._io import PARTIAL_MARKER, remove_stale_partials

    live = tmp_path / ".out.abcd1234.sstmp"
    live.mkdir()
    (live / PARTIAL_MARKER).write_text(f"{os.getppid()}\n")  # a process that is alive
    dead = tmp_path / ".out.ffff0000.sstmp"
    dead.mkdir()
    (dead / PARTIAL_MARKER).write_text("999999999\n")
    foreign = tmp_path / ".out.user.sstmp"
    foreign.mkdir()  # no marker: not ours
    removed = remove_stale_partials(tmp_path, "out")
    assert removed == [dead] and live.exists() and foreign.exists()
    shutil.rmtree(live)


def test_sigterm_mid_report_removes_the_partial_output(tmp_path):
    out = tmp_path / "report"
    cmd = [sys.executable, "-m", "steerstats", "report", "--out", str(out), "--n-boot", "50", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None and not list(tmp_path.glob(".report.*.sstmp")):
            time.sleep(0.05)
        assert proc.poll() is None, "the report finished before it could be terminated"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "terminated" in err and "Traceback" not in err
    assert not out.exists() and leftovers(tmp_path) == []


def test_config_keys_and_effective_config(tmp_path, capsys):
    for kind in ("budget", "rejection", "steer", "preferences"):
        rc, out, _ = run(["config", "keys", kind], capsys)
        assert rc == 0 and "default" in out
    rc, out, _ = run(["config", "keys", "budget"], capsys)
    assert "budget.n_boot (int; default 500; >= 2" in out and "model.epochs" in out
    rc, out, err = run(["config", "show", ANALYSES / BUDGET], capsys)
    shown = tomllib.loads(out)
    assert rc == 0, err
    assert shown["budget"]["sizes"] == [100, 200, 500, 1000, 2000] and shown["data"]["test_fraction"] == 0.5
    assert shown["budget"]["cost"] == "count"  # a default spelled out
    rc, out, _ = run(["config", "show", "steer"], capsys)
    assert tomllib.loads(out)["train"]["episodes"] == 60000
    bad = _toml(tmp_path / "c.toml", {"seed": 1, "suggestion": 3})
    assert_clean_error(run(["config", "show", bad, "--kind", "steer"], capsys), "suggestion", "did you mean 'suggestions'")


def test_every_shipped_config_shows_as_its_own_kind(capsys):
    from steerstats.config import shipped_configs

    for name in shipped_configs():
        rc, out, err = run(["config", "show", name], capsys)
        assert rc == 0, (name, err)
        assert out.startswith(f"# effective {name.split('_')[0]} config of {name}"), (name, out[:80])
        assert tomllib.loads(out)


def test_shipped_configs_by_name(capsys, monkeypatch, tmp_path):
    from steerstats.budget import load_config
    from steerstats.config import resolve_config, shipped_configs

    shipped = shipped_configs()
    assert {p.name for p in ANALYSES.glob("*.toml")} == {p.name for p in shipped.values()}
    assert resolve_config("experiment2") == resolve_config("budget_experiment2") == shipped["budget_experiment2"]
    by_name, by_file = load_config("experiment1"), load_config(ANALYSES / "budget_experiment1.toml")
    assert by_name.source_file == str(shipped["budget_experiment1"])  # the manifest names the real file
    assert (by_name.arms, by_name.sizes, by_name.data) == (by_file.arms, by_file.sizes, by_file.data)
    rc, out, _ = run(["config", "list"], capsys)
    assert rc == 0 and all(name in out for name in shipped)
    rc, by_name, _ = run(["config", "show", "experiment2"], capsys)
    rc2, by_file, _ = run(["config", "show", ANALYSES / BUDGET], capsys)
    assert rc == rc2 == 0 and tomllib.loads(by_name) == tomllib.loads(by_file)
    assert_clean_error(run(["config", "show", "synthetic"], capsys), "ambiguous", "rejection_synthetic, steer_synthetic")
    assert_clean_error(run(["config", "show", "nosuch"], capsys), "no such config file", "budget_experiment2")
    # a file of that name in the working directory wins over the shipped one
    monkeypatch.chdir(tmp_path)
    (tmp_path / "experiment2").write_text("[budget]\nsizes = [10]\n")
    assert resolve_config("experiment2") == Path("experiment2")
