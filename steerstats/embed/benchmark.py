"""Benchmark: the extractor vs a naive per-item open_clip loop, in one process, same model.

Workload: ``n_images`` random-noise JPEGs of ``image_size`` px written to a temporary directory
(decoding real files is part of the job). Baseline: the loop everyone writes first (open, preprocess,
``encode_image`` of a batch of one, normalise), on the same model object and device. Both outputs
must agree (max |difference| is printed). On CUDA it also reports the model-only ceiling: the
forward pass alone on a ready GPU batch at the same batch size and precision, and the extractor's
end-to-end images/s as a fraction of it, plus achieved TFLOP/s (FLOPs counted by
``torch.utils.flop_counter``, see :func:`image_flops`). Without a checkpoint the weights are a seeded random init: speed
does not depend on weight values.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class EmbedBenchmark:
    model: str
    weights: str
    device: str
    precision: str
    n_images: int
    image_size: int
    batch_size: int
    workers: int
    extractor_s: float
    naive_s: float
    naive_n: int
    max_abs_diff: float
    cached_s: float
    gpu: dict[str, Any] = field(default_factory=dict)

    @property
    def extractor_ips(self) -> float:
        return self.n_images / self.extractor_s

    @property
    def naive_ips(self) -> float:
        return self.naive_n / self.naive_s

    def lines(self) -> list[str]:
        out = [
            f"model {self.model} ({self.weights}) on {self.device}, precision {self.precision}",
            f"{self.n_images} JPEGs of {self.image_size}px; batch {self.batch_size}, "
            f"{self.workers} loader threads",
            f"extractor:        {self.extractor_ips:8.1f} images/s",
            f"naive loop:       {self.naive_ips:8.1f} images/s  ({self.naive_n} images)",
            f"speed-up:         {self.extractor_ips / self.naive_ips:8.2f}x",
            f"cache re-run:     {self.n_images / self.cached_s:8.1f} images/s (all hits)",
            f"max |extractor - naive| (unit vectors): {self.max_abs_diff:.2e}",
        ]
        if self.gpu:
            g = self.gpu
            out += [
                f"GPU {g['name']}: model-only forward {g['model_only_ips']:.1f} images/s at batch "
                f"{self.batch_size}",
                f"extractor end to end = {g['fraction_of_model_only']:.1%} of the model-only rate",
                f"model FLOPs/image {g['gflops_per_image']:.2f} G; achieved "
                f"{g['model_only_tflops']:.1f} TFLOP/s model-only, "
                f"{g['extractor_tflops']:.1f} TFLOP/s end to end",
            ]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in self.__dict__.items()},
            "extractor_images_per_s": self.extractor_ips,
            "naive_images_per_s": self.naive_ips,
            "speedup": self.extractor_ips / self.naive_ips,
        }


def write_images(root: Path, n: int, size: int, seed: int = 0) -> list[str]:
    """``n`` noise JPEGs (quality 90) of ``size`` x ``size`` px; returns their paths."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        path = root / f"img{i:06d}.jpg"
        Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


def naive_loop(embedder: Any, paths: list[str]) -> np.ndarray:
    """Baseline: one image at a time through open_clip's own preprocess and ``encode_image``.

    Same precision (autocast) as the extractor, so the ratio measures batching and loading only.
    """
    from PIL import Image

    from steerstats.embed.device import autocast

    model, preprocess, device = embedder.loaded.model, embedder.loaded.preprocess, embedder.device
    out = []
    with autocast(device, embedder.precision):
        for p in paths:
            x = preprocess(Image.open(p)).unsqueeze(0).to(device)
            e = model.encode_image(x).float()
            out.append((e / e.norm(dim=-1, keepdim=True)).cpu().numpy()[0])
    return np.stack(out)


def _sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize()


def image_flops(embedder: Any) -> int:
    """FLOPs of one image's forward pass: matmuls and convolutions (``torch.utils.flop_counter``).

    Counted with autograd on, where ``nn.MultiheadAttention`` runs its projections as plain
    linear layers (its inference fast path hides them from the counter). The attention-score
    products are not counted by the counter on this path: 2 * 2 * tokens^2 * width per layer,
    about 1% for ViT-B-32 (50 tokens, width 768).
    """
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    size = embedder.loaded.preprocess_cfg["size"]
    h, w = (size, size) if isinstance(size, int) else size
    counter = FlopCounterMode(display=False)
    with torch.enable_grad(), counter:
        embedder.loaded.model.encode_image(torch.zeros(1, 3, h, w, device=embedder.device))
    return int(counter.get_total_flops())


def model_ceiling(embedder: Any, batch_size: int, seconds: float = 5.0) -> dict[str, Any]:
    """Forward-only images/s on a ready device batch, and FLOPs per image (any device)."""
    import torch

    from steerstats.embed.device import autocast

    size = embedder.loaded.preprocess_cfg["size"]
    h, w = (size, size) if isinstance(size, int) else size
    x = torch.randn(batch_size, 3, h, w, device=embedder.device)
    model = embedder.loaded.model
    flops = image_flops(embedder)
    with autocast(embedder.device, embedder.precision):
        for _ in range(3):
            model.encode_image(x)
        _sync(embedder.device)
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            model.encode_image(x)
            n += batch_size
        _sync(embedder.device)
        elapsed = time.perf_counter() - t0
    name = torch.cuda.get_device_name(embedder.device) if embedder.device.type == "cuda" else ""
    return {
        "name": name or str(embedder.device),
        "model_only_ips": n / elapsed,
        "gflops_per_image": flops / 1e9,
    }


def bench_embed(
    *,
    model: str = "ViT-B-32",
    weights: str | None = None,
    device: str = "auto",
    precision: str = "auto",
    n_images: int = 96,
    naive_n: int | None = None,
    image_size: int = 256,
    batch_size: int = 32,
    workers: int | None = None,
    seed: int = 0,
) -> EmbedBenchmark:
    """Time the extractor and the naive loop on the same images, model and device."""
    from steerstats.embed.embedder import ClipEmbedder

    embedder = ClipEmbedder(
        model, weights, device=device, precision=precision, batch_size=batch_size,
        num_workers=workers, seed=seed,
    )
    naive_n = min(naive_n or n_images, n_images)
    with tempfile.TemporaryDirectory(prefix="steerstats-bench-embed-") as tmp:
        paths = write_images(Path(tmp), n_images, image_size, seed)
        embedder.embed("image", paths[:batch_size])  # warm-up: kernels, allocator, threads
        naive_loop(embedder, paths[:2])
        _sync(embedder.device)
        t0 = time.perf_counter()
        result = embedder.embed("image", paths)
        _sync(embedder.device)
        extractor_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        naive = naive_loop(embedder, paths[:naive_n])
        _sync(embedder.device)
        naive_s = time.perf_counter() - t0
        cache_dir = Path(tmp) / "cache"
        embedder.embed("image", paths, cache=cache_dir)
        t0 = time.perf_counter()
        embedder.embed("image", paths, cache=cache_dir)
        cached_s = time.perf_counter() - t0
    bench = EmbedBenchmark(
        model=model,
        weights=embedder.weights_identity if weights else "random init",
        device=str(embedder.device),
        precision=embedder.precision,
        n_images=n_images,
        image_size=image_size,
        batch_size=batch_size,
        workers=embedder.num_workers,
        extractor_s=extractor_s,
        naive_s=naive_s,
        naive_n=naive_n,
        max_abs_diff=float(np.abs(result.vectors[:naive_n] - naive).max()),
        cached_s=cached_s,
    )
    if embedder.device.type == "cuda":
        gpu = model_ceiling(embedder, batch_size)
        gpu["fraction_of_model_only"] = bench.extractor_ips / gpu["model_only_ips"]
        gpu["model_only_tflops"] = gpu["model_only_ips"] * gpu["gflops_per_image"] / 1e3
        gpu["extractor_tflops"] = bench.extractor_ips * gpu["gflops_per_image"] / 1e3
        bench.gpu = gpu
    return bench


def run(args: argparse.Namespace) -> int:
    import warnings

    from steerstats._io import atomic_write_json
    from steerstats.embed._compat import TorchvisionOpsUnavailableWarning

    warnings.simplefilter("ignore", TorchvisionOpsUnavailableWarning)
    res = bench_embed(
        model=args.model, weights=args.weights, device=args.device, precision=args.precision,
        n_images=args.n_images, naive_n=args.naive_n, image_size=args.image_size,
        batch_size=args.batch_size, workers=args.workers, seed=args.seed,
    )
    print("embedding extractor vs naive per-image open_clip loop")
    for line in res.lines():
        print("  " + line)
    if args.json:
        atomic_write_json(args.json, res.as_dict())
    return 0
