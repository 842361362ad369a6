"""A tiny random-init open_clip model for tests (no download): ``tiny_embedder()``.

Also for other modules' tests that need a CLIP text or image tower (predictors, generation).
"""

from __future__ import annotations

import copy
from typing import Any

TINY_MODEL = "steerstats-tiny-clip"
_TINY_CONFIG: dict[str, Any] = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def tiny_clip_config() -> dict[str, Any]:
    """open_clip config of a 1-layer ViT (32 px, patch 8) and 1-layer text tower; 16-dim output."""
    return copy.deepcopy(_TINY_CONFIG)


def tiny_embedder(**kwargs: Any):  # -> ClipEmbedder
    """``ClipEmbedder`` on the tiny config, random init from ``seed`` (default 0), on cpu."""
    from steerstats.embed.embedder import ClipEmbedder

    kwargs.setdefault("device", "cpu")
    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("num_workers", 2)
    return ClipEmbedder(TINY_MODEL, None, model_config=tiny_clip_config(), **kwargs)
