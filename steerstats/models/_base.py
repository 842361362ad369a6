"""Shared pieces of the reward-model estimators: input checks, validation split, the network's
training spec and run, ROC-AUC score."""

from __future__ import annotations

import jax
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit

from steerstats.errors import InputError
from steerstats.models.training import TrainSpec, train


def check_X(X: np.ndarray, dim: int | None = None) -> np.ndarray:
    X = np.asarray(X, dtype=np.float32)
    if X.ndim != 2:
        raise InputError(f"embeddings must be a 2-d array (n, dim), got shape {X.shape}")
    if not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X))[0, 0]) + 1
        raise InputError("embeddings contain NaN or infinite values", row=row, column="embedding")
    if dim is not None and X.shape[1] != dim:
        raise InputError(f"embeddings have dimension {X.shape[1]}, the model was fit on {dim}")
    return X


def check_binary(y: np.ndarray, n: int, column: str = "aggregate") -> np.ndarray:
    y = np.asarray(y, dtype=float).reshape(-1)
    if y.shape[0] != n:
        raise InputError(f"{column} has {y.shape[0]} values for {n} embeddings", column=column)
    bad = ~np.isin(y, (0.0, 1.0))
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise InputError(f"{column} must be 0 or 1, got {y[row - 1]!r}", row=row, column=column)
    return y


def check_concepts(c: np.ndarray, n: int, *, allow_nan: bool = True) -> np.ndarray:
    c = np.asarray(c, dtype=float)
    if c.ndim == 1:
        c = c[:, None]
    if c.ndim != 2 or c.shape[0] != n:
        raise InputError(f"concepts must be (n={n}, n_attributes), got shape {c.shape}")
    finite = np.isfinite(c) | (np.isnan(c) if allow_nan else False)
    bad = ~finite | (np.nan_to_num(c, nan=0.5) < 0) | (np.nan_to_num(c, nan=0.5) > 1)
    if bad.any():
        row, col = (int(v) for v in np.argwhere(bad)[0])
        raise InputError(
            f"attribute labels must be in [0, 1], got {c[row, col]!r} (attribute index {col})",
            row=row + 1,
        )
    return c


def validation_split(
    n: int, fraction: float, seed: int, groups: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation row indices; whole groups go to one side when ``groups`` is given."""
    if fraction <= 0:
        return np.arange(n), np.arange(0)
    if groups is None:
        splitter = ShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        return next(splitter.split(np.zeros(n)))
    splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
    return next(splitter.split(np.zeros(n), groups=groups))


class RewardModelBase(BaseEstimator):
    """ROC-AUC ``score``, seeded keys and the network's training run; subclasses define
    ``decision_function`` and the hyperparameters read here."""

    hidden: tuple[int, ...]
    epochs: int
    learning_rate: float
    batch_size: int
    validation_fraction: float
    random_state: int

    def _key(self) -> jax.Array:
        return jax.random.key(int(self.random_state))

    def _train_spec(self, n_out: int, **loss: object) -> TrainSpec:
        """The network's :class:`TrainSpec` from the estimator's hyperparameters."""
        return TrainSpec(
            hidden=tuple(int(h) for h in self.hidden),
            n_out=int(n_out),
            **loss,
            epochs=int(self.epochs),
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
        )

    def _fit_network(
        self, spec: TrainSpec, X: np.ndarray, target: np.ndarray, groups: np.ndarray | None
    ) -> np.ndarray:
        """Train on the training rows, early-stop on the validation rows; returns the training rows.

        Sets ``params_``, ``train_loss_``, ``val_loss_`` and ``best_epoch_``.
        """
        tr, va = validation_split(len(X), self.validation_fraction, self.random_state, groups)
        result = train(
            spec,
            X[tr],
            target[tr],
            self._key(),
            x_val=X[va] if len(va) else None,
            y_val=target[va] if len(va) else None,
        )
        self.params_ = result.params
        self.train_loss_ = result.train_loss
        self.val_loss_ = result.val_loss
        self.best_epoch_ = result.best_epoch
        return tr

    def predict_proba(self, X: np.ndarray, **kwargs) -> np.ndarray:
        """(n, 2) probabilities [P(bad), P(good)]."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X, **kwargs)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray, **kwargs) -> np.ndarray:
        return (self.decision_function(X, **kwargs) > 0).astype(int)

    def score(self, X: np.ndarray, y: np.ndarray, **kwargs) -> float:
        """Held-out ROC-AUC of the reward (``sklearn.metrics.roc_auc_score``)."""
        return float(roc_auc_score(np.asarray(y).reshape(-1), self.decision_function(X, **kwargs)))
