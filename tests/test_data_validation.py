"""Bad inputs: each loader-relevant defect gives an InputError naming file, row and column,
and through the CLI exit code 2 with one line on stderr and no traceback."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

from steerstats.cli import main
from steerstats.data import load_card, load_file, load_study, schema_only
from steerstats.errors import InputError

RELEASE_CARD = load_card("vafa2025")
CARD = schema_only(RELEASE_CARD)  # samples of the release: the schema alone (no sha256 / row count)
KEYS = [f.key for f in CARD.files]
N = 12  # records per sample file


def _sample(vafa2025_dir: Path, key: str) -> tuple[list[str], list[list[str]]]:
    text = (vafa2025_dir / CARD.file(key).path).read_text(encoding="utf-8")
    recs = list(csv.reader(io.StringIO(text, newline="")))
    return recs[0], [list(r) for r in recs[1 : N + 1]]


def _csv(header: list[str] | None, records: list[list[str]]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\n")
    if header is not None:
        w.writerow(header)
    w.writerows(records)
    return buf.getvalue()


def _first(key: str, pred) -> str | None:
    for col in CARD.file(key).columns:
        if not col.drop and pred(col):
            return col.name
    return None


def _load(path: Path, key: str) -> None:
    load_file(path, key, CARD)


def _expect(path: Path, key: str, row: int | None, column: str | None, match: str) -> InputError:
    with pytest.raises(InputError, match=match) as err:
        _load(path, key)
    e = err.value
    assert e.file == str(path)
    assert e.row == row
    assert e.column == column
    text = str(e)
    assert "\n" not in text and str(path) in text
    if row is not None:
        assert f"row {row}" in text
    if column is not None:
        assert f"column '{column}'" in text
    return e


@pytest.mark.parametrize("key", KEYS)
def test_sample_of_each_file_is_valid(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    path = tmp_path / "f.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _load(path, key)  # the control: the defects below are what make the others fail


@pytest.mark.parametrize("key", KEYS)
def test_missing_column(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    col = _first(key, lambda c: True)
    j = header.index(col)
    path = tmp_path / "f.csv"
    path.write_text(_csv(header[:j] + header[j + 1 :], [r[:j] + r[j + 1 :] for r in recs]), encoding="utf-8")
    _expect(path, key, None, col, "missing required column")


@pytest.mark.parametrize("key", KEYS)
def test_wrong_dtype(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    col = _first(key, lambda c: c.dtype in ("int", "float", "bool", "literal"))
    recs[6][header.index(col)] = "not-a-value ((("
    path = tmp_path / "f.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, key, 7, col, "expected|literal")


@pytest.mark.parametrize("key", KEYS)
def test_empty_file(tmp_path, key):
    path = tmp_path / "f.csv"
    path.write_bytes(b"")
    _expect(path, key, None, None, "file is empty")


@pytest.mark.parametrize("key", KEYS)
def test_header_only(vafa2025_dir, tmp_path, key):
    header, _ = _sample(vafa2025_dir, key)
    path = tmp_path / "f.csv"
    path.write_text(_csv(header, []), encoding="utf-8")
    _expect(path, key, None, None, "no data rows")


@pytest.mark.parametrize("key", KEYS)
def test_truncated_last_line_missing_fields(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    cut = len(header) - 1
    text = _csv(header, recs[:-1]) + _csv(None, [recs[-1][:cut]]).strip("\n")
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    _expect(path, key, len(recs), header[cut - 1], "truncated")


@pytest.mark.parametrize("key", KEYS)
def test_truncated_last_line_inside_quotes(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    col = _first(key, lambda c: c.dtype in ("string", "literal"))
    j = header.index(col)
    head = _csv(None, [recs[-1][:j]]).rstrip("\n")
    text = _csv(header, recs[:-1]) + head + ("," if j else "") + '"cut off mid-fi'
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    _expect(path, key, len(recs), col, "truncated")


@pytest.mark.parametrize("key", KEYS)
def test_non_utf8_bytes(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    col = _first(key, lambda c: c.dtype == "string")
    recs[4][header.index(col)] = "before MARK after"
    path = tmp_path / "f.csv"
    path.write_bytes(_csv(header, recs).encode("utf-8").replace(b"MARK", b"\xff\xfe"))
    _expect(path, key, 5, col, "invalid UTF-8")


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("missing", ["", "nan"])
def test_nan_in_required_column(vafa2025_dir, tmp_path, key, missing):
    header, recs = _sample(vafa2025_dir, key)
    col = _first(key, lambda c: c.dtype != "string" if missing else True)
    recs[2][header.index(col)] = missing
    path = tmp_path / "f.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, key, 3, col, "missing value|expected|literal")


@pytest.mark.parametrize("key", [k for k in KEYS if _first(k, lambda c: c.models is not None)])
def test_unknown_model(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    recs[3][header.index("model")] = "gpt-5-image"
    path = tmp_path / "f.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, key, 4, "model", "unknown model name 'gpt-5-image'")


@pytest.mark.parametrize("key", [k for k in KEYS if _first(k, lambda c: c.min is not None or c.max is not None)])
def test_out_of_range(vafa2025_dir, tmp_path, key):
    header, recs = _sample(vafa2025_dir, key)
    col = _first(key, lambda c: c.max is not None) or _first(key, lambda c: c.min is not None)
    spec = CARD.file(key).column(col)
    bad = spec.max + 1 if spec.max is not None else spec.min - 1
    recs[8][header.index(col)] = str(int(bad) if spec.dtype == "int" else float(bad))
    path = tmp_path / "f.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, key, 9, col, "outside the allowed range")


@pytest.mark.parametrize(
    ("column", "value"),
    [("dreamsim", "1.01"), ("clip_similarity", "-1.5"), ("attempt", "6"), ("attempt", "0")],
)
def test_named_ranges_steering(vafa2025_dir, tmp_path, column, value):
    header, recs = _sample(vafa2025_dir, "steering")
    recs[1][header.index(column)] = value
    path = tmp_path / "steering.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, "steering", 2, column, "outside the allowed range")


@pytest.mark.parametrize("value", ["0", "5"])
def test_rating_range(vafa2025_dir, tmp_path, value):
    header, recs = _sample(vafa2025_dir, "sat_ratings")
    recs[0][header.index("rating")] = value
    path = tmp_path / "r.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, "sat_ratings", 1, "rating", r"outside the allowed range \[1, 4\]")


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        ("'mixture_scale': ", "'mixture_scale': 1.5 or ", "not a valid Python literal"),
        ("'selected_index': 0", "'selected_index': 7", "selected_index"),
        ("'mixture_scale': ", "'mixture_scale_x': ", "lacks key 'mixture_scale'"),
        ("'mixture_scale': ", "'mixture_scale': 1.5, 'was': ", r"'mixture_scale' must be a number in \[0, 1\]"),
        ("'iteration': 2", "'iteration': 3", "iterations"),
        ("'rounds': [", "'rounds': [__import__('os'), ", "not a valid Python literal"),
    ],
)
def test_image_steering_literal_errors(vafa2025_dir, tmp_path, old, new, match):
    header, recs = _sample(vafa2025_dir, "image_steering_random")
    j = header.index("all_attempts")
    assert old in recs[5][j]
    recs[5][j] = recs[5][j].replace(old, new, 1)
    path = tmp_path / "img_steering.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, "image_steering_random", 6, "all_attempts", match)


def _corrupted_dir(vafa2025_dir: Path, tmp_path: Path, key: str, text: str) -> Path:
    root = tmp_path / "data"
    for spec in CARD.files:
        target = root / spec.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if spec.key == key:
            target.write_text(text, encoding="utf-8")
        else:
            os.symlink(vafa2025_dir / spec.path, target)
    return root


@pytest.mark.parametrize(
    ("key", "column", "value", "match"),
    [
        ("steering", "model", "gpt-5-image", "unknown model name"),
        ("sat_ratings", "rating", "5", "outside the allowed range"),
        ("llm_steering", "attempt", "", "missing value"),
    ],
)
def test_cli_validate_exit_2_one_line(vafa2025_dir, tmp_path, capsys, key, column, value, match):
    header, recs = _sample(vafa2025_dir, key)
    recs[3][header.index(column)] = value
    root = _corrupted_dir(vafa2025_dir, tmp_path, key, _csv(header, recs))
    rc = main(["data", "validate", "--dataset", "vafa2025", "--data-dir", str(root)])
    out = capsys.readouterr()
    assert rc == 2
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.err
    assert CARD.file(key).path in lines[0] and "row 4" in lines[0] and f"column '{column}'" in lines[0]
    assert match in lines[0]
    assert out.out == ""  # nothing printed before the error: no partial output


def test_cli_validate_ok_lists_warnings(vafa2025_dir, capsys):
    rc = main(["data", "validate", "--dataset", "vafa2025", "--data-dir", str(vafa2025_dir)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "6 warning(s)" in out and "steering_2_seeds.csv" in out
    assert out.count("warning: ") == len(load_study("vafa2025", vafa2025_dir).warnings)


def test_cross_file_checks(vafa2025_dir):
    from steerstats.data.crosscheck import cross_check

    study = load_study("vafa2025", vafa2025_dir)
    frames = {"steering": study.steering, "blind_steering": study.blind_steering}
    assert cross_check({**frames, "improvement": study.improvement}) == []
    bad = study.improvement.copy()
    bad.loc[3, "first_attempt"] = bad.loc[3, "last_attempt"]
    bad.loc[5, "steering_user_id"] = "nobody"
    warns = cross_check({**frames, "improvement": bad})
    assert [w.rows for w in warns] == [(6,), (4,)]
    assert "no (steering_user_id, goal_image) sequence" in warns[0].message
    assert "not attempt 1" in warns[1].message


def test_validate_study_in_memory(vafa2025_dir):
    import dataclasses

    from steerstats.data import simulate_study, validate_study

    released = load_study("vafa2025", vafa2025_dir)
    warns = validate_study(released)
    assert any("duplicate" in w.message for w in warns)  # steering_2_seeds, as at load
    sim = simulate_study(seed=0)
    bad = sim.steering.copy()
    bad.loc[10, "dreamsim"] = 1.5
    with pytest.raises(InputError) as err:
        validate_study(dataclasses.replace(sim, steering=bad))
    assert (err.value.file, err.value.row, err.value.column) == ("synthetic/steering", 11, "dreamsim")
    assert "value 1.5 outside the allowed range [-1, 1]" in str(err.value)


def test_cli_validate_synthetic(capsys):
    assert main(["data", "validate", "--dataset", "synthetic", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("synthetic: valid") and "steering               2770 rows" in out


def test_edited_file_warns_about_its_hash_and_extra_columns(vafa2025_dir, tmp_path):
    text = (vafa2025_dir / RELEASE_CARD.file("steering").path).read_text(encoding="utf-8")
    recs = list(csv.reader(io.StringIO(text, newline="")))
    path = tmp_path / "steering.csv"
    path.write_bytes(b"\xef\xbb\xbf" + _csv([*recs[0], "notes"], [[*r, "x"] for r in recs[1:]]).encode())
    table = load_file(path, "steering", RELEASE_CARD)  # all 2770 records, one extra column
    assert len(table.frame) == 2770 and table.frame.columns[-1] == "notes"  # BOM stripped, kept
    messages = [w.message for w in table.warnings]
    assert any("'notes' is not in the card" in m for m in messages)
    assert any("sha256 differs from the released file's" in m and "(2770 = 2770)" in m for m in messages)


def test_sample_of_the_release_against_its_card_is_a_row_count_error(vafa2025_dir, tmp_path):
    header, recs = _sample(vafa2025_dir, "steering")
    path = tmp_path / "steering.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    with pytest.raises(InputError, match=f"{N} data records where the released file has 2770"):
        load_file(path, "steering", RELEASE_CARD)


def test_duplicate_header_column(vafa2025_dir, tmp_path):
    header, recs = _sample(vafa2025_dir, "pom1")
    path = tmp_path / "pom1.csv"
    path.write_text(_csv([*header, "model"], [[*r, r[1]] for r in recs]), encoding="utf-8")
    _expect(path, "pom1", None, "model", "appears twice")


@pytest.mark.parametrize(
    ("value", "match"),
    [("2.5", "expected an integer, found '2.5'"), ("1e400", "expected an integer"),
     ("99999999999999999999", "integer|int64")],
)
def test_integer_column_rejects_non_integers(vafa2025_dir, tmp_path, value, match):
    header, recs = _sample(vafa2025_dir, "choosing_seed")
    recs[0][header.index("seed")] = value
    path = tmp_path / "choosing_seed.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    _expect(path, "choosing_seed", 1, "seed", match)


def test_integral_floats_are_integers(vafa2025_dir, tmp_path):
    header, recs = _sample(vafa2025_dir, "steering")
    recs[0][header.index("attempt")] = "1.0"
    path = tmp_path / "steering.csv"
    path.write_text(_csv(header, recs), encoding="utf-8")
    frame = load_file(path, "steering", CARD).frame
    assert frame["attempt"].dtype == "int64" and frame["attempt"].iloc[0] == 1
