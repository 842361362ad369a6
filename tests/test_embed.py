"""The embedding extractor on a tiny random-init open_clip model (no download)."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from steerstats.embed import (
    AestheticFirstLayer,
    ClipEmbedder,
    VectorCache,
    embed_table,
    import_open_clip,
    l2_normalize,
    read_embeddings,
    resolve_device,
    resolve_precision,
)
from steerstats.embed.table import report_path
from steerstats.embed.testing import TINY_MODEL, tiny_clip_config, tiny_embedder
from steerstats.errors import ConfigError, InputError

pytestmark = pytest.mark.filterwarnings(
    "ignore::steerstats.embed._compat.TorchvisionOpsUnavailableWarning"
)
N_IMAGES = 10


@pytest.fixture(scope="module")
def embedder() -> ClipEmbedder:
    return tiny_embedder(seed=0, batch_size=4)


@pytest.fixture(scope="module")
def image_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    for i in range(N_IMAGES):
        h, w = rng.integers(20, 60, size=2)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(root / f"im{i}.png")
    (root / "bad.png").write_bytes(b"this is not an image")
    Image.fromarray(rng.integers(0, 256, (30, 30, 3), dtype=np.uint8)).save(root / "full.png")
    (root / "truncated.png").write_bytes((root / "full.png").read_bytes()[:60])
    return root


def _paths(root: Path) -> list[str]:
    return [str(root / f"im{i}.png") for i in range(N_IMAGES)]


# -- determinism and batching -------------------------------------------------------------
def test_same_input_same_embedding(embedder, image_dir):
    paths = _paths(image_dir)
    first = embedder.embed_images(paths)
    again = embedder.embed_images(paths)
    rebuilt = tiny_embedder(seed=0, batch_size=4)
    assert rebuilt.weights_identity == embedder.weights_identity
    np.testing.assert_array_equal(first, again)
    np.testing.assert_array_equal(first, rebuilt.embed_images(paths))
    other = tiny_embedder(seed=1, batch_size=4)
    assert other.weights_identity != embedder.weights_identity
    assert not np.allclose(first, other.embed_images(paths))


def test_batch_size_invariance(embedder, image_dir):
    paths = _paths(image_dir)
    texts = [f"a photo number {i}" for i in range(N_IMAGES)]
    ref_img = embedder.embed_images(paths)
    ref_txt = embedder.embed_texts(texts)
    for bs in (1, 3, N_IMAGES + 5):
        e = tiny_embedder(seed=0, batch_size=bs)
        np.testing.assert_allclose(e.embed_images(paths), ref_img, atol=1e-5)
        np.testing.assert_allclose(e.embed_texts(texts), ref_txt, atol=1e-5)


def test_normalisation_and_raw(embedder, image_dir):
    paths = _paths(image_dir)
    unit = embedder.embed_images(paths)
    raw = embedder.embed_images(paths, normalize=False)
    assert unit.shape == (N_IMAGES, embedder.dim) == raw.shape
    assert unit.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(unit, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(np.linalg.norm(raw, axis=1), 1.0)
    np.testing.assert_allclose(l2_normalize(raw), unit, atol=1e-6)


def test_pil_images_and_paths_agree(embedder, image_dir):
    paths = _paths(image_dir)[:3]
    pil = [Image.open(p).copy() for p in paths]
    np.testing.assert_allclose(embedder.embed_images(pil), embedder.embed_images(paths), atol=1e-6)


def test_images_match_open_clip_preprocess_and_forward(image_dir):
    """uint8 pixels from the loader, ToTensor + Normalize on the device: same as open_clip's own."""
    e = tiny_embedder(seed=0)
    images = [Image.open(p).convert("RGB") for p in _paths(image_dir)]
    with torch.inference_mode():
        pixels = torch.stack([e.loaded.preprocess(img) for img in images])
        direct = e.loaded.model.encode_image(pixels).numpy()
    assert e._pil_stage is not None  # the split path is the one under test
    np.testing.assert_allclose(e.embed_images(images, normalize=False), direct, atol=1e-6)
    e._pil_stage, e._normalize = None, None  # a preprocessing pipeline of another shape
    np.testing.assert_allclose(e.embed_images(images, normalize=False), direct, atol=1e-6)


def test_texts_match_direct_open_clip_forward(embedder):
    texts = ["a cat", "a dog on a skateboard", ""]
    tokens = embedder.loaded.tokenizer(texts)
    with torch.inference_mode():
        direct = embedder.loaded.model.encode_text(tokens).numpy()
    np.testing.assert_allclose(embedder.embed_texts(texts, normalize=False), direct, atol=1e-6)
    with pytest.raises(InputError, match="text 2"):
        embedder.embed_texts(["fine", 3])
    series = pd.Series(texts, index=[7, 2, 5])  # positions count, not labels
    np.testing.assert_array_equal(embedder.embed("text", series).vectors, embedder.embed_texts(texts))


def test_relative_paths_use_root(embedder, image_dir):
    rel = [f"im{i}.png" for i in range(3)]
    got = embedder.embed("image", rel, root=image_dir)
    assert got.ok.all()
    np.testing.assert_allclose(got.vectors, embedder.embed_images(_paths(image_dir)[:3]), atol=1e-6)


# -- unreadable images ---------------------------------------------------------------------
def test_unreadable_images_are_reported_not_dropped(embedder, image_dir):
    items = [*_paths(image_dir)[:5], str(image_dir / "bad.png"), str(image_dir / "missing.png"),
             str(image_dir / "truncated.png"), *_paths(image_dir)[5:]]
    result = embedder.embed("image", items)
    assert result.vectors.shape == (len(items), embedder.dim)
    assert result.ok.tolist() == [True] * 5 + [False] * 3 + [True] * 5
    assert result.n_failed == 3
    assert "cannot decode" in result.errors[5]
    assert "cannot read" in result.errors[6]
    assert "cannot decode" in result.errors[7]
    assert np.isnan(result.vectors[5:8]).all()
    np.testing.assert_allclose(
        result.vectors[result.ok], embedder.embed_images(_paths(image_dir)), atol=1e-6
    )
    with pytest.raises(InputError, match="3 unreadable"):
        embedder.embed_images(items)


def test_http_urls(embedder, image_dir):
    """Images over http(s): a local server stands in for the internet."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(image_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        got = embedder.embed("image", [f"{base}/im0.png", f"{base}/absent.png", f"{base}/im1.png"])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert got.ok.tolist() == [True, False, True]
    assert "404" in got.errors[1]
    np.testing.assert_allclose(
        got.vectors[[0, 2]], embedder.embed_images(_paths(image_dir)[:2]), atol=1e-6
    )


# -- the cache -----------------------------------------------------------------------------
def test_cache_hits_on_rerun(embedder, image_dir, tmp_path):
    paths = _paths(image_dir)
    first = embedder.embed("image", paths, cache=tmp_path)
    assert (first.n_computed, first.n_cached) == (N_IMAGES, 0)
    second = embedder.embed("image", paths, cache=tmp_path)
    assert (second.n_computed, second.n_cached) == (0, N_IMAGES)
    np.testing.assert_array_equal(first.vectors, second.vectors)
    raw = embedder.embed("image", paths, cache=tmp_path, normalize=False)
    assert raw.n_cached == N_IMAGES  # the cache holds raw vectors; normalising is downstream
    texts = ["one", "two", "one"]
    t1 = embedder.embed("text", texts, cache=tmp_path)
    t2 = embedder.embed("text", texts, cache=tmp_path)
    assert t1.n_computed == 3 and (t2.n_cached, t2.n_computed) == (3, 0)
    np.testing.assert_array_equal(t1.vectors, t2.vectors)


def test_cache_keys_on_content_not_path(embedder, image_dir, tmp_path):
    src = Path(_paths(image_dir)[0])
    copy = tmp_path / "renamed.png"
    copy.write_bytes(src.read_bytes())
    embedder.embed("image", [str(src)], cache=tmp_path / "c")
    again = embedder.embed("image", [str(copy)], cache=tmp_path / "c")
    assert again.n_cached == 1


def test_cache_namespace_separates_weights(image_dir, tmp_path):
    paths = _paths(image_dir)[:4]
    a, b = tiny_embedder(seed=0), tiny_embedder(seed=1)
    a.embed("image", paths, cache=tmp_path)
    assert b.embed("image", paths, cache=tmp_path).n_cached == 0
    assert a.open_cache("image", tmp_path).namespace != b.open_cache("image", tmp_path).namespace
    assert a.open_cache("image", tmp_path).namespace != a.open_cache("text", tmp_path).namespace


class _Stop(Exception):
    pass


def test_resume_after_interruption(embedder, image_dir, tmp_path):
    paths = _paths(image_dir)  # 10 items, batches of 4: [0-3], [4-7], [8-9]

    def stop_after_two(batch_index: int, n_done: int) -> None:
        if batch_index == 1:
            raise _Stop

    with pytest.raises(_Stop):
        embedder.embed("image", paths, cache=tmp_path, on_batch=stop_after_two)
    resumed = embedder.embed("image", paths, cache=tmp_path)
    assert (resumed.n_cached, resumed.n_computed) == (8, 2)
    np.testing.assert_allclose(resumed.vectors, embedder.embed_images(paths), atol=1e-6)


@pytest.mark.slow  # a fresh Python process (imports torch and open_clip)
def test_resume_after_sigkill(image_dir, tmp_path):
    """A process killed outright after two batches: the committed batches survive."""
    code = textwrap.dedent(
        f"""
        import os, signal, warnings
        warnings.simplefilter("ignore")
        from steerstats.embed.testing import tiny_embedder
        e = tiny_embedder(seed=0, batch_size=4)
        def kill(batch_index, n_done):
            if batch_index == 1:
                os.kill(os.getpid(), signal.SIGKILL)
        e.embed("image", {_paths(image_dir)!r}, cache={str(tmp_path)!r}, on_batch=kill)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300, check=False)
    assert proc.returncode == -9, proc.stderr.decode()
    resumed = tiny_embedder(seed=0, batch_size=4).embed("image", _paths(image_dir), cache=tmp_path)
    assert (resumed.n_cached, resumed.n_computed) == (8, 2)


def test_corrupted_entry_is_detected_and_recomputed(embedder, image_dir, tmp_path):
    paths = _paths(image_dir)
    clean = embedder.embed("image", paths, cache=tmp_path)
    cache = embedder.open_cache("image", tmp_path)
    cache.close()
    with sqlite3.connect(cache.path) as conn:
        key, blob = conn.execute("SELECT key, vec FROM vectors LIMIT 1").fetchone()
        flipped = bytes([blob[0] ^ 0xFF]) + blob[1:]
        conn.execute("UPDATE vectors SET vec = ? WHERE key = ?", (flipped, key))
        key2 = conn.execute("SELECT key FROM vectors WHERE key != ? LIMIT 1", (key,)).fetchone()[0]
        conn.execute("UPDATE vectors SET vec = ? WHERE key = ?", (b"short", key2))
    healed = embedder.embed("image", paths, cache=tmp_path)
    assert (healed.n_corrupt_cache, healed.n_computed, healed.n_cached) == (2, 2, N_IMAGES - 2)
    np.testing.assert_allclose(healed.vectors, clean.vectors, atol=1e-6)  # batch of 2, not 4
    assert embedder.embed("image", paths, cache=tmp_path).n_cached == N_IMAGES


def test_unreadable_cache_file_is_set_aside(embedder, image_dir, tmp_path):
    paths = _paths(image_dir)[:3]
    embedder.embed("image", paths, cache=tmp_path)
    path = embedder.open_cache("image", tmp_path).path
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.write_bytes(b"garbage" * 100)
    with pytest.warns(UserWarning, match="unreadable"):
        again = embedder.embed("image", paths, cache=tmp_path)
    assert again.n_computed == 3
    assert list(tmp_path.glob("*.corrupt-*"))


def test_cache_rejects_wrong_shape(tmp_path):
    cache = VectorCache(tmp_path, {"x": 1}, dim=3)
    with pytest.raises(ValueError, match="expected"):
        cache.put_many(["a"], np.zeros((1, 4), np.float32))
    cache.put_many(["a", "b"], np.arange(6, dtype=np.float32).reshape(2, 3))
    assert len(cache) == 2
    np.testing.assert_array_equal(cache.get("b"), [3, 4, 5])
    assert cache.get("zzz") is None
    cache.close()


# -- table in, parquet out -----------------------------------------------------------------
def _table(image_dir: Path, tmp_path: Path, fmt: str = "csv") -> Path:
    frame = pd.DataFrame(
        {
            "item": [f"id{i}" for i in range(N_IMAGES + 2)],
            "path": [f"im{i}.png" for i in range(N_IMAGES)] + ["bad.png", "missing.png"],
            "caption": [f"caption {i}" for i in range(N_IMAGES)] + ["NA", "N/A"],
        }
    )
    path = tmp_path / f"items.{fmt}"
    (frame.to_csv(path, index=False) if fmt == "csv" else frame.to_parquet(path))
    return path


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_embed_table_images(embedder, image_dir, tmp_path, fmt):
    table = _table(image_dir, tmp_path, fmt)
    out = tmp_path / "out" / "emb.parquet"
    res = embed_table(
        "images", table, "path", out, embedder=embedder, id_column="item", root=image_dir,
        cache_dir=tmp_path / "cache", progress=False,
    )
    assert (res.n_items, res.n_ok, res.n_unreadable) == (N_IMAGES + 2, N_IMAGES, 2)
    frame, vectors, meta = read_embeddings(out)
    assert frame["item"].tolist() == [f"id{i}" for i in range(N_IMAGES + 2)]
    assert frame["status"].tolist() == ["ok"] * N_IMAGES + ["unreadable"] * 2
    np.testing.assert_allclose(vectors[:N_IMAGES], embedder.embed_images(_paths(image_dir)), atol=1e-6)
    assert np.isnan(vectors[N_IMAGES:]).all()
    assert meta["model"] == TINY_MODEL
    assert meta["model_config"] == tiny_clip_config()
    assert meta["weights"] == embedder.weights_identity
    assert meta["preprocess"]["interpolation"] == "bicubic"
    assert meta["preprocess"]["size"] == [32, 32]
    assert meta["normalized"] is True and meta["dim"] == embedder.dim
    assert meta["source"]["column"] == "path" and meta["n_unreadable"] == 2
    report = pd.read_csv(res.report)
    assert report["item"].tolist() == ["id10", "id11"]
    assert report["row"].tolist() == [11, 12]
    assert report["error"].str.startswith(("cannot decode", "cannot read")).all()
    assert sorted(p.name for p in out.parent.iterdir()) == ["emb.parquet", "emb.unreadable.csv"]


def test_embed_table_texts_keep_literal_na(embedder, image_dir, tmp_path):
    table = _table(image_dir, tmp_path)
    out = tmp_path / "texts.parquet"
    res = embed_table("texts", table, "caption", out, embedder=embedder, progress=False,
                      normalize=False)
    assert res.n_ok == N_IMAGES + 2 and res.report is None
    frame, vectors, meta = read_embeddings(out)
    assert frame["row"].tolist() == list(range(1, N_IMAGES + 3))
    texts = pd.read_csv(table, dtype=str, keep_default_na=False)["caption"].tolist()
    assert texts[-2:] == ["NA", "N/A"]
    np.testing.assert_allclose(vectors, embedder.embed_texts(texts, normalize=False), atol=1e-6)
    assert meta["normalized"] is False and meta["tokenizer"]["context_length"] == 16


def test_embed_table_input_errors(embedder, tmp_path):
    out = tmp_path / "o.parquet"
    bad_ids = tmp_path / "dup.csv"
    pd.DataFrame({"id": [1, 2, 2], "path": ["a.png", "b.png", "c.png"]}).to_csv(bad_ids, index=False)
    with pytest.raises(InputError, match=r"row 3, column 'id': duplicate id '2' \(first at row 2\)"):
        embed_table("images", bad_ids, "path", out, embedder=embedder, id_column="id")
    with pytest.raises(InputError, match="column 'nope': no such column"):
        embed_table("images", bad_ids, "nope", out, embedder=embedder)
    blank = tmp_path / "blank.csv"
    pd.DataFrame({"path": ["a.png", ""]}).to_csv(blank, index=False)
    with pytest.raises(InputError, match="row 2, column 'path'"):
        embed_table("images", blank, "path", out, embedder=embedder)
    with pytest.raises(ConfigError, match="parquet"):
        embed_table("images", blank, "path", tmp_path / "o.csv", embedder=embedder)
    assert not out.exists()


def test_interrupted_table_run_leaves_no_output_then_resumes(embedder, image_dir, tmp_path):
    table = _table(image_dir, tmp_path)
    out = tmp_path / "run" / "emb.parquet"

    def stop(batch_index: int, n_done: int) -> None:
        if batch_index == 1:
            raise _Stop

    kwargs = {"embedder": embedder, "root": image_dir, "cache_dir": tmp_path / "c", "progress": False}
    with pytest.raises(_Stop):
        embed_table("images", table, "path", out, on_batch=stop, **kwargs)
    assert not out.exists() and not report_path(out).exists()
    res = embed_table("images", table, "path", out, **kwargs)
    assert (res.n_cached, res.n_computed, res.n_unreadable) == (8, 2, 2)  # 2 unreadable: never cached
    assert out.exists() and report_path(out).exists()


# -- Collins et al. image features -----------------------------------------------------------
def _laion_head(dim_in: int, path: Path, seed: int = 0) -> torch.nn.Sequential:
    torch.manual_seed(seed)
    head = torch.nn.Sequential(
        torch.nn.Linear(dim_in, 32), torch.nn.Dropout(0.2), torch.nn.Linear(32, 8),
        torch.nn.Dropout(0.2), torch.nn.Linear(8, 1),
    )
    torch.save({f"layers.{k}": v for k, v in head.state_dict().items()}, path)
    return head


def test_aesthetic_first_layer_features(embedder, image_dir, tmp_path):
    head = _laion_head(embedder.dim, tmp_path / "head.pth")
    table = _table(image_dir, tmp_path)
    out = tmp_path / "aes.parquet"
    embed_table("images", table, "path", out, embedder=embedder, root=image_dir,
                aesthetic_head=tmp_path / "head.pth", progress=False, normalize=False)
    _, feats, meta = read_embeddings(out)
    clip = torch.from_numpy(embedder.embed_images(_paths(image_dir)))  # L2-normalised
    with torch.inference_mode():
        want = head[0](clip).numpy()
    assert feats.shape == (N_IMAGES + 2, 32)
    np.testing.assert_allclose(feats[:N_IMAGES], want, atol=1e-5)
    assert np.isnan(feats[N_IMAGES:]).all()
    assert meta["output"] == "laion-aesthetic-first-layer"
    assert meta["head"]["out_dim"] == 32 and len(meta["head"]["sha256"]) == 64


def test_aesthetic_head_dimension_mismatch(tmp_path):
    _laion_head(768, tmp_path / "head.pth")
    with pytest.raises(ConfigError, match="768-dim"):
        AestheticFirstLayer.from_file(tmp_path / "head.pth", expected_dim=16)
    torch.save({"weight": torch.zeros(2, 2)}, tmp_path / "other.pth")
    with pytest.raises(ConfigError, match=r"layers\.0\.weight"):
        AestheticFirstLayer.from_file(tmp_path / "other.pth")


# -- models, weights, devices --------------------------------------------------------------
def test_checkpoint_file_weights(embedder, image_dir, tmp_path):
    ckpt = tmp_path / "tiny.pt"
    torch.save(embedder.loaded.model.state_dict(), ckpt)
    loaded = ClipEmbedder(TINY_MODEL, ckpt, device="cpu", batch_size=4)
    assert loaded.weights_identity.startswith("sha256:")
    np.testing.assert_allclose(
        loaded.embed_images(_paths(image_dir)), embedder.embed_images(_paths(image_dir)), atol=1e-6
    )
    torch.save({"not": torch.zeros(1)}, tmp_path / "wrong.pt")
    with pytest.raises(ConfigError, match="cannot build"):
        ClipEmbedder(TINY_MODEL, tmp_path / "wrong.pt", device="cpu")
    with pytest.raises(ConfigError, match="neither a file nor a pretrained tag"):
        ClipEmbedder(TINY_MODEL, tmp_path / "absent.pt", device="cpu")
    with pytest.raises(ConfigError, match="unknown open_clip model"):
        ClipEmbedder("no-such-model", None, device="cpu")


def test_custom_config_registration(tmp_path):
    from steerstats.embed import register_model_config

    with pytest.raises(ConfigError, match="lacks text_cfg"):
        register_model_config("half", {"embed_dim": 8, "vision_cfg": {}})
    with pytest.raises(ConfigError, match="invalid model config name"):
        register_model_config("a/b", tiny_clip_config())
    path = tmp_path / "from-file.json"
    cfg = tiny_clip_config()
    cfg["embed_dim"] = 8
    path.write_text(json.dumps(cfg))
    assert register_model_config("tiny-from-file", path) == "tiny-from-file"
    e = ClipEmbedder("tiny-from-file", device="cpu")
    assert e.dim == 8 and e.loaded.config == cfg
    with pytest.raises(ConfigError, match="cannot read model config"):
        register_model_config("nope", tmp_path / "absent.json")


def test_offline_hub_tag_fails_at_once(tmp_path, monkeypatch):
    import huggingface_hub.constants

    open_clip = import_open_clip()

    def no_download(*args, **kwargs):
        raise AssertionError("a download was attempted")

    monkeypatch.setattr(open_clip.pretrained, "download_pretrained", no_download)
    monkeypatch.setattr(open_clip.factory, "download_pretrained", no_download)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(ConfigError, match="offline mode"):
        ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k", device="cpu", hub_cache_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="offline mode"):
        ClipEmbedder("hf-hub:laion/CLIP-ViT-B-32-laion2B-s34B-b79K", device="cpu",
                     hub_cache_dir=str(tmp_path))


def test_unreachable_hub_fails_at_once(tmp_path, monkeypatch):
    import huggingface_hub.constants

    from steerstats.embed import models

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    probed = []
    monkeypatch.setattr(models, "_host_reachable", lambda host, *a, **k: probed.append(host) or False)
    with pytest.raises(ConfigError, match=r"need the internet: cannot reach huggingface\.co"):
        ClipEmbedder("ViT-B-32", "laion2b_s34b_b79k", device="cpu", hub_cache_dir=str(tmp_path))
    assert probed == ["huggingface.co"]


def test_network_probe():
    import socket

    from steerstats.embed.models import _host_reachable

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert _host_reachable("127.0.0.1", port, timeout=2.0)
    assert not _host_reachable("127.0.0.1", port, timeout=2.0)  # closed now


def test_device_and_precision_choice():
    auto = resolve_device("auto")
    if torch.cuda.is_available():
        assert auto.type == "cuda"
    elif torch.backends.mps.is_available():
        assert auto.type == "mps"
    else:
        assert auto.type == "cpu"
        with pytest.raises(ConfigError, match="no CUDA"):
            resolve_device("cuda")
    assert resolve_device("cpu").type == "cpu"
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device("tpu")
    assert resolve_precision("auto", torch.device("cpu")) == "fp32"
    with pytest.raises(ConfigError, match="for GPUs"):
        resolve_precision("amp_bf16", torch.device("cpu"))


def test_works_after_jax_started(embedder, image_dir):
    """The loader uses threads, so embedding after JAX has started its runtime is safe."""
    import jax.numpy as jnp

    assert float(jnp.ones(3).sum()) == 3.0
    assert embedder.embed("image", _paths(image_dir)).ok.all()
    assert multiprocessing.active_children() == []  # no worker processes were started
