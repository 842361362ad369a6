"""Device and precision choice for the extractor: cuda > mps > cpu, mixed precision on GPU."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

from steerstats.errors import ConfigError

DEVICES = ("auto", "cpu", "cuda", "mps")
PRECISIONS = ("auto", "fp32", "amp_bf16", "amp_fp16")


def resolve_device(spec: str = "auto") -> torch.device:
    """``auto`` picks cuda, then mps, then cpu; an explicit device must be available."""
    kind = spec.split(":", 1)[0]
    if kind not in DEVICES:
        raise ConfigError(f"unknown device '{spec}'; choose one of {', '.join(DEVICES)}")
    if kind == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but torch sees no CUDA device")
    if kind == "mps" and not torch.backends.mps.is_available():
        raise ConfigError("device 'mps' requested but torch sees no MPS device")
    return torch.device(spec)


def resolve_precision(spec: str, device: torch.device) -> str:
    """``auto``: autocast bf16 on CUDA (fp16 where bf16 is unsupported), fp32 elsewhere."""
    if spec not in PRECISIONS:
        raise ConfigError(f"unknown precision '{spec}'; choose one of {', '.join(PRECISIONS)}")
    if spec == "auto":
        if device.type != "cuda":
            return "fp32"
        return "amp_bf16" if torch.cuda.is_bf16_supported() else "amp_fp16"
    if spec != "fp32" and device.type == "cpu":
        raise ConfigError(f"precision '{spec}' is for GPUs; use fp32 on cpu")
    return spec


@contextlib.contextmanager
def autocast(device: torch.device, precision: str) -> Iterator[None]:
    """Inference mode plus, for ``amp_*``, torch autocast to that dtype."""
    with torch.inference_mode():
        if precision == "fp32":
            yield
            return
        dtype = torch.bfloat16 if precision == "amp_bf16" else torch.float16
        with torch.autocast(device_type=device.type, dtype=dtype):
            yield
