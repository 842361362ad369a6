"""steerstats.embed: open_clip image and text embeddings, batched, cached and resumable.

Public API: :class:`ClipEmbedder` (``embed_texts``, ``embed_images``, ``embed``),
:func:`register_model_config` (custom open_clip configs), :class:`VectorCache`,
:class:`AestheticFirstLayer` (Collins et al. image features) and :func:`embed_table` (the
``steerstats embed`` command).

torchvision compatibility: open_clip imports torchvision for its image transforms. Where
torchvision's compiled operators cannot load next to the installed torch (a CUDA torchvision
wheel beside a CPU torch fails with ``RuntimeError: operator torchvision::nms does not exist``),
the first model build imports torchvision through a shim (``steerstats.embed._compat``) that
declares the two missing operator schemas so that the pure-Python parts import; a
``TorchvisionOpsUnavailableWarning`` says that detection ops (nms, roi_align) are unavailable.
Transforms are unaffected (tested against a PIL reference). With a matching torchvision the
normal import succeeds and the shim never runs.

Names are imported lazily (PEP 562) so that ``steerstats --help`` does not import torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AestheticFirstLayer": "steerstats.embed.aesthetic",
    "ClipEmbedder": "steerstats.embed.embedder",
    "EmbedResult": "steerstats.embed.embedder",
    "EmbedTableResult": "steerstats.embed.table",
    "VectorCache": "steerstats.embed.cache",
    "LoadedModel": "steerstats.embed.models",
    "TorchvisionOpsUnavailableWarning": "steerstats.embed._compat",
    "default_cache_dir": "steerstats.embed.table",
    "embed_table": "steerstats.embed.table",
    "import_open_clip": "steerstats.embed._compat",
    "l2_normalize": "steerstats.embed.embedder",
    "load_model": "steerstats.embed.models",
    "namespace_key": "steerstats.embed.cache",
    "read_embeddings": "steerstats.embed.table",
    "register_model_config": "steerstats.embed.models",
    "report_path": "steerstats.embed.table",
    "resolve_device": "steerstats.embed.device",
    "resolve_precision": "steerstats.embed.device",
    "torchvision_shim_active": "steerstats.embed._compat",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'steerstats.embed' has no attribute '{name}'")


def __dir__() -> list[str]:
    return __all__
