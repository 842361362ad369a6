"""Frames -> integer-coded arrays for the numpyro models, validated at the edge.

Each encoder checks the columns it needs, raises :class:`~steerstats.errors.InputError` naming the
file, the 1-based row and the column for a missing or out-of-range value (no row is dropped), and
keeps the level names so results can be labelled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steerstats.errors import InputError


@dataclass(frozen=True)
class Encoded:
    """Model inputs: keyword arguments for the model function (``y`` included) and level names."""

    kwargs: dict[str, Any]
    models: list[str]
    extra: dict[str, Any] = field(default_factory=dict)


def _codes(frame: pd.DataFrame, col: str, file: str | None) -> tuple[np.ndarray, list]:
    if col not in frame.columns:
        raise InputError("column missing", file=file, column=col)
    codes, levels = pd.factorize(frame[col], sort=True)
    if (codes < 0).any():
        raise InputError("missing value", file=file, row=int(np.flatnonzero(codes < 0)[0]) + 1, column=col)
    return codes.astype(np.int32), list(levels)


def _numbers(frame: pd.DataFrame, col: str, file: str | None) -> np.ndarray:
    if col not in frame.columns:
        raise InputError("column missing", file=file, column=col)
    x = pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(x)
    if bad.any():
        raise InputError("missing or not a number", file=file, row=int(np.flatnonzero(bad)[0]) + 1, column=col)
    return x


def encode_similarity(
    frame: pd.DataFrame,
    value: str = "dreamsim",
    *,
    model: str = "model",
    user: str = "steering_user_id",
    goal: str = "goal_image",
    attempt: str = "attempt",
    file: str | None = None,
) -> Encoded:
    """Similarity rows; the attempt is centred at its mean so alpha is the logit at a mean attempt."""
    y = _numbers(frame, value, file)
    out = (y <= 0) | (y >= 1)
    if out.any():
        raise InputError(
            "similarity must lie strictly inside (0, 1) for the Beta model",
            file=file, row=int(np.flatnonzero(out)[0]) + 1, column=value,
        )
    m, models = _codes(frame, model, file)
    u, users = _codes(frame, user, file)
    g, goals = _codes(frame, goal, file)
    a = _numbers(frame, attempt, file)
    a_c = a - a.mean()
    return Encoded(
        kwargs=dict(
            model=m, attempt_c=a_c, user=u, goal=g,
            n_models=len(models), n_users=len(users), n_goals=len(goals), y=y,
        ),
        models=[str(x) for x in models],
        extra={"attempt_c": a_c},
    )


def encode_ratings(
    frame: pd.DataFrame,
    value: str = "rating",
    *,
    levels: tuple[int, ...] = (1, 2, 3, 4),
    model: str = "model",
    rater: str = "user_id",
    goal: str = "goal_image",
    file: str | None = None,
) -> Encoded:
    """Ordinal ratings, coded 0..len(levels)-1 in the order of ``levels``."""
    r = _numbers(frame, value, file)
    lookup = {float(v): i for i, v in enumerate(levels)}
    bad = ~np.isin(r, list(lookup))
    if bad.any():
        raise InputError(
            f"rating must be one of {list(levels)}", file=file,
            row=int(np.flatnonzero(bad)[0]) + 1, column=value,
        )
    y = np.array([lookup[v] for v in r], dtype=np.int32)
    m, models = _codes(frame, model, file)
    rr, raters = _codes(frame, rater, file)
    g, goals = _codes(frame, goal, file)
    return Encoded(
        kwargs=dict(
            model=m, rater=rr, goal=g, n_models=len(models), n_raters=len(raters),
            n_goals=len(goals), n_levels=len(levels), y=y,
        ),
        models=[str(x) for x in models],
        extra={"levels": np.asarray(levels, dtype=float)},
    )


def encode_binary(
    frame: pd.DataFrame,
    value: str,
    *,
    model: str = "model",
    rater: str = "user_id",
    goal: str = "goal_image",
    file: str | None = None,
) -> Encoded:
    """Binary judgements (bool or 0/1 column)."""
    if value not in frame.columns:
        raise InputError("column missing", file=file, column=value)
    col = frame[value]
    if col.dtype == bool:
        y = col.to_numpy().astype(np.int32)
    else:
        x = _numbers(frame, value, file)
        bad = ~np.isin(x, [0.0, 1.0])
        if bad.any():
            raise InputError("judgement must be True/False or 0/1", file=file,
                             row=int(np.flatnonzero(bad)[0]) + 1, column=value)
        y = x.astype(np.int32)
    m, models = _codes(frame, model, file)
    rr, raters = _codes(frame, rater, file)
    g, goals = _codes(frame, goal, file)
    return Encoded(
        kwargs=dict(
            model=m, rater=rr, goal=g, n_models=len(models), n_raters=len(raters),
            n_goals=len(goals), y=y,
        ),
        models=[str(x) for x in models],
    )
