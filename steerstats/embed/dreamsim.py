"""DreamSim image embeddings (Fu et al. 2023) through the ``dreamsim`` package, on the shared pipeline.

DreamSim's perceptual distance is ``1 - cos(e_a, e_b)`` of its (centred, unit-norm) embeddings, so
the similarity the Vafa et al. release reports (higher is closer) is the cosine itself: one
embedding per unique image, cached by content hash like every other embedder, and a cosine per
pair. Weights are never downloaded here: ``weights_dir`` must already hold the checkpoints that
``dreamsim.dreamsim(cache_dir=...)`` fetches (run that once where there is internet), and a
missing file is an immediate :class:`~steerstats.errors.ConfigError` naming what is missing.
"""

from __future__ import annotations

import contextlib
import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from steerstats.embed.device import resolve_device
from steerstats.embed.embedder import BatchedEmbedder, _default_workers
from steerstats.errors import ConfigError

#: checkpoints each DreamSim variant needs in its weights directory (dreamsim 0.2, model.py)
#: plus the torch.hub copy of the DINO code (dreamsim builds the DINO ViT with torch.hub.load from
#: the weights directory, which downloads the repository when it is not there)
REQUIRED_CHECKPOINTS = {
    "ensemble": ("dino_vitb16_pretrain.pth", "open_clip_vitb16_pretrain.pth.tar", "clip_vitb16_pretrain.pth.tar",
                 "ensemble_lora", "facebookresearch_dino_main"),
    "dino_vitb16": ("dino_vitb16_pretrain.pth", "dino_vitb16_single_lora", "facebookresearch_dino_main"),
    "dinov2_vitb14": ("dinov2_vitb14_pretrain.pth", "dinov2_vitb14_single_lora", "facebookresearch_dinov2_main"),
    "open_clip_vitb32": ("open_clip_vitb32_pretrain.pth.tar", "open_clip_vitb32_single_lora"),
    "clip_vitb32": ("clip_vitb32_pretrain.pth.tar", "clip_vitb32_single_lora"),
}
IMAGE_SIZE = 224  # DreamSim resizes to 224 x 224 (bicubic) and feeds [0, 1] pixels


def check_weights(weights_dir: str | Path, dreamsim_type: str = "ensemble") -> Path:
    """The weights directory, or a ConfigError naming the missing checkpoints (no download)."""
    if dreamsim_type not in REQUIRED_CHECKPOINTS:
        raise ConfigError(f"unknown DreamSim type '{dreamsim_type}' (choose from {', '.join(REQUIRED_CHECKPOINTS)})")
    root = Path(weights_dir)
    missing = [name for name in REQUIRED_CHECKPOINTS[dreamsim_type] if not (root / name).exists()]
    if missing:
        raise ConfigError(
            f"DreamSim ({dreamsim_type}) weights not found in {root}: missing {', '.join(missing)}. steerstats does "
            f"not download them; where there is internet run once: python -c \"from dreamsim import dreamsim; "
            f"dreamsim(cache_dir='{root}', dreamsim_type='{dreamsim_type}', device='cpu')\"")
    return root


def weights_identity(root: Path, dreamsim_type: str) -> str:
    """sha256 over the LoRA adapter files' bytes and the backbone checkpoints' names and sizes."""
    h = hashlib.sha256(dreamsim_type.encode())
    for name in REQUIRED_CHECKPOINTS[dreamsim_type]:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            h.update(str(f.relative_to(root)).encode() + b"\0")
            h.update(f.read_bytes() if path.is_dir() else str(f.stat().st_size).encode())
    return "sha256:" + h.hexdigest()


class DreamSimEmbedder(BatchedEmbedder):
    """DreamSim image embeddings; ``embed("image", ...)`` as :class:`~steerstats.embed.ClipEmbedder`.

    ``model`` is anything with ``embed(x) -> (n, d)`` for ``x`` of shape (n, 3, 224, 224) in [0, 1]
    (a ``dreamsim`` PerceptualModel); build the real one with :meth:`from_weights`.
    """

    kinds = ("image",)

    def __init__(self, model: Any, *, identity: str, device: str = "auto", batch_size: int = 32,
                 num_workers: int | None = None, image_size: int = IMAGE_SIZE) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        self.model = model
        self.device = resolve_device(device)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers) if num_workers else _default_workers()
        self.image_size = int(image_size)
        self.weights = identity
        self.model_name = "dreamsim"
        self.dim = int(self._encode_pixels(torch.zeros((1, self.image_size, self.image_size, 3), dtype=torch.uint8)).shape[1])

    @classmethod
    def from_weights(cls, weights_dir: str | Path, *, dreamsim_type: str = "ensemble", device: str = "auto",
                     batch_size: int = 32, num_workers: int | None = None) -> DreamSimEmbedder:
        """Load DreamSim from checkpoints on disk (the ``dreamsim`` extra; never downloads)."""
        root = check_weights(weights_dir, dreamsim_type)
        from steerstats.embed._compat import import_torchvision

        import_torchvision()  # dreamsim imports torchvision: through the CPU-torch shim if needed
        from dreamsim import dreamsim as build  # ModuleNotFoundError -> the CLI's install hint

        torch_device = resolve_device(device)
        hub_dir = torch.hub.get_dir()
        try:  # dreamsim points torch.hub at the weights directory and prints to stdout: keep both local
            with contextlib.redirect_stdout(sys.stderr):
                model, _ = build(pretrained=True, device=torch_device.type, cache_dir=str(root),
                                 dreamsim_type=dreamsim_type)
        finally:
            torch.hub.set_dir(hub_dir)
        out = cls(model, identity=weights_identity(root, dreamsim_type), device=torch_device.type,
                  batch_size=batch_size, num_workers=num_workers)
        out.model_name = f"dreamsim-{dreamsim_type}"
        return out

    def identity(self, kind: str) -> dict[str, Any]:
        return {"kind": "image", "model": self.model_name, "weights": self.weights, "dim": self.dim,
                "preprocess": {"resize": [self.image_size, self.image_size], "interpolation": "bicubic",
                               "scale": "[0,1]"}}

    def _to_pixels(self, img: Any) -> torch.Tensor:
        from PIL import Image

        resized = img.convert("RGB").resize((self.image_size, self.image_size), Image.Resampling.BICUBIC)
        return torch.from_numpy(np.array(resized, dtype=np.uint8))

    def _encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        x = pixels.to(self.device).permute(0, 3, 1, 2).float().div(255)
        with torch.no_grad():
            out = self.model.embed(x)
        return out.reshape(len(pixels), -1).float().cpu().numpy()


def dreamsim_factory(weights_dir: str | Path, **kwargs: Any) -> Callable[[], DreamSimEmbedder]:
    """A zero-argument builder (weights checked now, model loaded when called)."""
    check_weights(weights_dir, kwargs.get("dreamsim_type", "ensemble"))
    return lambda: DreamSimEmbedder.from_weights(weights_dir, **kwargs)
