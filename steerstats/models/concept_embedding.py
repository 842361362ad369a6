"""Concept-embedding reward model (CEM; Espinosa Zarlenga et al. 2022, NeurIPS): the fourth
concept-model mode next to the sequential, independent and joint bottlenecks.

Each attribute is a pair of learned embeddings mixed by its predicted probability
(:class:`steerstats.models.mlp.ConceptEmbedding`), so the aggregate sees more than one number per
concept while test-time interventions still act through the probabilities: setting p_k to a known
value moves the mixture to that concept's "on" or "off" embedding. Trained end to end (loss
BCE(aggregate) + ``concept_weight`` x mean BCE(attribute)) with random training-time interventions
(RandInt): each training row has each attribute intervened on with probability
``intervention_rate``. The interventions are drawn once per training row from ``random_state``
(the compiled training run is a pure function of its inputs), not afresh at every step as in the
paper; missing labels are never intervened on.
"""

from __future__ import annotations

import numpy as np
from sklearn.utils.validation import check_is_fitted

from steerstats.errors import InputError
from steerstats.models._base import RewardModelBase, check_concepts, check_X, check_Xy
from steerstats.models.training import TrainSpec, apply, apply_intervened


class ConceptEmbeddingRewardModel(RewardModelBase):
    """R(x) from concept embeddings; the interface of
    :class:`~steerstats.models.ConceptBottleneckRewardModel` (``concepts``, interventions through
    ``decision_function(X, known=, known_mask=)`` and :meth:`logit_from_concepts`)."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (256, 256),
        embedding_size: int = 16,
        epochs: int = 100,
        learning_rate: float = 1e-4,
        batch_size: int = 128,
        concept_weight: float = 1.0,
        intervention_rate: float = 0.25,
        validation_fraction: float = 0.0,
        attribute_names: tuple[str, ...] | None = None,
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.embedding_size = embedding_size
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.concept_weight = concept_weight
        self.intervention_rate = intervention_rate
        self.validation_fraction = validation_fraction
        self.attribute_names = attribute_names
        self.random_state = random_state

    def spec(self, n_concepts: int | None = None) -> TrainSpec:
        m = self.n_concepts_ if n_concepts is None else n_concepts
        return TrainSpec(hidden=tuple(int(h) for h in self.hidden), n_out=int(m), loss="cem",
                         concept_weight=float(self.concept_weight), epochs=int(self.epochs),
                         batch_size=int(self.batch_size), learning_rate=float(self.learning_rate),
                         concept_embedding=int(self.embedding_size))

    def fit(self, X: np.ndarray, y: np.ndarray, concepts: np.ndarray | None = None,
            groups: np.ndarray | None = None) -> ConceptEmbeddingRewardModel:
        X, y = check_Xy(self, X, y)
        if concepts is None:
            raise InputError("a concept-embedding model needs attribute labels (concepts=...)")
        c = check_concepts(concepts, X.shape[0])
        if not 0 <= float(self.intervention_rate) <= 1:
            raise InputError(f"intervention_rate must be in [0, 1], got {self.intervention_rate}")
        self.n_concepts_ = c.shape[1]
        rng = np.random.default_rng([int(self.random_state), 17])
        mask = (rng.random(c.shape) < float(self.intervention_rate)) & np.isfinite(c)
        target = np.column_stack([y, c, mask.astype(float)])
        self._fit_network(self.spec(), X, target, None if groups is None else np.asarray(groups))
        return self

    def _concept_logits(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(apply(self.spec(), self.params_, X)[0], dtype=float)

    def concepts(self, X: np.ndarray) -> np.ndarray:
        """Predicted attribute probabilities (n, M)."""
        check_is_fitted(self)
        return 1.0 / (1.0 + np.exp(-self._concept_logits(check_X(self, X, reset=False))))

    def logit_from_concepts(self, X: np.ndarray, probs: np.ndarray) -> np.ndarray:
        """The aggregate logit with every concept probability set to ``probs`` (n, M)."""
        check_is_fitted(self)
        X = check_X(self, X, reset=False)
        probs = np.asarray(probs, float)
        out = apply_intervened(self.spec(), self.params_, X, probs, np.ones_like(probs))
        return np.asarray(out[1], dtype=float)

    def decision_function(self, X: np.ndarray, known: np.ndarray | None = None,
                          known_mask: np.ndarray | None = None) -> np.ndarray:
        return super().decision_function(X, known=known, known_mask=known_mask)

    def _logits(self, X: np.ndarray, known: np.ndarray | None = None, known_mask: np.ndarray | None = None) -> np.ndarray:
        if known is None:
            return np.asarray(apply(self.spec(), self.params_, X)[1], dtype=float)
        known = np.asarray(known, float)
        mask = np.ones_like(known, bool) if known_mask is None else np.asarray(known_mask, bool)
        mask = mask & np.isfinite(known)
        out = apply_intervened(self.spec(), self.params_, X, np.nan_to_num(known), mask.astype(float))
        return np.asarray(out[1], dtype=float)
