"""Seeds (paper App. C.1, Fig. 7 and Table 5): constraining and choosing the generation seed.

* Seed constraint: users steered sd3.5-large-turbo with every image drawn from 1, 2 or 3 fixed
  seeds (``steering_{n}_seed(s).csv``). The comparison condition "default" is the unconstrained
  sd3.5-large-turbo sequences of the main study (``steering.csv``, a fresh seed per image): same
  model and interface, different goals (the seed files' goals are not in ``steering.csv``).
* Choosing seed: users could also pick the seed (``choosing_seed.csv``). "Not chosen" is the main
  study restricted to the models that appear in the choosing-seed file, so both sides cover the
  same set of models (their mix of models still differs; see ``not_chosen_standardized``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from steerstats.metrics.cells import AVERAGE, Cells, concat_cells, crossed_cells, group_cells
from steerstats.metrics.similarity import ATTEMPTS
from steerstats.metrics.weighted import as_weights, squeeze_like

DEFAULT_SEED_MODEL = "sd3.5-large-turbo"
DEFAULT = "default"


def seed_constraint_frame(
    seed_constraint: Mapping[int, pd.DataFrame],
    steering: pd.DataFrame,
    *,
    default_model: str = DEFAULT_SEED_MODEL,
) -> pd.DataFrame:
    """Stack the n-seed files (condition "1", "2", ...) and the unconstrained ``default_model``
    rows of the main study (condition "default") into one frame with a ``condition`` column."""
    parts = [f.assign(condition=str(n)) for n, f in sorted(seed_constraint.items())]
    parts.append(steering.loc[steering["model"] == default_model].assign(condition=DEFAULT))
    cols = ["condition", "goal_image", "steering_user_id", "model", "attempt", "dreamsim"]
    return pd.concat([p[cols] for p in parts], ignore_index=True)


def condition_levels(frame: pd.DataFrame) -> list[str]:
    """Conditions in order: numbers ascending, then "default"."""
    levels = set(frame["condition"])
    numbered = sorted((c for c in levels if c != DEFAULT), key=int)
    return numbered + ([DEFAULT] if DEFAULT in levels else [])


def seed_constraint_means(
    frame: pd.DataFrame, weights: np.ndarray | None = None, *, column: str = "dreamsim"
) -> np.ndarray:
    """Mean ``column`` per condition (in :func:`condition_levels` order)."""
    cells = group_cells(frame, "condition", condition_levels(frame))
    return cells.mean(frame[column].to_numpy(float), weights)


def seed_choice_frame(choosing_seed: pd.DataFrame, steering: pd.DataFrame) -> pd.DataFrame:
    """Choosing-seed rows (``chosen`` True) and the main study's rows of the same models
    (``chosen`` False), with goal_image, steering_user_id, model, attempt, dreamsim."""
    models = sorted(set(choosing_seed["model"]) & set(steering["model"]))
    cols = ["goal_image", "steering_user_id", "model", "attempt", "dreamsim"]
    chosen = choosing_seed.loc[choosing_seed["model"].isin(models), cols].assign(chosen=True)
    other = steering.loc[steering["model"].isin(models), cols].assign(chosen=False)
    return pd.concat([chosen, other], ignore_index=True)


def seed_choice_cells(frame: pd.DataFrame, attempts: Sequence[int] = ATTEMPTS) -> Cells:
    """(chosen, attempt) cells: attempts 1..5 then "Average", chosen side first."""
    side = frame.assign(side=np.where(frame["chosen"], "chosen", "not_chosen"))
    return crossed_cells(side, "side", "attempt", ["chosen", "not_chosen"], attempts, pooled_inner=AVERAGE)


def seed_choice_means(
    frame: pd.DataFrame,
    weights: np.ndarray | None = None,
    *,
    column: str = "dreamsim",
    attempts: Sequence[int] = ATTEMPTS,
) -> np.ndarray:
    """[chosen per attempt + Average, not chosen per attempt + Average, their differences,
    not chosen standardised to the chosen side's model mix per attempt + Average].

    The standardised value reweights the main study's per-(model, attempt) means by the share of
    each model among the chosen rows of that attempt (direct standardisation), so the comparison
    is not driven by which models users happened to pick.
    """
    x = frame[column].to_numpy(float)
    cells = seed_choice_cells(frame, attempts)
    means = np.atleast_2d(cells.mean(x, as_weights(weights, len(frame))))
    half = means.shape[1] // 2
    chosen, other = means[:, :half], means[:, half:]
    std = _standardized(frame, x, weights, attempts)
    return squeeze_like(np.concatenate([chosen, other, chosen - other, std], axis=1), weights)


def _standardized(
    frame: pd.DataFrame, x: np.ndarray, weights: np.ndarray | None, attempts: Sequence[int]
) -> np.ndarray:
    models = sorted(set(frame["model"]))
    w = as_weights(weights, len(frame))
    chosen = frame["chosen"].to_numpy()
    # (model, attempt) cells on each side, plus pooled-over-attempts ("Average") per model
    side_cells = [
        concat_cells(
            crossed_cells(frame, "attempt", "model", attempts, models),
            group_cells(frame, "model", models),
        ).mask(mask)
        for mask in (chosen, ~chosen)
    ]
    k, m = len(attempts) + 1, len(models)
    share = (w @ side_cells[0].membership).reshape(-1, k, m)
    share = share / share.sum(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        other = side_cells[1].mean(x, w).reshape(-1, k, m)
    return np.nansum(share * other, axis=2)


def seed_choice_summary(
    frame: pd.DataFrame, *, column: str = "dreamsim", attempts: Sequence[int] = ATTEMPTS
) -> pd.DataFrame:
    """Per attempt + "Average": n, mean and plain SEM on each side."""
    summary = seed_choice_cells(frame, attempts).summary(frame[column].to_numpy(float), "mean")
    half = len(summary) // 2
    a, b = summary.iloc[:half].reset_index(drop=True), summary.iloc[half:].reset_index(drop=True)
    return pd.DataFrame(
        {
            "attempt": [str(v) for v in a["attempt"]],
            "chosen_n": a["n"],
            "chosen_mean": a["mean"],
            "chosen_sem": a["mean_sem"],
            "not_chosen_n": b["n"],
            "not_chosen_mean": b["mean"],
            "not_chosen_sem": b["mean_sem"],
        }
    )
