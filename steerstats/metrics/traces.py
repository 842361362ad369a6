"""Image-steering traces (paper Sec. 5, App. C.2): how the proposal mixture scale evolved.

The released traces carry no similarity scores, so the summary is descriptive: per condition
(random / learned / learned_tiles) and round, the number of tasks, the mixture scale used
(mean, min, max) and the share of rounds where the user kept the current image (selected index 0).
"""

from __future__ import annotations

import pandas as pd

CONDITION_ORDER = ("random", "learned", "learned_tiles")


def image_steering_traces(rounds: pd.DataFrame) -> pd.DataFrame:
    """Summary of tidy rounds (condition, steering_user_id, task, round, mixture_scale,
    selected_index) per (condition, round)."""
    frame = rounds.assign(
        kept_current=rounds["selected_index"] == 0,
        task_key=rounds["steering_user_id"].astype(str) + "#" + rounds["task"].astype(str),
    )
    out = (
        frame.groupby(["condition", "round"], sort=True)
        .agg(
            n_tasks=("task_key", "nunique"),
            mixture_scale_mean=("mixture_scale", "mean"),
            mixture_scale_min=("mixture_scale", "min"),
            mixture_scale_max=("mixture_scale", "max"),
            share_kept_current=("kept_current", "mean"),
        )
        .reset_index()
    )
    known = [c for c in CONDITION_ORDER if c in set(out["condition"])]
    order = known + sorted(set(out["condition"]) - set(known))
    out["condition"] = pd.Categorical(out["condition"], categories=order)
    out = out.sort_values(["condition", "round"]).reset_index(drop=True)
    out["condition"] = out["condition"].astype(str)
    return out
