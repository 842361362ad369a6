"""The `diffusers` backend: Stable Diffusion pipelines with the initial noise exposed as the latent.

A candidate's latent is the initial noise z ~ N(0, I) of shape (C, H/8, W/8), drawn with numpy from
the candidate's seed (so a seed gives the same latent on every device); the pipeline denoises it
into an image, which the embedder (by default :class:`steerstats.embed.ClipEmbedder`) embeds.
``vary`` mixes the latent with fresh noise (SPEC Eq. 8) and renders again with the same prompt,
as in Vafa et al. (2025, Sec. 5). Needs the ``diffusers`` extra; weights come from a local
directory or the Hugging Face cache (``local_files_only=True`` by default: nothing is downloaded
unless asked).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from steerstats.errors import ConfigError
from steerstats.generate.candidates import Candidates, candidate_seeds
from steerstats.generate.vary import vary_latent


def _import_diffusers() -> Any:
    """diffusers imports transformers' image processors, which import torchvision: go through the
    embedding extractor's compatibility import (see :mod:`steerstats.embed._compat`) first."""
    from steerstats.embed._compat import import_torchvision

    try:
        import_torchvision()
    except ImportError:  # no torchvision at all: diffusers' text-to-image path does not need it
        pass
    try:
        import diffusers
    except ImportError as err:
        raise ConfigError("the diffusers backend needs the 'diffusers' extra: pip install 'steerstats[diffusers]'") from err
    return diffusers


class DiffusersBackend:
    """Generation backend over a text-to-image diffusers pipeline (e.g. StableDiffusionPipeline).

    ``pipeline``: a ready pipeline (tests build a tiny random one); or use :meth:`from_pretrained`.
    ``embedder``: anything with ``embed_images(list_of_PIL) -> (n, D)``; None leaves candidates
    without embeddings (call :meth:`embed` later).
    """

    def __init__(
        self,
        pipeline: Any,
        *,
        embedder: Any | None = None,
        num_inference_steps: int = 30,
        guidance_scale: float = 7.5,
        height: int | None = None,
        width: int | None = None,
        batch_size: int = 4,
        progress: bool = False,
    ) -> None:
        self.pipeline = pipeline
        self.embedder = embedder
        self.num_inference_steps = int(num_inference_steps)
        self.guidance_scale = float(guidance_scale)
        unet = pipeline.unet
        scale = getattr(pipeline, "vae_scale_factor", 8)
        sample = int(unet.config.sample_size)
        self.height = int(height or sample * scale)
        self.width = int(width or sample * scale)
        self.latent_shape = (int(unet.config.in_channels), self.height // scale, self.width // scale)
        self.batch_size = int(batch_size)
        self.progress = progress

    @classmethod
    def from_pretrained(
        cls,
        model: str,
        *,
        device: str = "auto",
        dtype: str = "auto",
        local_files_only: bool = True,
        embedder: Any | None = None,
        **kwargs: Any,
    ) -> DiffusersBackend:
        """Load a pipeline from a local directory or hub id (GPU and fp16 when available)."""
        diffusers = _import_diffusers()
        import torch

        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        torch_dtype = torch.float16 if (dtype == "auto" and device == "cuda") or dtype == "fp16" else torch.float32
        try:
            with warnings.catch_warnings():
                # diffusers >= 0.42 renames torch_dtype to dtype; older releases only know torch_dtype
                warnings.filterwarnings("ignore", message=".*torch_dtype.*", category=FutureWarning)
                pipe = diffusers.AutoPipelineForText2Image.from_pretrained(
                    model, torch_dtype=torch_dtype, local_files_only=local_files_only
                )
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"cannot load diffusers pipeline {model!r} ({err}); give a local directory or "
                "a hub id already in the cache, or pass local_files_only=False to download"
            ) from err
        return cls(pipe.to(device), embedder=embedder, **kwargs)

    # rendering -------------------------------------------------------------------------------
    def render(self, prompts: Sequence[str], latents: np.ndarray) -> list[Any]:
        """PIL images for prompts (n,) and initial-noise latents (n, C, h, w)."""
        import torch

        unet = self.pipeline.unet
        images: list[Any] = []
        starts = range(0, len(prompts), self.batch_size)
        for i in tqdm(starts, desc="diffusers", disable=not self.progress):
            lat = torch.as_tensor(latents[i : i + self.batch_size], dtype=unet.dtype, device=unet.device)
            out = self.pipeline(
                prompt=list(prompts[i : i + self.batch_size]),
                latents=lat,
                height=self.height,
                width=self.width,
                num_inference_steps=self.num_inference_steps,
                guidance_scale=self.guidance_scale,
                output_type="pil",
            )
            images.extend(out.images)
        return images

    def embed(self, images: list[Any]) -> np.ndarray | None:
        if self.embedder is None:
            return None
        return np.asarray(self.embedder.embed_images(images), dtype=float)

    def _candidates(self, ids: list[str], prompts: np.ndarray, seeds: np.ndarray, latents: np.ndarray) -> Candidates:
        images = self.render(list(prompts), latents)
        return Candidates(
            ids=np.asarray(ids, dtype=object),
            prompt=np.asarray(prompts, dtype=object),
            seed=np.asarray(seeds, dtype=np.int64),
            latent=latents,
            embedding=self.embed(images),
            images=images,
        )

    # protocol --------------------------------------------------------------------------------
    def generate(self, prompts: Sequence[str], n_per_prompt: int, seed: int) -> Candidates:
        seeds = candidate_seeds(seed, len(prompts), n_per_prompt).ravel()
        latents = np.stack([np.random.default_rng(s).standard_normal(self.latent_shape) for s in seeds])
        names = np.repeat(np.asarray(list(prompts), dtype=object), n_per_prompt)
        ids = [f"{p}#{s}" for p, s in zip(names, seeds, strict=True)]
        return self._candidates(ids, names, seeds, latents)

    def vary(self, candidate: Candidates, mixture_scale: float, n: int, seed: int) -> Candidates:
        if len(candidate) != 1 or candidate.latent is None:
            raise ValueError("vary needs one candidate with a latent")
        z = vary_latent(candidate.latent[0], mixture_scale, n, np.random.default_rng(seed))
        ids = [f"{candidate.ids[0]}.v{seed}.{i}" for i in range(n)]
        return self._candidates(ids, np.repeat(candidate.prompt, n), np.full(n, seed), z)
