"""What the released image-steering traces show (Vafa et al. 2025, Sec. 5; ``img_steering*.csv``).

Input: the tidy frame of :func:`steerstats.data.tidy_image_steering` (``Study.image_steering``):
one row per condition x user x task x round with ``mixture_scale`` and ``selected_index``
(0 = kept the current image).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.generate.policies import PREVIOUS_NAMES

KEYS = ("condition", "steering_user_id", "task")


def with_previous(traces: pd.DataFrame) -> pd.DataFrame:
    """Add ``previous``: "start" in round 1, else whether the user kept or switched last round —
    the state the learned proposal policy conditions on."""
    t = traces.sort_values([*KEYS, "round"]).reset_index(drop=True)
    last = t.groupby(list(KEYS), sort=False)["selected_index"].shift(1)
    prev = np.where(last.isna(), PREVIOUS_NAMES[0], np.where(last == 0, PREVIOUS_NAMES[1], PREVIOUS_NAMES[2]))
    return t.assign(previous=prev, kept=(t["selected_index"] == 0).astype(float))


def scale_schedules(traces: pd.DataFrame) -> pd.DataFrame:
    """Mixture scales actually used per condition, round and previous choice: n, mean, sd, the most
    common scale and its share, and the number of distinct scales."""
    t = with_previous(traces)
    rows = []
    for (cond, rnd, prev), g in t.groupby(["condition", "round", "previous"], sort=True):
        s = g["mixture_scale"].round(6)
        counts = s.value_counts()
        rows.append(
            {
                "condition": cond,
                "round": int(rnd),
                "previous": prev,
                "n": len(g),
                "mean_scale": s.mean(),
                "sd_scale": s.std(ddof=1) if len(s) > 1 else np.nan,
                "modal_scale": float(counts.index[0]),
                "modal_share": counts.iloc[0] / len(s),
                "n_distinct": int(counts.size),
            }
        )
    return pd.DataFrame(rows)


def constant_scale_share(traces: pd.DataFrame) -> pd.DataFrame:
    """Per condition: share of sessions (user x task) that used one scale in every round."""
    g = traces.groupby(list(KEYS))["mixture_scale"].agg(lambda s: s.round(6).nunique() == 1)
    return g.groupby(level="condition").mean().rename("constant_scale_share").reset_index()
