"""Loaders on the released files: row counts, dtypes, the known quirks as warnings, tidy traces."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from steerstats.data import (
    CONDITIONS,
    load_card,
    load_image_steering,
    load_steering,
    load_study,
    resolve_data_dir,
)
from steerstats.errors import DataNotFoundError


@pytest.fixture(scope="module")
def study(vafa2025_dir):
    return load_study("vafa2025", vafa2025_dir)


def test_every_card_file_loads_with_the_cards_row_count(study, vafa2025_dir):
    card = load_card("vafa2025")
    on_disk = {p.relative_to(vafa2025_dir).as_posix() for p in vafa2025_dir.rglob("*.csv")}
    assert {f.path for f in card.files} == on_disk
    rows = {f.path: f.rows for f in study.files}
    assert rows == {f.path: f.rows for f in card.files}
    assert {f.path: f.sha256 for f in study.files} == {f.path: f.sha256 for f in card.files}


def test_frames_and_row_counts(study):
    assert len(study.steering) == 2770
    assert len(study.sat_ratings) == 2575
    assert len(study.improvement) == 3390
    assert (len(study.pom1), len(study.pom5)) == (1170, 1590)
    assert {k: len(v) for k, v in study.blind_steering.items()} == {4: 400, 7: 700, 10: 1000, 20: 2000}
    assert {k: len(v) for k, v in study.seed_constraint.items()} == {1: 290, 2: 305, 3: 300}
    assert len(study.choosing_seed) == 290
    assert len(study.bookshelf) == 150
    assert (len(study.llm_steering), len(study.llm_sat_ratings), len(study.llm_improvement)) == (550, 980, 1050)
    # (50 + 33 + 116) users x 2 tasks x 4 rounds
    assert len(study.image_steering) == (50 + 33 + 116) * 2 * 4


def test_dtypes_follow_the_card(study):
    s = study.steering
    assert list(s.columns) == [
        "dreamsim", "goal_image", "steering_user_id", "reference_prompt", "model", "attempt",
        "generated_image", "prompt", "duplicate", "clip_similarity",
    ]
    assert s["dreamsim"].dtype == np.float64 and s["clip_similarity"].dtype == np.float64
    assert s["attempt"].dtype == np.int64 and s["duplicate"].dtype == bool
    assert pd.api.types.is_string_dtype(s["model"]) and pd.api.types.is_string_dtype(s["steering_user_id"])
    assert study.sat_ratings["rating"].dtype == np.int64
    assert study.improvement["last_chosen"].dtype == bool
    assert study.pom5["ref_chosen"].dtype == bool
    assert study.seed_constraint[1]["reference_seed"].max() == 4285812082  # > int32: kept exact
    assert study.steering["dreamsim"].between(-1, 1).all()
    assert set(study.sat_ratings["rating"]) == {1, 2, 3, 4}
    assert set(study.steering["model"]) == set(load_card("vafa2025").models["image"])


def test_known_quirks_are_warnings(study):
    text = [str(w) for w in study.warnings]
    dup = [t for t in text if t.startswith("image_generation/steering_2_seeds.csv") and "duplicate" in t]
    assert len(dup) == 1 and "67b96fcc070063aa261b5744" in dup[0]
    missing = [t for t in text if t.startswith("llm/steering_llms.csv") and "missing attempts" in t]
    assert len(missing) == 1 and "30 of 118" in missing[0]
    assert any(t.startswith("image_generation/bookshelf_steering.csv") and "dropped" in t for t in text)
    assert "" not in study.bookshelf.columns and "Unnamed: 0" not in study.bookshelf.columns
    quirks = [t for t in text if "text quirks" in t]
    assert {t.split(":")[0] for t in quirks} == {"llm/steering_llms.csv", "llm/sat_ratings.csv", "llm/improvement.csv"}
    # only the four known quirk kinds: no warnings on the clean files
    flagged = {w.file for w in study.warnings}
    assert "image_generation/steering.csv" not in flagged


def test_image_steering_is_tidy(study):
    t = study.image_steering
    assert set(t["condition"]) == set(CONDITIONS.values())
    assert t.groupby("condition")["steering_user_id"].nunique().to_dict() == {
        "random": 50, "learned": 33, "learned_tiles": 116,
    }
    assert set(t["round"]) == {1, 2, 3, 4} and set(t["task"]) == {0, 1}
    assert t["mixture_scale"].between(0, 1).all() and t["mixture_scale"].dtype == np.float64
    assert (t["selected_index"] < t["n_offered"]).all()
    assert (t["kept_current"] == (t["selected_index"] == 0)).all()
    row = t.iloc[0]
    offered = json.loads(row["images_offered"])
    assert len(offered) == row["n_offered"] and offered[row["selected_index"]] == row["selected_image_url"]
    # learned conditions start at mixture scale 0.8 (Thompson sampling's first round in the release)
    first = t[(t["condition"] != "random") & (t["round"] == 1)]["mixture_scale"]
    assert np.allclose(first, 0.8)
    # random condition: one scale per task, constant across rounds
    rand = t[t["condition"] == "random"].groupby(["steering_user_id", "task"])["mixture_scale"].nunique()
    assert (rand == 1).all()


def test_individual_loaders(vafa2025_dir):
    table = load_steering(vafa2025_dir / "image_generation" / "steering.csv")
    assert len(table.frame) == 2770 and table.warnings == ()
    assert table.file.path == "image_generation/steering.csv"
    tiles = load_image_steering(vafa2025_dir / "image_generation" / "img_steering_rl_tiles.csv", "learned_tiles")
    assert set(tiles.frame["condition"]) == {"learned_tiles"} and len(tiles.frame) == 116 * 8


def test_data_dir_resolution(vafa2025_dir, tmp_path, monkeypatch):
    monkeypatch.delenv("STEERSTATS_DATA", raising=False)
    assert resolve_data_dir("vafa2025", vafa2025_dir) == vafa2025_dir
    monkeypatch.setenv("STEERSTATS_DATA", str(vafa2025_dir))
    assert resolve_data_dir("vafa2025") == vafa2025_dir
    # an explicit directory wins over the environment, and is not silently replaced
    with pytest.raises(DataNotFoundError, match="steerstats data fetch vafa2025"):
        resolve_data_dir("vafa2025", tmp_path)
    monkeypatch.setenv("STEERSTATS_DATA", str(tmp_path))
    monkeypatch.setattr("platformdirs.user_cache_dir", lambda *a, **k: str(tmp_path / "cache"))
    with pytest.raises(DataNotFoundError) as err:
        resolve_data_dir("vafa2025")
    msg = str(err.value)
    assert "--data-dir" in msg and "STEERSTATS_DATA" in msg and "cache" in msg and "steerstats data fetch" in msg


def test_card_is_found_and_describes_every_column(study):
    card = load_card("vafa2025")
    assert card.licence == "MIT" and "SarahBentley/Steerability" in card.repository
    for spec in card.files:
        assert spec.url == card.base_url + spec.remote_path
        assert spec.remote_path.startswith(("image_generation/data/", "LLMs/data/"))
        assert all(c.description for c in spec.columns)
    assert list(study.steering.columns) == [c.name for c in card.file("steering").columns]


def test_partial_study_loads_the_files_present(tmp_path, vafa2025_dir):
    from steerstats.data import load_study
    from steerstats.errors import DataNotFoundError

    (tmp_path / "image_generation").mkdir()
    steering = pd.read_csv(vafa2025_dir / "image_generation" / "steering.csv", dtype=str, keep_default_na=False)
    steering.iloc[:50].to_csv(tmp_path / "image_generation" / "steering.csv", index=False)  # not the release
    with pytest.raises(DataNotFoundError, match="--partial"):
        load_study("vafa2025", tmp_path)
    study = load_study("vafa2025", tmp_path, partial=True)
    assert len(study.steering) == 50 and study.sat_ratings is None and study.blind_steering == {}
    assert any("partial study: 19 file(s) absent" in str(w) for w in study.warnings)
    (tmp_path / "image_generation" / "steering.csv").unlink()
    (tmp_path / "image_generation" / "pom1.csv").write_text("x\n")
    with pytest.raises(DataNotFoundError, match=r"not found in --data-dir.*image_generation/steering.csv"):
        load_study("vafa2025", tmp_path, partial=True)
