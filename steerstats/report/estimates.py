"""Attach cluster-bootstrap standard errors to a metric table.

The metrics layer gives point estimates, n and plain row SEMs; this module adds, for each
estimate column ``c``, ``c_se_cluster`` (goal-image clusters) and, where users apply,
``c_se_user`` (steering-user clusters), by running :func:`steerstats.uncertainty.cluster_bootstrap`
on the metric's weighted statistic: one call per cluster kind evaluates all B replicates at once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from steerstats.metrics.weighted import Statistic
from steerstats.report.artifacts import se_stem
from steerstats.uncertainty import cluster_bootstrap

#: column suffix -> cluster column, in the order they are added
GOAL_AND_USER = {"_se_cluster": "goal_image", "_se_user": "steering_user_id"}
#: SE column suffixes in display order (after the plain ``_se``)
SE_SUFFIXES = ("_se_cluster", "_se_user", "_se_rater")


def bootstrap_se(
    statistic: Statistic, data: pd.DataFrame, cluster: str, *, n_boot: int, seed: int
) -> np.ndarray:
    """Cluster-bootstrap SE of every component of ``statistic`` (sd of B replicates, ddof=1)."""
    return cluster_bootstrap(statistic, data, cluster, n_boot=n_boot, seed=seed).se


def add_cluster_se(
    table: pd.DataFrame,
    statistic: Statistic,
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    clusters: Mapping[str, str] = GOAL_AND_USER,
    stems: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Add ``{stem}{suffix}`` SE columns to ``table`` (stem: :func:`se_stem` of the column).

    ``statistic(data, weights)`` must return the values of ``columns`` stacked column after
    column, each over the table's rows in order (len(columns) * len(table) numbers). Its point
    estimate is checked against the table, so a table and its statistic cannot drift apart.
    """
    k = len(table)
    estimate = np.asarray(statistic(data, None), dtype=float).reshape(len(columns), k)
    expected = table[list(columns)].to_numpy(float).T
    if not np.allclose(estimate, expected, equal_nan=True, rtol=1e-9, atol=1e-12):
        raise AssertionError(f"statistic does not reproduce table columns {list(columns)}")
    out = table.copy()
    for suffix, cluster in clusters.items():
        if cluster not in data.columns:
            continue
        se = bootstrap_se(statistic, data, cluster, n_boot=n_boot, seed=seed).reshape(len(columns), k)
        for j, column in enumerate(columns):
            out[f"{se_stem(column, stems)}{suffix}"] = se[j]
    return out


def order_columns(
    frame: pd.DataFrame, leading: Sequence[str], stems: dict[str, str] | None = None
) -> pd.DataFrame:
    """Put each ``leading`` column first, each followed by its ``_se*`` / ``_true`` companions."""
    cols: list[str] = []
    for c in leading:
        if c in frame.columns and c not in cols:
            cols.append(c)
            stem = se_stem(c, stems)
            companions = [f"{stem}_se", *(f"{stem}{s}" for s in SE_SUFFIXES), f"{c}_true"]
            companions += sorted(x for x in frame.columns if x.startswith(f"{stem}_se_"))
            cols += [x for x in dict.fromkeys(companions) if x in frame.columns and x not in cols]
    cols += [c for c in frame.columns if c not in cols]
    return frame[cols]
