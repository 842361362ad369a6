"""Coarse reward model: an MLP on frozen embeddings straight to one binary logit (SPEC section 2).

Paper settings (Collins et al. 2024): two hidden layers of 256, 100 epochs, Adam with lr 1e-4,
batch 128 — the defaults here and in ``models/coarse_paper.toml``.
"""

from __future__ import annotations

import numpy as np

from steerstats.models._base import RewardModelBase, check_Xy
from steerstats.models.training import TrainSpec, apply


class CoarseRewardModel(RewardModelBase):
    """R(x) = MLP(x), trained with binary cross-entropy on the aggregate label.

    ``fit(X, y, concepts=None, groups=None)``: ``concepts`` is accepted (and ignored) so coarse and
    fine-grained models share one call (and one metadata request, ``set_fit_request``); ``groups``
    keeps whole groups on one side of the validation split used for early stopping when
    ``validation_fraction > 0``. ``y`` holds two labels; ``classes_[1]`` is the "good" one.
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (256, 256),
        epochs: int = 100,
        learning_rate: float = 1e-4,
        batch_size: int = 128,
        validation_fraction: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def spec(self) -> TrainSpec:
        return self._train_spec(n_out=1)

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        concepts: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> CoarseRewardModel:
        X, y = check_Xy(self, X, y)
        self._fit_network(self.spec(), X, y[:, None], None if groups is None else np.asarray(groups))
        return self

    def _logits(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(apply(self.spec(), self.params_, X))[:, 0].astype(float)
