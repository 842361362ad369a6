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
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted

from steerstats.data.embedding_table import KeyedEmbeddings
from steerstats.errors import ConfigError, InputError
from steerstats.features import EmbeddingCache, FeatureBuilder, TextEmbedder
from steerstats.features.design import needs_text_embedder

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


class SteerabilityPredictor(RegressorMixin, BaseEstimator):
    """Predict per-attempt similarity (``target``) from model, prompt and goal features.

    A scikit-learn regressor whose ``X`` is a study frame (steering rows: model, prompt, goal
    columns): ``fit(frame, y=None)`` reads ``y`` from ``frame[target]`` when not given, ``score`` is
    R^2, and it works in ``clone``, ``GridSearchCV`` and ``cross_val_score`` (with goal groups).
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
        goal_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
        prompt_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
        target: str = "dreamsim",
        seed: int = 0,
    ) -> None:
        self.predictor = predictor
        self.head = head
        self.embedder = embedder
        self.cache = cache
        self.goal_embeddings = goal_embeddings
        self.prompt_embeddings = prompt_embeddings
        self.target = target
        self.seed = seed

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # X is a study frame (strings, categories), not a numeric matrix
        tags.input_tags.categorical = True
        tags.input_tags.string = True
        return tags

    def _target(self, frame: pd.DataFrame, y: np.ndarray | None) -> np.ndarray:
        if y is None:
            if self.target not in frame.columns:
                raise InputError(f"no target given and the frame has no '{self.target}' column", column=self.target)
            y = frame[self.target]
        y = np.asarray(y, dtype=float).reshape(-1)
        if len(y) != len(frame):
            raise InputError(f"y has {len(y)} values for {len(frame)} rows", column=self.target)
        return y

    def fit(self, X: pd.DataFrame, y: np.ndarray | None = None, sample_weight: np.ndarray | None = None) -> SteerabilityPredictor:
        """Fit on the steering rows ``X``; ``y`` defaults to ``X[target]``."""
        if self.predictor not in PREDICTORS:
            raise ConfigError(f"unknown predictor '{self.predictor}' (choose from {', '.join(PREDICTORS)})")
        if not isinstance(X, pd.DataFrame):
            raise InputError(f"SteerabilityPredictor takes a study frame (pandas DataFrame), got {type(X).__name__}")
        frame = X
        target = self._target(frame, y)
        blocks = PREDICTORS[self.predictor]
        needs_text = needs_text_embedder(blocks, goal_embeddings=self.goal_embeddings,
                                         prompt_embeddings=self.prompt_embeddings)
        if needs_text and self.embedder is None:
            raise ConfigError(f"predictor '{self.predictor}' needs a text embedder")
        self.builder_ = FeatureBuilder(
            blocks,
            self.embedder() if needs_text else None,
            cache=self.cache,
            goal_embeddings=self.goal_embeddings,
            prompt_embeddings=self.prompt_embeddings,
        )
        design = self.builder_.fit_transform(frame)
        x, penalized = design.matrix()
        self.head_ = make_head(self.head, seed=self.seed)
        self.head_.fit(
            x,
            target,
            penalized,
            groups=frame["goal_image"].to_numpy(),
            sample_weight=sample_weight,
        )
        return self

    def predict(self, X: pd.DataFrame, model: str | None = None) -> np.ndarray:
        """Predicted similarity of each row (under model ``model`` when given: mu_model(x))."""
        check_is_fitted(self)
        x, _ = self.builder_.transform(X).matrix(model=model)
        return self.head_.predict(x)

    def score(self, X: pd.DataFrame, y: np.ndarray | None = None, sample_weight: np.ndarray | None = None) -> float:
        """R^2 of the predictions (``sklearn.metrics.r2_score``); ``y`` defaults to ``X[target]``."""
        return float(r2_score(self._target(X, y), self.predict(X), sample_weight=sample_weight))
