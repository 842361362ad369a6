"""Random-init models for tests (no download): a tiny open_clip model (``tiny_embedder()``, also for
other modules' tests that need a CLIP text or image tower) and a DreamSim weights directory
(``random_dreamsim_weights``) that the real ``dreamsim`` package loads offline.
"""

from __future__ import annotations

import copy
from pathlib import Path
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


#: the torch.hub entry point of the DINO repository that dreamsim loads (facebookresearch/dino
#: hubconf.py builds ``vit_base(patch_size=16, num_classes=0)`` and downloads its weights): here the
#: weights are a random init from a fixed seed, so every load builds the same backbone
_DINO_HUBCONF = """import torch
from dreamsim.feature_extraction.vision_transformer import vit_base


def dino_vitb16(pretrained=True, **kwargs):
    with torch.random.fork_rng():
        torch.manual_seed({seed})
        return vit_base(patch_size=16, num_classes=0, **kwargs)
"""


def random_dreamsim_weights(root: str | Path, *, seed: int = 0, lora_rank: int = 4) -> Path:
    """A ``dino_vitb16`` DreamSim weights directory with random-init weights in the layout
    ``dreamsim.dreamsim(cache_dir=root, dreamsim_type="dino_vitb16")`` reads: the torch.hub copy of
    the DINO repository (whose backbone is a random init from ``seed``), ``dino_vitb16_pretrain.pth`` (the projection head's ``student`` weights)
    and a LoRA adapter on the attention projections whose B matrices are random, not zero, so
    that loading the adapter changes the embeddings. Needs the ``dreamsim`` extra."""
    import torch

    from steerstats.embed._compat import import_torchvision

    import_torchvision()
    from dreamsim.feature_extraction.vision_transformer import DINOHead
    from dreamsim.model import PerceptualModel
    from peft import LoraConfig, get_peft_model

    root = Path(root)
    (root / "facebookresearch_dino_main").mkdir(parents=True, exist_ok=True)
    (root / "facebookresearch_dino_main" / "hubconf.py").write_text(_DINO_HUBCONF.format(seed=seed))
    generator_state = torch.random.get_rng_state()
    hub_dir = torch.hub.get_dir()
    try:
        torch.manual_seed(seed)
        head = DINOHead(768, 2048)
        student = {f"module.head.{k}": v for k, v in head.state_dict().items() if k.startswith("mlp.")}
        student["module.head.last_layer.weight"] = head.last_layer.weight.detach().clone()
        torch.save({"student": student}, root / "dino_vitb16_pretrain.pth")
        torch.hub.set_dir(str(root))  # dreamsim's extractor reads the hub repository from here
        base = PerceptualModel(model_type="dino_vitb16", feat_type="cls", stride="16", lora=True,
                               load_dir=str(root), device="cpu")
        lora = LoraConfig(r=lora_rank, lora_alpha=2 * lora_rank, lora_dropout=0.0, bias="none",
                          target_modules=["qkv"])
        model = get_peft_model(base, lora)
        with torch.no_grad():
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0.0, 0.02)
        model.save_pretrained(str(root / "dino_vitb16_single_lora"))
    finally:
        torch.hub.set_dir(hub_dir)
        torch.random.set_rng_state(generator_state)
    return root
