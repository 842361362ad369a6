"""Concept-bottleneck reward model (CBM; SPEC section 2, Collins et al. 2024; Koh et al. 2020).

Stage 1 f: x -> (s^1..s^M), a multi-head MLP with one binary (soft-target) head per fine-grained
attribute; stage 2 g: sigmoid(s) -> aggregate logit, linear: g(p) = w . p + b. Training modes:

- ``"sequential"`` (the paper's): fit f on the attribute labels, then g = scikit-learn
  ``LogisticRegression(class_weight="balanced")`` on f's sigmoid outputs for the training rows;
- ``"independent"``: g is fit on the *true* attribute labels and applied to f's predictions;
- ``"joint"``: f and g end to end, loss BCE(aggregate) + lambda * mean_k BCE(attribute k)
  (``concept_weight`` = lambda).

Test-time interventions: ``decision_function(X, known=C, known_mask=K)`` replaces predicted
attribute probabilities by the known values C where K is True before g is applied (see
:mod:`steerstats.models.interventions`). ``aggregator_weights_`` are the w of g per attribute;
:meth:`ConceptBottleneckRewardModel.aggregator_bootstrap` gives their sampling distribution
(stage 2 refit on cluster-bootstrap resamples of the training rows, stage 1 held fixed).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils.validation import check_is_fitted

from steerstats.errors import ConfigError, InputError
from steerstats.models._base import (
    RewardModelBase,
    check_concepts,
    check_X,
    check_Xy,
)
from steerstats.models.training import TrainSpec, apply

MODES = ("sequential", "independent", "joint")


def logistic_weight_bootstrap(
    estimator: LogisticRegression,
    design: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    *,
    n_boot: int = 200,
    seed: int = 0,
    levels: np.ndarray | None = None,
) -> np.ndarray:
    """(B, p) coefficients of ``estimator`` refit on B cluster-bootstrap resamples of the rows
    (whole ``groups`` drawn with replacement, each drawn row repeated as often as its group is drawn:
    the fit on the resampled data, class balancing included). A replicate that draws one class only
    is NaN. ``levels``: the groups the draws are made over (default: those of the rows) - fits on
    subsets of one pool share their draws when given the pool's groups and the same seed."""
    from steerstats.uncertainty.bootstrap import cluster_counts

    design, y, groups = np.asarray(design, float), np.asarray(y), np.asarray(groups)
    levels = np.unique(groups) if levels is None else np.asarray(levels)
    codes = np.searchsorted(levels, groups)
    if np.any(codes >= len(levels)) or np.any(levels[np.minimum(codes, len(levels) - 1)] != groups):
        raise InputError("a row's group is not among the bootstrap levels")
    counts = cluster_counts(len(levels), n_boot, np.random.default_rng(seed))[:, codes]  # (B, n)
    out = np.full((counts.shape[0], design.shape[1]), np.nan)
    for b, repeat in enumerate(counts):
        rows = np.repeat(np.arange(len(y)), repeat)
        if np.unique(y[rows]).size == 2:
            out[b] = clone(estimator).fit(design[rows], y[rows]).coef_[0]
    return out


class ConceptBottleneckRewardModel(RewardModelBase):
    """Two-stage reward model R(x) = g(sigmoid(f(x))) over fine-grained attributes."""

    def __init__(
        self,
        mode: str = "sequential",
        hidden: tuple[int, ...] = (256, 256),
        epochs: int = 100,
        learning_rate: float = 1e-4,
        batch_size: int = 128,
        concept_weight: float = 1.0,
        C: float = 1.0,
        validation_fraction: float = 0.0,
        attribute_names: tuple[str, ...] | None = None,
        random_state: int = 0,
    ) -> None:
        self.mode = mode
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.concept_weight = concept_weight
        self.C = C
        self.validation_fraction = validation_fraction
        self.attribute_names = attribute_names
        self.random_state = random_state

    def spec(self, n_concepts: int | None = None) -> TrainSpec:
        m = self.n_concepts_ if n_concepts is None else n_concepts
        return self._train_spec(
            n_out=m,
            loss="joint" if self.mode == "joint" else "heads",
            concept_weight=float(self.concept_weight),
        )

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        concepts: np.ndarray | None = None,
        groups: np.ndarray | None = None,
    ) -> ConceptBottleneckRewardModel:
        """Fit on embeddings X (n, d), aggregate y (n,) in {0,1}, attribute labels (n, M) in [0,1].

        Attribute labels may be NaN where missing (masked in stage 1; not allowed for the
        independent mode's stage 2, which is fit on them). Inside ``Pipeline``, ``GridSearchCV`` or
        ``cross_val_score`` the labels reach ``fit`` through metadata routing:
        ``sklearn.set_config(enable_metadata_routing=True)``, ``cbm.set_fit_request(concepts=True)``,
        then pass ``concepts=C`` (or ``params={"concepts": C}``) to the meta-estimator.
        """
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {MODES}, got {self.mode!r}")
        X, y = check_Xy(self, X, y)
        if concepts is None:
            raise InputError("a concept-bottleneck model needs attribute labels (concepts=...); inside a "
                             "Pipeline or search, route them with set_fit_request(concepts=True)")
        c = check_concepts(concepts, X.shape[0])
        names = self.attribute_names
        if names is not None and len(names) != c.shape[1]:
            raise InputError(f"{len(names)} attribute_names for {c.shape[1]} attribute columns")
        self.n_concepts_ = c.shape[1]
        target = np.column_stack([y, c]) if self.mode == "joint" else c
        tr = self._fit_network(self.spec(), X, target, None if groups is None else np.asarray(groups))
        if self.mode == "joint":
            agg = self.params_["aggregator"]
            self.aggregator_weights_ = np.asarray(agg["kernel"])[:, 0].astype(float)
            self.aggregator_intercept_ = float(np.asarray(agg["bias"])[0])
            return self
        if self.mode == "sequential":
            stage2_x = self._concepts(X[tr])
        else:
            stage2_x = c[tr]
            if np.isnan(stage2_x).any():
                row = int(np.argwhere(np.isnan(stage2_x))[0, 0]) + 1
                raise InputError("independent mode needs every attribute label", row=row)
        lr = LogisticRegression(class_weight="balanced", C=self.C).fit(stage2_x, y[tr])
        self.stage2_ = lr
        self.aggregator_weights_ = lr.coef_[0].astype(float)
        self.aggregator_intercept_ = float(lr.intercept_[0])
        return self

    def aggregator_bootstrap(
        self,
        X: np.ndarray,
        y: np.ndarray,
        concepts: np.ndarray | None,
        groups: np.ndarray,
        *,
        n_boot: int = 200,
        seed: int = 0,
        levels: np.ndarray | None = None,
    ) -> np.ndarray:
        """(B, M) stage-2 weights refit on cluster-bootstrap resamples of the rows (X, y, concepts,
        groups), normally the training rows: the sampling variability of g given the fitted stage 1
        (stage 1 is not refit, so the spread leaves out stage 1's own sampling noise). ``levels``
        as in :func:`logistic_weight_bootstrap`. The joint mode trains g with f; its weights have
        no stage-2-only bootstrap."""
        check_is_fitted(self)
        if self.mode == "joint":
            raise ConfigError("the joint mode's aggregator is trained with stage 1: no stage-2 bootstrap")
        X = check_X(self, X, reset=False)
        labels = np.asarray(y)
        unknown = ~np.isin(labels, self.classes_)
        if unknown.any():
            raise InputError(f"label {labels[unknown][0]!r} is not one of the fitted classes {list(self.classes_)}",
                             row=int(np.argmax(unknown)) + 1, column="aggregate")
        y = (labels == self.classes_[1]).astype(int)
        if self.mode == "sequential":
            design = self._concepts(X)
        else:
            design = check_concepts(concepts, X.shape[0])
            if np.isnan(design).any():
                raise InputError("independent mode needs every attribute label",
                                 row=int(np.argwhere(np.isnan(design))[0, 0]) + 1)
        return logistic_weight_bootstrap(self.stage2_, design, y, groups, n_boot=n_boot, seed=seed, levels=levels)

    def _concept_logits(self, X: np.ndarray) -> np.ndarray:
        out = apply(self.spec(), self.params_, X)
        return np.asarray(out[0] if self.mode == "joint" else out, dtype=float)

    def _concepts(self, X: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self._concept_logits(X)))

    def concept_logits(self, X: np.ndarray) -> np.ndarray:
        """Stage-1 logits (n, M)."""
        check_is_fitted(self)
        return self._concept_logits(check_X(self, X, reset=False))

    def concepts(self, X: np.ndarray) -> np.ndarray:
        """Predicted attribute probabilities sigmoid(f(x)) (n, M)."""
        check_is_fitted(self)
        return self._concepts(check_X(self, X, reset=False))

    def aggregate_logit(self, probs: np.ndarray) -> np.ndarray:
        """Stage 2 g(p) = w . p + b on attribute probabilities (n, M)."""
        return np.asarray(probs, float) @ self.aggregator_weights_ + self.aggregator_intercept_

    def logit_from_concepts(self, X: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The aggregate logit with the concept probabilities set to ``probs`` (n, M): g(probs)
        (``X`` is not needed by a bottleneck; the concept-embedding model's mixture needs it)."""
        return self.aggregate_logit(probs)

    def decision_function(
        self,
        X: np.ndarray,
        known: np.ndarray | None = None,
        known_mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """Reward logits (n,); with ``known``/``known_mask`` the masked attributes are set."""
        return super().decision_function(X, known=known, known_mask=known_mask)

    def _logits(self, X: np.ndarray, known: np.ndarray | None = None, known_mask: np.ndarray | None = None) -> np.ndarray:
        p = self._concepts(X)
        if known is not None:
            mask = np.ones_like(p, bool) if known_mask is None else np.asarray(known_mask, bool)
            p = np.where(mask, np.asarray(known, float), p)
        return self.aggregate_logit(p)
