"""`steerstats embed` end to end: outputs, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from steerstats.cli import main
from steerstats.embed import read_embeddings
from steerstats.embed.testing import tiny_clip_config

pytestmark = pytest.mark.filterwarnings(
    "ignore::steerstats.embed._compat.TorchvisionOpsUnavailableWarning"
)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(3)
    paths = []
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (36, 44, 3), dtype=np.uint8)).save(root / f"p{i}.jpg")
        paths.append(f"p{i}.jpg")
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    paths.append("broken.jpg")
    pd.DataFrame(
        {"uid": range(100, 107), "file": paths, "prompt": [f"prompt {i}" for i in range(7)]}
    ).to_csv(root / "items.csv", index=False)
    (root / "tiny.json").write_text(json.dumps(tiny_clip_config()))
    return root


def _args(workdir: Path, kind: str, column: str, out: str, *extra: str) -> list[str]:
    return [
        "embed", kind, "--model", "tiny-cli", "--model-config", str(workdir / "tiny.json"),
        "--random-init", "--in", str(workdir / "items.csv"), "--column", column,
        "--id-column", "uid", "--out", str(workdir / out), "--cache-dir", str(workdir / "cache"),
        "--batch-size", "3", "--device", "cpu", "--quiet", *extra,
    ]


def test_images_end_to_end_and_rerun_from_cache(workdir, capsys):
    assert main(_args(workdir, "images", "file", "img.parquet")) == 0
    out = capsys.readouterr()
    assert "6/7 embedded (0 from cache, 6 computed)" in out.out
    assert "1 unreadable images listed in" in out.err
    frame, vectors, meta = read_embeddings(workdir / "img.parquet")
    assert frame["uid"].tolist() == [str(i) for i in range(100, 107)]  # CSV ids are kept as text
    assert frame["status"].tolist() == ["ok"] * 6 + ["unreadable"]
    np.testing.assert_allclose(np.linalg.norm(vectors[:6], axis=1), 1.0, atol=1e-5)
    assert meta["model"] == "tiny-cli" and meta["weights"].startswith("random-init:sha256:")
    report = pd.read_csv(workdir / "img.unreadable.csv")
    assert report["uid"].tolist() == [106] and report["source"].tolist() == ["broken.jpg"]

    assert main(_args(workdir, "images", "file", "img2.parquet")) == 0
    assert "6/7 embedded (6 from cache, 0 computed)" in capsys.readouterr().out
    _, again, _ = read_embeddings(workdir / "img2.parquet")
    np.testing.assert_array_equal(again[:6], vectors[:6])


def test_texts_no_normalize(workdir, capsys):
    assert main(_args(workdir, "texts", "prompt", "txt.parquet", "--no-normalize", "--no-cache")) == 0
    assert "7/7 embedded (0 from cache, 7 computed)" in capsys.readouterr().out
    _, vectors, meta = read_embeddings(workdir / "txt.parquet")
    assert meta["normalized"] is False and vectors.shape == (7, 16)
    assert not np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
    assert not (workdir / "txt.unreadable.csv").exists()


@pytest.mark.parametrize(
    ("extra", "column", "message"),
    [
        ((), "nope", "column 'nope': no such column"),
        (("--batch-size", "0"), "file", "batch size must be >= 1"),
        (("--weights", "x.pt"), "file", "--weights and --random-init exclude each other"),
    ],
)
def test_bad_input_exits_2_with_one_line(workdir, capsys, extra, column, message):
    out_name = "bad.parquet"
    assert main(_args(workdir, "images", column, out_name, *extra)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("steerstats: error:") and message in err[-1]
    assert not (workdir / out_name).exists()


@pytest.mark.slow  # a fresh Python process (imports torch and open_clip)
def test_offline_hub_tag_exit_code_in_a_fresh_process(workdir, tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf"),
           "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    proc = subprocess.run(
        [sys.executable, "-m", "steerstats", "embed", "texts", "--model", "ViT-B-32",
         "--weights", "laion2b_s34b_b79k", "--in", str(workdir / "items.csv"),
         "--column", "prompt", "--out", str(tmp_path / "o.parquet"), "--quiet"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert "offline mode (HF_HUB_OFFLINE)" in last and "not in the local cache" in last
    assert not (tmp_path / "o.parquet").exists()
