"""The offline `synthetic` backend: fresh candidates from a fine-grained-feedback world.

Candidates come from :class:`steerstats.data.simulate.feedback.FeedbackWorld` (the reward-model
issue's generator), so each has known latent attribute values, true binary attributes and a known
expected aggregate: the oracle judges of rejection sampling read these. Prompts label groups of
``n_per_prompt`` candidates that share the world's prompt factor (the world has no text, so a
prompt's shared factor is drawn afresh in every call; the same seed gives the same candidates).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import norm

from steerstats.data.simulate.feedback import FeedbackWorld, FeedbackWorldConfig
from steerstats.generate.candidates import Candidates


def expected_aggregate(world: FeedbackWorld, latent: np.ndarray) -> np.ndarray:
    """P(aggregate = 1 | latent attributes z): the true reward of an item.

    The world labels attribute k by thresholding r_k = sqrt(1 - m_k^2) z_k + m_k z_pi(k) plus
    independent N(0, sigma_ai^2) noise, so P(label_k = 1 | z) = Phi((r_k - t_k) / sigma_ai).
    Tree target: P = p_photo * (p_compelling + (1 - p_compelling) * (1 - p_chaotic)).
    Human target: P = Phi(s(z) / sigma_h), s the noiseless human score.
    """
    c = world.config
    z = np.asarray(latent, dtype=float)
    m = len(c.attributes)
    if c.target == "human":
        lin = z[:, :m] @ world.human_weights + z[:, m:] @ world.unlabelled_weights
        sd = np.sqrt(np.sum(world.human_weights**2) + np.sum(world.unlabelled_weights**2))
        return _phi_ratio(lin / sd, c.human_noise)
    mis = world.misalignment
    read = np.sqrt(1 - mis**2) * z[:, :m] + mis * z[:, world.confused_with]
    p = _phi_ratio(read - world.thresholds, c.ai_label_noise)
    names = c.attributes
    photo, comp, chaos = (p[:, names.index(a)] for a in ("photorealistic", "visually_compelling", "chaotic"))
    return photo * (comp + (1 - comp) * (1 - chaos))


def _phi_ratio(x: np.ndarray, scale: float) -> np.ndarray:
    """Phi(x / scale), the step 1[x > 0] when scale is 0."""
    if scale <= 0:
        return (x > 0).astype(float)
    return norm.cdf(x / scale)


class SyntheticBackend:
    """Generation backend over a :class:`FeedbackWorld` (the offline default)."""

    def __init__(self, world: FeedbackWorld | None = None, **config: object) -> None:
        self.world = world if world is not None else FeedbackWorld(FeedbackWorldConfig(**config))

    @property
    def attribute_names(self) -> tuple[str, ...]:
        return self.world.attribute_names

    def generate(self, prompts: Sequence[str], n_per_prompt: int, seed: int) -> Candidates:
        """``n_per_prompt`` fresh candidates per prompt with their truth.

        ``latent``: the latent attribute values z (labelled then unlabelled); ``attributes``: the
        true binary attributes; ``aggregate``: :func:`expected_aggregate`.
        """
        if n_per_prompt < 1 or not len(prompts):
            raise ValueError("need at least one prompt and n_per_prompt >= 1")
        sample = self.world.sample(len(prompts) * n_per_prompt, seed, group_size=n_per_prompt)
        names = np.repeat(np.asarray(list(prompts), dtype=object), n_per_prompt)
        within = np.tile(np.arange(n_per_prompt), len(prompts))
        return Candidates(
            ids=np.array([f"{p}#{i}" for p, i in zip(names, within, strict=True)], dtype=object),
            prompt=names,
            seed=np.full(len(names), seed, dtype=np.int64),
            latent=sample.latent,
            embedding=sample.embeddings,
            attributes=pd.DataFrame(sample.true_attributes, columns=list(sample.attribute_names)),
            aggregate=expected_aggregate(self.world, sample.latent),
        )
