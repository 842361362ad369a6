"""steerstats.embed: open_clip image and text embeddings, batched, cached and resumable.

Public API: :class:`ClipEmbedder` (``embed_texts``, ``embed_images``, ``embed``),
:func:`register_model_config` (custom open_clip configs), :class:`EmbeddingCache`,
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
"""

from steerstats.embed._compat import (
    TorchvisionOpsUnavailableWarning,
    import_open_clip,
    torchvision_shim_active,
)
from steerstats.embed.cache import EmbeddingCache, namespace_key
from steerstats.embed.device import resolve_device, resolve_precision
from steerstats.embed.embedder import ClipEmbedder, EmbedResult, l2_normalize
from steerstats.embed.models import LoadedModel, load_model, register_model_config

__all__ = [
    "ClipEmbedder",
    "EmbedResult",
    "EmbeddingCache",
    "LoadedModel",
    "TorchvisionOpsUnavailableWarning",
    "import_open_clip",
    "l2_normalize",
    "load_model",
    "namespace_key",
    "register_model_config",
    "resolve_device",
    "resolve_precision",
    "torchvision_shim_active",
]
