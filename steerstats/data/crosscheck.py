"""Consistency across the files of a study: judgements and rewrites must refer to steering rows.

A judgement that points at no steering sequence does not change its own file's rates, but it
cannot be joined with similarities, so it is reported as a :class:`DataWarning`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.data.study import DataWarning
from steerstats.errors import InputError

# (frame attribute, file label, its goal column, columns holding steering images and their attempt)
_JUDGEMENTS = (
    ("sat_ratings", "image_generation/sat_rating_4.csv", "goal_image", {"generated_image": None}),
    ("improvement", "image_generation/improvement.csv", "goal_image", {"first_attempt": 1, "last_attempt": 5}),
    ("pom1", "image_generation/pom1.csv", "goal_image", {"first_attempt": 1, "last_attempt": 5}),
    ("pom5", "image_generation/pom5.csv", "goal_image", {"first_attempt": 1, "last_attempt": 5}),
)


def _rows(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) + 1 for i in np.flatnonzero(mask))


def cross_check(frames: dict[str, pd.DataFrame | dict[int, pd.DataFrame] | None]) -> list[DataWarning]:
    """Warnings for rows of judgement / blind-steering files with no matching steering row."""
    steering = frames.get("steering")
    if not isinstance(steering, pd.DataFrame):
        return []
    out: list[DataWarning] = []
    seqs = pd.MultiIndex.from_frame(steering[["steering_user_id", "goal_image"]])
    dup = steering["generated_image"].duplicated().to_numpy()
    if dup.any():
        row = int(np.argmax(dup))
        first = int(np.flatnonzero(steering["generated_image"].to_numpy() == steering["generated_image"].iloc[row])[0])
        raise InputError(f"generated_image also at row {first + 1}: an image generated twice", file="image_generation/steering.csv",
                         row=row + 1, column="generated_image")
    attempt_of = pd.Series(steering["attempt"].to_numpy(), index=steering["generated_image"].to_numpy())
    for attr, label, goal, images in _JUDGEMENTS:
        frame = frames.get(attr)
        if not isinstance(frame, pd.DataFrame):
            continue
        keys = pd.MultiIndex.from_arrays([frame["steering_user_id"], frame[goal]])
        orphan = ~keys.isin(seqs)
        if orphan.any():
            out.append(DataWarning(label, f"{int(orphan.sum())} rows refer to no (steering_user_id, goal_image) sequence of steering.csv", _rows(orphan)))
        for col, attempt in images.items():
            found = frame[col].isin(attempt_of.index).to_numpy()
            if (~found).any():
                out.append(DataWarning(label, f"{int((~found).sum())} rows: '{col}' is no generated_image of steering.csv", _rows(~found)))
            if attempt is not None:
                got = attempt_of.reindex(frame[col].to_numpy()).to_numpy()
                wrong = found & (got != attempt)
                if wrong.any():
                    out.append(DataWarning(label, f"{int(wrong.sum())} rows: '{col}' is not attempt {attempt} of its sequence", _rows(wrong)))
    blind = frames.get("blind_steering")
    if isinstance(blind, dict):
        goals = set(steering["goal_image"])
        for k, frame in blind.items():
            orphan = ~frame["goal_url"].isin(goals).to_numpy()
            if orphan.any():
                out.append(DataWarning(f"image_generation/blind_steering_{k}.csv", f"{int(orphan.sum())} rows: goal_url not in steering.csv", _rows(orphan)))
    return out
