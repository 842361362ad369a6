"""`Candidates` and the generation-backend protocol.

A backend turns prompts into candidates: ``generate(prompts, n_per_prompt, seed)``. Backends with a
latent (diffusion noise, the synthetic worlds) also offer ``vary(candidate, mixture_scale, n, seed)``,
the latent variations of Vafa et al. (2025, Sec. 5; SPEC Eq. 8, see :mod:`steerstats.generate.vary`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd

MAX_SEED = 2**31 - 1


@dataclass(frozen=True)
class Candidates:
    """Generated (or pooled) items, one row each.

    ``latent``: (n, ...) the latent a latent backend generated from (None otherwise);
    ``embedding``: (n, D) what scorers and similarities read; ``images``: PIL images when the backend
    renders them; ``attributes`` / ``aggregate``: the known truth (synthetic backend, or a pool that
    carries labels), else None.
    """

    ids: np.ndarray
    prompt: np.ndarray
    seed: np.ndarray
    latent: np.ndarray | None = None
    embedding: np.ndarray | None = None
    images: list[Any] | None = None
    attributes: pd.DataFrame | None = None
    aggregate: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = len(self.ids)
        for name in ("prompt", "seed", "latent", "embedding", "images", "attributes", "aggregate"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise ValueError(f"Candidates.{name} has {len(value)} rows for {n} ids")

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: Sequence[int] | np.ndarray) -> Candidates:
        """The candidates at positional ``index`` (in that order)."""
        idx = np.asarray(index, dtype=int)
        return Candidates(
            ids=self.ids[idx],
            prompt=self.prompt[idx],
            seed=self.seed[idx],
            latent=None if self.latent is None else self.latent[idx],
            embedding=None if self.embedding is None else self.embedding[idx],
            images=None if self.images is None else [self.images[i] for i in idx],
            attributes=None
            if self.attributes is None
            else self.attributes.iloc[idx].reset_index(drop=True),
            aggregate=None if self.aggregate is None else self.aggregate[idx],
        )

    def frame(self) -> pd.DataFrame:
        """One row per candidate: id, prompt, seed, and the known truth when there is one."""
        out = pd.DataFrame({"id": self.ids, "prompt": self.prompt, "seed": self.seed})
        if self.aggregate is not None:
            out["aggregate"] = self.aggregate
        if self.attributes is not None:
            out = pd.concat([out, self.attributes.reset_index(drop=True)], axis=1)
        return out


def concat_candidates(parts: Sequence[Candidates]) -> Candidates:
    """Row-bind candidates from one backend (the same optional fields present in every part)."""
    if not parts:
        raise ValueError("no candidates to concatenate")

    def cat(name: str) -> Any:
        values = [getattr(p, name) for p in parts]
        if any(v is None for v in values):
            return None
        if name == "images":
            return [im for v in values for im in v]
        if name == "attributes":
            return pd.concat(values, ignore_index=True)
        return np.concatenate(values)

    return Candidates(
        ids=cat("ids"),
        prompt=cat("prompt"),
        seed=cat("seed"),
        latent=cat("latent"),
        embedding=cat("embedding"),
        images=cat("images"),
        attributes=cat("attributes"),
        aggregate=cat("aggregate"),
    )


def candidate_seeds(seed: int, n_prompts: int, n_per_prompt: int) -> np.ndarray:
    """(n_prompts, n_per_prompt) per-candidate seeds drawn from one run seed.

    Each candidate is reproducible on its own from its seed, as a diffusion sample is.
    """
    rng = np.random.default_rng(seed)
    return rng.integers(0, MAX_SEED, size=(n_prompts, n_per_prompt), dtype=np.int64)


@runtime_checkable
class GenerationBackend(Protocol):
    """Anything that turns prompts into candidates."""

    def generate(self, prompts: Sequence[str], n_per_prompt: int, seed: int) -> Candidates: ...


@runtime_checkable
class LatentBackend(GenerationBackend, Protocol):
    """A backend whose candidates come from a latent that can be varied (SPEC Eq. 8)."""

    def vary(self, candidate: Candidates, mixture_scale: float, n: int, seed: int) -> Candidates: ...
