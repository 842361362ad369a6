"""The producibility/steerability trade-off from the seed-constraint experiment (Vafa et al. 2025,
App. C.1, Fig. 7): mean DreamSim when every image of sd3.5-large-turbo is constrained to 1, 2 or 3
seeds, against the unconstrained runs of the same model in ``steering.csv``.

Fewer seeds shrink what the model can produce for a prompt; the question is whether steering gets
easier. Each row reports the mean with the release's row SEM and a cluster SE over steering users
(users are independent; their attempts are not).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.errors import InputError

SEED_MODEL = "sd3.5-large-turbo"


def _cluster_se(values: np.ndarray, clusters: np.ndarray) -> float:
    """Cluster-robust SE of a mean: sqrt(G/(G-1) * sum_g (sum_{i in g} (v_i - vbar))^2) / n."""
    resid = values - values.mean()
    _, idx = np.unique(clusters, return_inverse=True)
    sums = np.bincount(idx, weights=resid)
    g = len(sums)
    return float(np.sqrt(g / (g - 1) * np.sum(sums**2)) / len(values)) if g > 1 else float("nan")


def seed_tradeoff(
    steering: pd.DataFrame,
    seed_constraint: dict[int, pd.DataFrame],
    *,
    model: str = SEED_MODEL,
    target: str = "dreamsim",
) -> pd.DataFrame:
    """One row per condition (1, 2, 3 seeds, unconstrained): n_seeds, label, mean, sem, cluster_se,
    n_rows, n_goals, n_users."""
    rows = []
    parts = [(n, f"{n} seed{'s' if n > 1 else ''}", frame) for n, frame in sorted(seed_constraint.items())]
    free = steering[steering["model"] == model]
    if free.empty:
        raise InputError(f"no unconstrained '{model}' rows in steering data", column="model")
    parts.append((np.nan, "unconstrained", free))
    for n, label, frame in parts:
        other = frame.loc[frame["model"] != model, "model"]
        if len(other):
            raise InputError(
                f"seed-constraint rows must all be model '{model}', found '{other.iloc[0]}'",
                row=int(frame.index.get_loc(other.index[0])) + 1,
                column="model",
            )
        v = frame[target].to_numpy(dtype=float)
        rows.append(
            {
                "n_seeds": n,
                "condition": label,
                "mean": float(v.mean()),
                "sem": float(v.std(ddof=1) / np.sqrt(len(v))),
                "cluster_se": _cluster_se(v, frame["steering_user_id"].to_numpy(dtype=str)),
                "n_rows": len(v),
                "n_goals": int(frame["goal_image"].nunique()),
                "n_users": int(frame["steering_user_id"].nunique()),
            }
        )
    return pd.DataFrame(rows)
