"""Splits by goal image: no goal is ever in both the training and the test rows (Vafa et al. 2025,
Sec. 4: a held-out 20% of goals; also grouped K-fold)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.model_selection import GroupKFold, GroupShuffleSplit

from steerstats.errors import ConfigError


def goal_holdout_split(
    goals: Sequence[str] | np.ndarray, *, test_size: float = 0.2, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, test rows) with a ``test_size`` share of the goals held out."""
    goals = np.asarray(goals)
    if len(np.unique(goals)) < 2:
        raise ConfigError("a goal split needs at least 2 distinct goals")
    splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
    train, test = next(splitter.split(np.zeros(len(goals)), groups=goals))
    return np.sort(train), np.sort(test)


def goal_kfold(
    goals: Sequence[str] | np.ndarray, n_splits: int = 5, *, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Grouped K-fold over goals (shuffled with ``seed``): yields (train rows, test rows)."""
    goals = np.asarray(goals)
    if len(np.unique(goals)) < n_splits:
        raise ConfigError(f"{n_splits}-fold split needs at least {n_splits} distinct goals")
    splitter = GroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    yield from splitter.split(np.zeros(len(goals)), groups=goals)


def goal_fold_ids(goals: Sequence[str] | np.ndarray, n_splits: int = 5, *, seed: int = 0) -> np.ndarray:
    """(n,) fold index of every row from :func:`goal_kfold` (all rows of a goal share one fold)."""
    fold = np.empty(len(goals), dtype=np.int64)
    for k, (_, test) in enumerate(goal_kfold(goals, n_splits, seed=seed)):
        fold[test] = k
    return fold
