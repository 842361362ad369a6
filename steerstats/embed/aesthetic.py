"""Collins et al. image features: the first layer of a LAION-aesthetics-style MLP on CLIP embeddings.

The LAION aesthetic predictor (improved-aesthetic-predictor, ``sac+logos+ava1-l14-linearMSE.pth``)
is ``Linear(768, 1024) -> Dropout -> Linear(1024, 128) -> ... -> Linear(16, 1)`` applied to
L2-normalised CLIP ViT-L/14 image embeddings; its state dict names the first layer
``layers.0.weight`` / ``layers.0.bias``. The features are that layer's output,
``W0 @ normalize(e) + b0`` (1024 numbers per image). The user supplies the head's weights file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from steerstats._io import sha256_file
from steerstats.errors import ConfigError


def _state_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        return obj["state_dict"]  # Lightning-style checkpoint
    if isinstance(obj, dict):
        return obj
    if hasattr(obj, "state_dict"):
        return obj.state_dict()
    raise ConfigError(f"expected a state dict, got {type(obj).__name__}")


@dataclass(frozen=True)
class AestheticFirstLayer:
    """``features = normalize(e) @ weight.T + bias`` with the head's first Linear layer."""

    weight: np.ndarray  # (out, in)
    bias: np.ndarray  # (out,)
    sha256: str
    path: str

    @classmethod
    def from_file(cls, path: str | Path, expected_dim: int | None = None) -> AestheticFirstLayer:
        """Read ``layers.0.weight``/``layers.0.bias`` (any key prefix) from a torch state dict."""
        import torch

        path = Path(path)
        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # any failure to read a user's file (pickle refused, garbage, zip)
            raise ConfigError(f"{path}: cannot load aesthetic head weights ({type(err).__name__}: "
                              f"{' '.join(str(err).split())[:160]})") from None
        state = _state_dict(obj)
        weight_keys = sorted(k for k in state if k.endswith("layers.0.weight"))
        if len(weight_keys) != 1:
            raise ConfigError(
                f"{path}: expected one 'layers.0.weight' entry (LAION aesthetic MLP), found keys "
                f"{', '.join(sorted(state)[:8])}"
            )
        wkey = weight_keys[0]
        bkey = wkey[: -len("weight")] + "bias"
        weight = state[wkey].detach().float().numpy()
        bias = (
            state[bkey].detach().float().numpy()
            if bkey in state
            else np.zeros(weight.shape[0], np.float32)
        )
        if weight.ndim != 2 or bias.shape != (weight.shape[0],):
            raise ConfigError(f"{path}: first layer has shapes {weight.shape} and {bias.shape}")
        head = cls(weight=weight, bias=bias, sha256=sha256_file(path), path=str(path))
        if expected_dim is not None:
            head.check_dim(expected_dim)
        return head

    def check_dim(self, dim: int) -> None:
        """Error unless the head takes ``dim``-dimensional embeddings."""
        if self.weight.shape[1] != dim:
            raise ConfigError(
                f"{self.path}: head expects {self.weight.shape[1]}-dim CLIP embeddings but the model gives "
                f"{dim} (the LAION head was trained on ViT-L-14)"
            )

    @property
    def out_dim(self) -> int:
        return int(self.weight.shape[0])

    def __call__(self, normalized_embeddings: np.ndarray) -> np.ndarray:
        """(n, out) float32 features of L2-normalised (n, in) embeddings; NaN rows stay NaN."""
        x = np.asarray(normalized_embeddings, dtype=np.float32)
        return (x @ self.weight.T + self.bias).astype(np.float32)

    def describe(self) -> dict[str, Any]:
        return {
            "kind": "laion-aesthetic-first-layer",
            "path": self.path,
            "sha256": self.sha256,
            "in_dim": int(self.weight.shape[1]),
            "out_dim": self.out_dim,
            "input": "L2-normalised CLIP image embedding",
        }
