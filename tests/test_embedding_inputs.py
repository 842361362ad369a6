"""Keyed embedding tables as predictor / decomposition inputs: `embed` output read directly."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from run_layout import assert_run_layout

from steerstats.cli import main
from steerstats.data.embedding_table import EMBED_METADATA_KEY, read_embedding_table
from steerstats.decompose.study import load_analysis_study
from steerstats.embed.testing import tiny_clip_config
from steerstats.errors import InputError
from steerstats.features import FeatureBuilder

pytestmark = pytest.mark.filterwarnings("ignore::steerstats.embed._compat.TorchvisionOpsUnavailableWarning")


def _embed_like(path, ids, vectors, status, id_column="goal_image"):
    """A parquet in embed's layout (fixed-size list column, status, metadata naming the id column)."""
    d = vectors.shape[1]
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1).astype(np.float32)), d,
                                               mask=pa.array([s != "ok" for s in status]))
    table = pa.table({id_column: pa.array(ids), "embedding": column, "status": pa.array(status)})
    table = table.replace_schema_metadata({EMBED_METADATA_KEY: json.dumps({"id_column": id_column}).encode()})
    pq.write_table(table, path)


def test_embed_layout_wide_and_csv_lists_read_the_same(tmp_path):
    v = np.arange(12, dtype=np.float32).reshape(4, 3) / 7
    ids = ["g1", "g2", "g3", "g4"]
    _embed_like(tmp_path / "e.parquet", ids, v, ["ok"] * 4)
    pd.DataFrame({"goal_image": ids, **{f"x{j}": v[:, j] for j in range(3)}}).to_csv(tmp_path / "w.csv", index=False)
    pd.DataFrame({"goal_image": ids, "embedding": [json.dumps(r.tolist()) for r in v]}).to_csv(tmp_path / "l.csv", index=False)
    tables = [read_embedding_table(tmp_path / f, "goal_image") for f in ("e.parquet", "w.csv", "l.csv")]
    for t in tables:
        assert t.dim == 3
        np.testing.assert_allclose(t.lookup(["g3", "g1"]), v[[2, 0]], rtol=1e-6)


def test_unreadable_rows_are_left_out_with_a_warning_and_named_when_asked_for(tmp_path):
    v = np.ones((3, 2), np.float32)
    _embed_like(tmp_path / "e.parquet", ["a", "b", "c"], v, ["ok", "unreadable", "ok"])
    with pytest.warns(UserWarning, match="1 of 3 rows have status other than 'ok'"):
        t = read_embedding_table(tmp_path / "e.parquet", "goal_image")
    assert list(t.keys) == ["a", "c"]
    with pytest.raises(InputError, match=r"no embedding for goal_image 'b': its status is not 'ok'"):
        t.lookup(["a", "b"])
    with pytest.raises(InputError, match="'z': it is not in the table"):
        t.lookup(["z"])


def test_the_embed_id_column_serves_when_the_key_column_is_absent(tmp_path):
    _embed_like(tmp_path / "e.parquet", ["a", "b"], np.eye(2, dtype=np.float32), ["ok", "ok"], id_column="goal_url")
    t = read_embedding_table(tmp_path / "e.parquet", "goal_image")
    assert t.key_column == "goal_url" and list(t.keys) == ["a", "b"]


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"id": ["a"], "x": [1.0]}), r"needs a 'goal_image' column"),
        (pd.DataFrame({"goal_image": ["a", "a"], "x": [1.0, 2.0]}), r"row 2, column 'goal_image': 'a' listed twice"),
        (pd.DataFrame({"goal_image": ["a", "b"], "x": ["1", "one"]}), r"row 2, column 'x': embedding columns must be numeric.*'one'"),
        (pd.DataFrame({"goal_image": ["a", "b"], "x": [1.0, np.nan]}), r"row 2, column 'x': missing or infinite"),
        (pd.DataFrame({"goal_image": ["a", "b"], "embedding": [[1.0, 2.0], [1.0]]}), r"row 2, column 'embedding': vector of length 1"),
        (pd.DataFrame({"goal_image": ["a"]}), r"no embedding columns"),
        (pd.DataFrame({"goal_image": ["a"], "x": [1.0], "status": ["unreadable"]}), r"no usable embeddings"),
    ],
)
def test_bad_tables_name_file_row_and_column(frame, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(InputError, match=message):
            read_embedding_table(frame, "goal_image")


def test_prompt_table_replaces_the_text_embedder():
    frame = pd.DataFrame({"model": ["m1", "m2", "m1"], "prompt": ["p a", "p b", "p a"],
                          "goal_image": ["g1", "g2", "g3"], "reference_prompt": ["r"] * 3})
    prompts = pd.DataFrame({"prompt": ["p a", "p b"], "e0": [1.0, 3.0]})
    design = FeatureBuilder(("model", "prompt"), None, prompt_embeddings=prompts).fit_transform(frame)
    raw = np.array([1.0, 3.0, 1.0])  # e0 of each row's prompt, centred and scaled by its training SD
    np.testing.assert_allclose(design.features[:, 0], (raw - raw.mean()) / raw.std(), rtol=1e-12)


def _goal_images(study, root):
    """One PNG per goal whose colour blocks encode the goal's simulated features x_g (so even a
    random-init image tower sees them through a random nonlinear map of the pixels)."""
    feats = study.truth.goal_embeddings
    x = feats.drop(columns="goal_image").to_numpy()
    z = (x - x.min(0)) / (np.ptp(x, 0) + 1e-12)
    rows = []
    for i, goal in enumerate(feats["goal_image"]):
        tiles = np.repeat(np.repeat((z[i] * 255).astype(np.uint8).reshape(1, -1), 8, 0), 32 // z.shape[1] + 1, 1)[:, :32]
        img = np.stack([np.tile(tiles, (4, 1)), np.tile(tiles[:, ::-1], (4, 1)), np.full((32, 32), 128, np.uint8)], -1)
        Image.fromarray(img).save(root / f"goal{i}.png")
        rows.append({"goal_image": goal, "path": f"goal{i}.png"})
    pd.DataFrame(rows).to_csv(root / "goals.csv", index=False)


@pytest.mark.slow
def test_embed_then_predict_and_decompose_end_to_end(tmp_path, capsys):
    study = load_analysis_study("synthetic", None, 0)
    _goal_images(study, tmp_path)
    (tmp_path / "tiny.json").write_text(json.dumps(tiny_clip_config()))
    assert main(["embed", "images", "--model", "tiny-walk", "--model-config", str(tmp_path / "tiny.json"),
                 "--random-init", "--in", str(tmp_path / "goals.csv"), "--column", "path", "--id-column",
                 "goal_image", "--out", str(tmp_path / "goals.parquet"), "--no-cache", "--device", "cpu",
                 "--quiet"]) == 0
    out = tmp_path / "pred"
    assert main(["predict", "--dataset", "synthetic", "--goal-embeddings", str(tmp_path / "goals.parquet"),
                 "--n-boot", "50", "--quiet", "--out", str(out)]) == 0
    assert_run_layout(out, "predict")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["config"]["goal_embeddings"] == str(tmp_path / "goals.parquet")
    assert any(i["path"].endswith("goals.parquet") for i in manifest["inputs"])
    table = pd.read_csv(out / "tables" / "steerability_predictors.csv")
    full = table[table["predictor"] == "model+prompt+goal"]
    assert len(full) == 1 and np.isfinite(full["r2"]).all()
    dec = tmp_path / "dec"
    assert main(["decompose", "--dataset", "synthetic", "--goal-embeddings", str(tmp_path / "goals.parquet"),
                 "--n-boot", "20", "--jobs", "1", "--quiet", "--out", str(dec)]) == 0
    assert_run_layout(dec, "decompose")


def test_a_goal_without_an_image_embedding_is_a_one_line_error(tmp_path, capsys):
    study = load_analysis_study("synthetic", None, 0)
    goals = study.truth.goal_embeddings["goal_image"].tolist()
    ids = [*goals[:-1], "elsewhere"]
    _embed_like(tmp_path / "g.parquet", ids, np.ones((len(ids), 4), np.float32), ["ok"] * len(ids))
    code = main(["predict", "--dataset", "synthetic", "--goal-embeddings", str(tmp_path / "g.parquet"),
                 "--n-boot", "20", "--quiet", "--out", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "no embedding for goal_image" in err and "g.parquet" in err
    assert "Traceback" not in err and not (tmp_path / "x").exists()
