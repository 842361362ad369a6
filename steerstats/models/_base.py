"""Shared pieces of the reward-model estimators: the scikit-learn classifier contract (input
validation at the edge, ``classes_``, ``NotFittedError``), validation split, the network's training
spec and run, ROC-AUC score.

The prologue of every method follows scikit-learn's: ``check_is_fitted`` -> ``validate_data`` ->
compute. On top of scikit-learn's checks, non-finite embeddings and missing labels are reported by
row (an :class:`~steerstats.errors.InputError`, which is a ``ValueError``).
"""

from __future__ import annotations

import jax
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from steerstats.errors import InputError
from steerstats.models.training import TrainSpec, train


def _finite_rows(X: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(X)):
        row = int(np.argwhere(~np.isfinite(X))[0, 0]) + 1
        raise InputError("embeddings contain NaN or infinite (inf) values", row=row, column="embedding")
    return X


def check_X(estimator: BaseEstimator, X: np.ndarray, *, reset: bool) -> np.ndarray:
    """Embeddings as a dense (n, d) float32 array; ``reset`` on fit (records ``n_features_in_``),
    otherwise checked against it."""
    X = validate_data(estimator, X, reset=reset, dtype=np.float32, ensure_all_finite=False)
    return _finite_rows(X)


def check_Xy(estimator: BaseEstimator, X: np.ndarray, y: np.ndarray, column: str = "aggregate") -> tuple[np.ndarray, np.ndarray]:
    """(X float32 (n, d), y in {0, 1} (n,)) for fit; sets ``classes_`` (two labels, the second is
    the positive "good" class). Missing labels are an error with the row."""
    if y is not None:
        labels = np.asarray(y)
        if labels.dtype.kind == "f" and labels.ndim >= 1 and np.isnan(labels).any():
            row = int(np.argwhere(np.isnan(labels.reshape(len(labels), -1)))[0, 0]) + 1
            raise InputError(f"{column} is missing", row=row, column=column)
    X, y = validate_data(estimator, X, y, reset=True, dtype=np.float32, ensure_all_finite=False)
    _finite_rows(X)
    check_classification_targets(y)
    classes, encoded = np.unique(y, return_inverse=True)
    if len(classes) != 2:
        rarest = int(np.argmin(np.bincount(encoded)))
        row = int(np.argmax(encoded == rarest)) + 1 if len(classes) > 2 else None
        raise InputError(f"Only binary classification is supported (a reward is one logit). The type of the target "
                         f"is {type_of_target(y)}: {column} has {len(classes)} class{'es' if len(classes) != 1 else ''} "
                         f"{[c.item() if hasattr(c, 'item') else c for c in classes[:5]]}"
                         + (f"; the rarest, {classes[rarest].item() if hasattr(classes[rarest], 'item') else classes[rarest]!r}, "
                            "first appears here" if row else ""),
                         row=row, column=column)
    estimator.classes_ = classes
    return X, encoded.astype(float)


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


class RewardModelBase(ClassifierMixin, BaseEstimator):
    """Binary classifier of "good" outputs: ROC-AUC ``score``, seeded keys and the network's
    training run; subclasses define ``_logits`` and the hyperparameters read here."""

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

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # a reward is one logit: binary only
        tags.input_tags.allow_nan = False
        return tags

    def decision_function(self, X: np.ndarray, **kwargs) -> np.ndarray:
        """Reward logits (n,): log-odds of ``classes_[1]``."""
        check_is_fitted(self)
        return self._logits(check_X(self, X, reset=False), **kwargs)

    def predict_proba(self, X: np.ndarray, **kwargs) -> np.ndarray:
        """(n, 2) probabilities of ``classes_`` ([P(bad), P(good)] for 0/1 labels)."""
        p = 1.0 / (1.0 + np.exp(-self.decision_function(X, **kwargs)))
        return np.column_stack([1.0 - p, p])

    def predict(self, X: np.ndarray, **kwargs) -> np.ndarray:
        positive = self.decision_function(X, **kwargs) > 0
        return self.classes_[positive.astype(int)]

    def score(self, X: np.ndarray, y: np.ndarray, **kwargs) -> float:
        """Held-out ROC-AUC of the reward (``sklearn.metrics.roc_auc_score``; a reward model is
        judged by how it ranks, not by accuracy at one threshold)."""
        y = np.asarray(y).reshape(-1)
        return float(roc_auc_score(y == self.classes_[1], self.decision_function(X, **kwargs)))
