"""Preference reward models: a reward r(x) on frozen embeddings learned from comparisons
(:class:`BradleyTerryRewardModel`, pairs) or rankings (:class:`PlackettLuceRewardModel`).

:class:`BradleyTerryRewardModel` fits r so that P(a preferred to b) = sigmoid(r(x_a) - r(x_b))
(Bradley & Terry 1952; the loss of trl's RewardTrainer) on pairs of items, with ties
``"davidson"`` (modelled: P(a) : P(b) : P(tie) = e^{d/2} : e^{-d/2} : nu, Davidson 1970, nu
learned), ``"half"`` (a tie is half a win for each side) or ``"drop"`` (ties left out of training).
The network and its training run are those of the coarse reward model (:mod:`.training`); a pair
row is [x_a | x_b] and one MLP scores both halves.

Data: ``X`` holds the items (n_items, d), ``pairs`` (m, 2) indexes them, ``outcome`` (m,) is 1 when
the first item of the pair was preferred, 0 when the second was, 0.5 for a tie. Self-pairs, unknown
indices and empty sets are errors; cycles (a > b > c > a) are fine (they are what the noise model is for).
"""

from __future__ import annotations

import jax
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from steerstats.errors import ConfigError, InputError
from steerstats.models._base import validation_split
from steerstats.models.training import TrainSpec, apply, train

TIES = ("davidson", "half", "drop")


def check_pairs(n_items: int, pairs: np.ndarray, outcome: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Validated (m, 2) int pairs and (m,) outcomes in {0, 0.5, 1}."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise InputError(f"pairs must have shape (m, 2), got {pairs.shape}")
    if len(pairs) == 0:
        raise InputError("no pairs (an empty comparison set)")
    if not np.issubdtype(pairs.dtype, np.integer):
        if not np.all(np.mod(pairs, 1) == 0):
            raise InputError("pair indices must be integers")
        pairs = pairs.astype(np.int64)
    bad = (pairs < 0) | (pairs >= n_items)
    if bad.any():
        row = int(np.flatnonzero(bad.any(axis=1))[0])
        raise InputError(f"pair {row + 1} refers to item {int(pairs[row][bad[row]][0])}, not among the {n_items} items",
                         row=row + 1)
    same = pairs[:, 0] == pairs[:, 1]
    if same.any():
        row = int(np.flatnonzero(same)[0])
        raise InputError(f"pair {row + 1} compares item {int(pairs[row, 0])} with itself", row=row + 1)
    if outcome is None:
        return pairs, None
    outcome = np.asarray(outcome, dtype=float).reshape(-1)
    if len(outcome) != len(pairs):
        raise InputError(f"{len(outcome)} outcomes for {len(pairs)} pairs")
    wrong = ~np.isin(outcome, (0.0, 0.5, 1.0))
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise InputError(f"outcome {outcome[row]!r}: must be 1 (first preferred), 0 (second) or 0.5 (tie)", row=row + 1)
    return pairs, outcome


class BradleyTerryRewardModel(BaseEstimator):
    """r(x) = MLP(x) from pairwise preferences (module docstring); ``score`` is pairwise accuracy
    on the non-tied pairs."""

    def __init__(
        self,
        hidden: tuple[int, ...] = (256, 256),
        epochs: int = 100,
        learning_rate: float = 1e-4,
        batch_size: int = 128,
        ties: str = "davidson",
        validation_fraction: float = 0.0,
        random_state: int = 0,
    ) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.ties = ties
        self.validation_fraction = validation_fraction
        self.random_state = random_state

    def spec(self) -> TrainSpec:
        if self.ties not in TIES:
            raise ConfigError(f"ties must be one of {', '.join(TIES)}, got {self.ties!r}")
        return TrainSpec(hidden=tuple(int(h) for h in self.hidden), n_out=1,
                         loss="davidson" if self.ties == "davidson" else "bradley_terry",
                         epochs=int(self.epochs), batch_size=int(self.batch_size),
                         learning_rate=float(self.learning_rate))

    def fit(self, X: np.ndarray, pairs: np.ndarray, outcome: np.ndarray,
            groups: np.ndarray | None = None) -> BradleyTerryRewardModel:
        """``groups`` (one per pair, e.g. the question) keeps a group on one side of the validation split."""
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise InputError("X must be a finite (n_items, d) array")
        pairs, outcome = check_pairs(len(X), pairs, outcome)
        keep = outcome != 0.5 if self.ties == "drop" else np.ones(len(pairs), bool)
        if not keep.any():
            raise InputError("every pair is a tie and ties='drop': nothing to learn from")
        pairs, outcome = pairs[keep], outcome[keep]
        groups = None if groups is None else np.asarray(groups)[keep]
        rows = np.hstack([X[pairs[:, 0]], X[pairs[:, 1]]])
        spec = self.spec()
        tr, va = validation_split(len(rows), self.validation_fraction, self.random_state, groups)
        result = train(spec, rows[tr], outcome[tr, None], jax.random.key(int(self.random_state)),
                       x_val=rows[va] if len(va) else None, y_val=outcome[va, None] if len(va) else None)
        self.params_ = result.params
        self.train_loss_, self.val_loss_, self.best_epoch_ = result.train_loss, result.val_loss, result.best_epoch
        self.n_features_in_ = X.shape[1]
        self.n_ties_dropped_ = int((~keep).sum())
        return self

    @property
    def tie_parameter_(self) -> float:
        """nu of the Davidson model (NaN for the other tie treatments)."""
        check_is_fitted(self)
        return float(np.exp(self.params_["log_nu"])) if "log_nu" in self.params_ else float("nan")

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """The reward r(x) of each item (n,)."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise InputError(f"X must have {self.n_features_in_} columns, got shape {X.shape}")
        return np.asarray(apply(self.spec(), self.params_, X)).astype(float)

    def score_items(self, X: np.ndarray) -> np.ndarray:
        """Alias of :meth:`decision_function`: what best-of-N selection ranks by."""
        return self.decision_function(X)

    def predict_pair_proba(self, X: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """(m, 3): P(first preferred), P(second), P(tie) (0 unless ties='davidson')."""
        pairs, _ = check_pairs(len(X), pairs)
        r = self.decision_function(X)
        d = r[pairs[:, 0]] - r[pairs[:, 1]]
        if self.ties == "davidson":
            logits = np.stack([d / 2, -d / 2, np.full_like(d, float(self.params_["log_nu"]))], axis=1)
            logits -= logits.max(axis=1, keepdims=True)
            e = np.exp(logits)
            return e / e.sum(axis=1, keepdims=True)
        p = 1 / (1 + np.exp(-d))
        return np.column_stack([p, 1 - p, np.zeros_like(p)])

    def score(self, X: np.ndarray, pairs: np.ndarray, outcome: np.ndarray) -> float:
        """Pairwise accuracy on the pairs with a preference (ties excluded; a predicted tie counts 1/2)."""
        pairs, outcome = check_pairs(len(X), pairs, outcome)
        r = self.decision_function(X)
        d = r[pairs[:, 0]] - r[pairs[:, 1]]
        keep = outcome != 0.5
        correct = np.where(d[keep] == 0, 0.5, ((d[keep] > 0) == (outcome[keep] == 1)).astype(float))
        return float(correct.mean())


def check_rankings(n_items: int, rankings, unranked=None) -> tuple[np.ndarray, np.ndarray]:
    """Padded (lists, m) item indices and (lists, m) slot codes (1 ranked, 2 unranked, 0 padding).

    ``rankings[i]`` lists items best first; ``unranked[i]`` (optional) the other items of that
    choice set, ranked below none of them but in every denominator (a top-k ranking)."""
    rankings = list(rankings)
    if not rankings:
        raise InputError("no rankings (an empty set)")
    unranked = [()] * len(rankings) if unranked is None else list(unranked)
    if len(unranked) != len(rankings):
        raise InputError(f"{len(unranked)} unranked sets for {len(rankings)} rankings")
    m = max(len(r) + len(u) for r, u in zip(rankings, unranked, strict=True))
    items = np.zeros((len(rankings), m), np.int64)
    codes = np.zeros((len(rankings), m), np.float32)
    for i, (r, u) in enumerate(zip(rankings, unranked, strict=True), start=1):
        r, u = [int(v) for v in r], [int(v) for v in u]
        every = r + u
        if len(r) < 1 or len(every) < 2:
            raise InputError(f"ranking {i} compares fewer than two items", row=i)
        if len(set(every)) != len(every):
            raise InputError(f"ranking {i} lists an item twice", row=i)
        bad = [v for v in every if not 0 <= v < n_items]
        if bad:
            raise InputError(f"ranking {i} refers to item {bad[0]}, not among the {n_items} items", row=i)
        items[i - 1, : len(every)] = every
        codes[i - 1, : len(r)] = 1
        codes[i - 1, len(r): len(every)] = 2
    return items, codes


class PlackettLuceRewardModel(BaseEstimator):
    """r(x) = MLP(x) from rankings: P(ranking) = prod_j exp(r_j) / sum_{l >= j} exp(r_l) over the
    ranked slots, unranked items of a choice set in every denominator (partial rankings)."""

    def __init__(self, hidden: tuple[int, ...] = (256, 256), epochs: int = 100, learning_rate: float = 1e-4,
                 batch_size: int = 128, random_state: int = 0) -> None:
        self.hidden = hidden
        self.epochs = epochs
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.random_state = random_state

    def spec(self, m: int) -> TrainSpec:
        return TrainSpec(hidden=tuple(int(h) for h in self.hidden), n_out=int(m), loss="plackett_luce",
                         epochs=int(self.epochs), batch_size=int(self.batch_size), learning_rate=float(self.learning_rate))

    def fit(self, X: np.ndarray, rankings, unranked=None) -> PlackettLuceRewardModel:
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or not np.isfinite(X).all():
            raise InputError("X must be a finite (n_items, d) array")
        items, codes = check_rankings(len(X), rankings, unranked)
        self.list_length_ = items.shape[1]
        rows = X[items].reshape(len(items), -1)
        result = train(self.spec(self.list_length_), rows, codes, jax.random.key(int(self.random_state)))
        self.params_ = result.params
        self.train_loss_ = result.train_loss
        self.n_features_in_ = X.shape[1]
        return self

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise InputError(f"X must have {self.n_features_in_} columns, got shape {X.shape}")
        return np.asarray(apply(self.spec(self.list_length_), self.params_, X)).astype(float)

    def score_items(self, X: np.ndarray) -> np.ndarray:
        return self.decision_function(X)
