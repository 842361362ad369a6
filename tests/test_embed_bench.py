"""The extractor benchmark runs end to end (tiny model, cpu) and its numbers are consistent."""

from __future__ import annotations

import math

import numpy as np
import pytest

from steerstats.embed.benchmark import (
    bench_embed,
    image_flops,
    model_ceiling,
    naive_loop,
    write_images,
)
from steerstats.embed.testing import TINY_MODEL, tiny_embedder

pytestmark = pytest.mark.filterwarnings(
    "ignore::steerstats.embed._compat.TorchvisionOpsUnavailableWarning"
)


def test_bench_embed_tiny_cpu():
    tiny_embedder()  # registers the tiny config
    res = bench_embed(model=TINY_MODEL, device="cpu", n_images=12, naive_n=6, image_size=48,
                      batch_size=4, workers=2)
    assert res.max_abs_diff < 1e-5  # the two paths embed the same images alike
    assert res.naive_n == 6 and res.n_images == 12
    assert res.extractor_ips > 0 and res.naive_ips > 0 and res.gpu == {}
    d = res.as_dict()
    assert math.isclose(d["speedup"], res.extractor_ips / res.naive_ips)
    assert any("speed-up" in line for line in res.lines())


def test_naive_loop_matches_extractor(tmp_path):
    e = tiny_embedder()
    paths = write_images(tmp_path, 5, 40, seed=1)
    np.testing.assert_allclose(naive_loop(e, paths), e.embed_images(paths), atol=1e-5)


def test_model_ceiling_counts_flops():
    e = tiny_embedder()
    out = model_ceiling(e, batch_size=4, seconds=0.2)
    assert out["model_only_ips"] > 0
    # tiny ViT by hand (2 * m * n * k per product): patch conv 16 * 2*32*192, one block of 17
    # tokens with width 32 (qkv 2*17*32*96, out 2*17*32*32, MLP 2 * 2*17*32*128), projection
    # 2*32*16; the attention-score products are not counted (see image_flops)
    want = 16 * 2 * 32 * 192 + 2 * 17 * 32 * 96 + 2 * 17 * 32 * 32 + 2 * (2 * 17 * 32 * 128)
    want += 2 * 32 * 16
    assert image_flops(e) == want
    assert out["gflops_per_image"] == pytest.approx(want / 1e9)


def test_bench_cli_writes_json(tmp_path, capsys):
    import json

    from steerstats.cli import main

    tiny_embedder()
    out = tmp_path / "bench.json"
    argv = ["bench", "embed", "--model", TINY_MODEL, "--device", "cpu", "--n-images", "6",
            "--batch-size", "3", "--image-size", "40", "--workers", "2", "--json", str(out)]
    assert main(argv) == 0
    assert "speed-up" in capsys.readouterr().out
    numbers = json.loads(out.read_text())
    assert numbers["n_images"] == 6 and numbers["speedup"] > 0
    assert numbers["max_abs_diff"] < 1e-5
