"""A synthetic text-to-image model for image-steering simulations (Vafa et al. 2025, Sec. 5).

An image is a fixed random non-linear function of a prompt vector p and a noise latent z:

    h = tanh(gain * (W_p p + W_z z) / sqrt(q + d) + b),   embedding = W_o h

The goal image comes from the model itself (p_g, z_g ~ N(0, I)); the user's prompt misses the goal
prompt (p_u = p_g + prompt_noise * xi), so steering by latent variations can only fix the z part and
prompt re-draws only resample. Because the map is non-linear, how far to move in latent space (the
mixture scale) that pays off depends on how close the current image already is: far away, large
jumps; close, small refinements, which is what a learned proposal policy can exploit.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from steerstats.generate.candidates import Candidates, candidate_seeds
from steerstats.generate.vary import vary_latent


@dataclass(frozen=True)
class Tasks:
    """A batch of steering tasks: goal and the user's starting point."""

    goal_prompt: np.ndarray  # (E, q)
    goal_embedding: np.ndarray  # (E, D)
    user_prompt: np.ndarray  # (E, q)
    start_latent: np.ndarray  # (E, d)

    def __len__(self) -> int:
        return len(self.goal_prompt)


@dataclass(frozen=True)
class SteeringWorld:
    """Fixed random prompt x latent -> embedding map; ``seed`` fixes the map, not the draws."""

    latent_dim: int = 8
    prompt_dim: int = 8
    embed_dim: int = 32
    hidden: int = 64
    gain: float = 3.0
    prompt_noise: float = 0.3
    seed: int = 0
    _w: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        w = {
            "p": rng.standard_normal((self.prompt_dim, self.hidden)),
            "z": rng.standard_normal((self.latent_dim, self.hidden)),
            "b": 0.5 * rng.standard_normal(self.hidden),
            "o": rng.standard_normal((self.hidden, self.embed_dim)) / np.sqrt(self.hidden),
        }
        object.__setattr__(self, "_w", w)

    def embed(self, prompt: np.ndarray, latent: np.ndarray) -> np.ndarray:
        """Embedding of images with prompt vectors (..., q) and latents (..., d)."""
        w = self._w
        pre = (prompt @ w["p"] + latent @ w["z"]) / np.sqrt(self.prompt_dim + self.latent_dim)
        return np.tanh(self.gain * pre + w["b"]) @ w["o"]

    def sample_tasks(self, n: int, rng: np.random.Generator) -> Tasks:
        """Goals drawn from the model itself and each user's first image from their prompt."""
        goal_p = rng.standard_normal((n, self.prompt_dim))
        goal_z = rng.standard_normal((n, self.latent_dim))
        user_p = self.rewrite(goal_p, rng)
        start_z = rng.standard_normal((n, self.latent_dim))
        return Tasks(goal_p, self.embed(goal_p, goal_z), user_p, start_z)

    def rewrite(self, goal_prompt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A user's prompt for the goal: the goal prompt plus description error."""
        return goal_prompt + self.prompt_noise * rng.standard_normal(goal_prompt.shape)

    # generation-backend protocol -----------------------------------------------------------------
    def prompt_vector(self, prompt: str) -> np.ndarray:
        """A fixed vector per prompt string (crc32 of the text seeds it)."""
        rng = np.random.default_rng([self.seed, zlib.crc32(prompt.encode("utf-8"))])
        return rng.standard_normal(self.prompt_dim)

    def generate(self, prompts: Sequence[str], n_per_prompt: int, seed: int) -> Candidates:
        seeds = candidate_seeds(seed, len(prompts), n_per_prompt)
        p = np.repeat(np.stack([self.prompt_vector(t) for t in prompts]), n_per_prompt, axis=0)
        z = np.stack([np.random.default_rng(s).standard_normal(self.latent_dim) for s in seeds.ravel()])
        names = np.repeat(np.asarray(prompts, dtype=object), n_per_prompt)
        return Candidates(
            ids=np.array([f"{i}" for i in range(len(z))], dtype=object),
            prompt=names,
            seed=seeds.ravel(),
            latent=z,
            embedding=self.embed(p, z),
        )

    def vary(self, candidate: Candidates, mixture_scale: float, n: int, seed: int) -> Candidates:
        if len(candidate) != 1 or candidate.latent is None:
            raise ValueError("vary needs one candidate with a latent")
        rng = np.random.default_rng(seed)
        z = vary_latent(candidate.latent[0], mixture_scale, n, rng)
        p = np.broadcast_to(self.prompt_vector(str(candidate.prompt[0])), (n, self.prompt_dim))
        return Candidates(
            ids=np.array([f"{candidate.ids[0]}.v{i}" for i in range(n)], dtype=object),
            prompt=np.repeat(candidate.prompt, n),
            seed=np.full(n, seed, dtype=np.int64),
            latent=z,
            embedding=self.embed(p, z),
        )
