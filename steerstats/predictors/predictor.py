"""The paper's four steerability predictors (Vafa et al. 2025, Sec. 4) as one estimator.

    (1) "mean":               the training mean
    (2) "model":              model identity (one-hot)
    (3) "model+prompt":       model + user-prompt embedding
    (4) "model+prompt+goal":  model + prompt embedding + goal embedding

each with a ridge or MLP head. ``predict(frame, model=m)`` evaluates mu_m: every row as if it had
been steered on model m (the decomposition's counterfactual).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from steerstats.errors import ConfigError
from steerstats.features import EmbeddingCache, FeatureBuilder, TextEmbedder

PREDICTORS: dict[str, tuple[str, ...]] = {
    "mean": (),
    "model": ("model",),
    "model+prompt": ("model", "prompt"),
    "model+prompt+goal": ("model", "prompt", "goal"),
}
HEADS = ("ridge", "mlp")


def make_head(head: str, *, seed: int = 0):
    """A fresh regression head by name."""
    if head == "ridge":
        from steerstats.predictors.ridge import RidgeHead

        return RidgeHead(seed=seed)
    if head == "mlp":
        from steerstats.predictors.mlp import MLPHead

        return MLPHead(seed=seed)
    raise ConfigError(f"unknown head '{head}' (choose from {', '.join(HEADS)})")


class SteerabilityPredictor:
    """Predict per-attempt similarity (``target``) from model, prompt and goal features.

    ``embedder`` is a zero-argument factory of a fresh text embedder, so every fit (e.g. every
    fold) fits its own TF-IDF on its own training rows.
    """

    def __init__(
        self,
        predictor: str = "model+prompt+goal",
        head: str = "ridge",
        embedder: Callable[[], TextEmbedder] | None = None,
        *,
        cache: EmbeddingCache | None = None,
        goal_embeddings: pd.DataFrame | None = None,
        target: str = "dreamsim",
        seed: int = 0,
    ) -> None:
        if predictor not in PREDICTORS:
            raise ConfigError(f"unknown predictor '{predictor}' (choose from {', '.join(PREDICTORS)})")
        self.predictor = predictor
        self.head = head
        self.embedder = embedder
        self.cache = cache
        self.goal_embeddings = goal_embeddings
        self.target = target
        self.seed = seed

    def fit(self, frame: pd.DataFrame, sample_weight: np.ndarray | None = None) -> SteerabilityPredictor:
        blocks = PREDICTORS[self.predictor]
        needs_text = "prompt" in blocks or ("goal" in blocks and self.goal_embeddings is None)
        if needs_text and self.embedder is None:
            raise ConfigError(f"predictor '{self.predictor}' needs a text embedder")
        self.builder_ = FeatureBuilder(
            blocks,
            self.embedder() if needs_text else None,
            cache=self.cache,
            goal_embeddings=self.goal_embeddings,
        )
        design = self.builder_.fit_transform(frame)
        x, penalized = design.matrix()
        self.head_ = make_head(self.head, seed=self.seed)
        self.head_.fit(
            x,
            frame[self.target].to_numpy(dtype=float),
            penalized,
            groups=frame["goal_image"].to_numpy(),
            sample_weight=sample_weight,
        )
        return self

    def predict(self, frame: pd.DataFrame, model: str | None = None) -> np.ndarray:
        x, _ = self.builder_.transform(frame).matrix(model=model)
        return self.head_.predict(x)
