"""Attach design-based standard errors to a metric table (the steerability tables' uncertainty).

The metrics layer gives point estimates, n and plain row SEMs; this module adds, for each
estimate column ``c`` (SE stem ``s``):

- ``s_se_goal`` / ``s_se_user`` / ``s_se_rater``: the one-way cluster-bootstrap SE with goal images,
  steering users or raters as clusters (each id column the data has);
- ``s_se_twoway``: the Cameron-Gelbach-Miller two-way SE where two factors are crossed;
- ``s_se_cluster``: the headline SE, chosen from the design the id columns show
  (:func:`steerstats.uncertainty.clusters.headline_cluster`): the outermost factor's bootstrap SE
  when the factors are nested (goals in users: user clusters), the CGM two-way SE when two are
  crossed (raters x users). Figures and interpretation lines use it.

Statistics that are not functions of row weights (the exact majority-vote rate: a goal's raters
are pooled into votes before the rate is formed) get their crossed headline from
:func:`add_jackknife_se`: the CGM combination of delete-one-cluster jackknife variances.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from steerstats.metrics.weighted import Statistic
from steerstats.uncertainty import cluster_bootstrap
from steerstats.uncertainty.clusters import (
    HeadlineCluster,
    LeaveOut,
    cluster_robust_se,
    cluster_structure,
    headline_cluster,
    jackknife_robust_se,
)

#: id column -> suffix of its one-way bootstrap SE column, in the order they are added
ID_SUFFIXES = {
    "goal_image": "_se_goal",
    "goal_key": "_se_goal",
    "steering_user_id": "_se_user",
    "user_id": "_se_rater",
}
#: what each id column is, for notes
ID_NAMES = {"goal_image": "goal images", "goal_key": "goal headlines", "steering_user_id": "steering users",
            "user_id": "raters"}
#: SE column suffixes in display order (after the plain ``_se``)
SE_SUFFIXES = ("_se_cluster", "_se_goal", "_se_user", "_se_rater", "_se_twoway")


def se_stem(column: str, stems: dict[str, str] | None = None) -> str:
    """Stem of an estimate's SE columns: ``dreamsim_mean`` -> ``dreamsim`` (``dreamsim_se``)."""
    if stems and column in stems:
        return stems[column]
    return column.removesuffix("_mean")


def bootstrap_se(
    statistic: Statistic, data: pd.DataFrame, cluster: str, *, n_boot: int, seed: int
) -> np.ndarray:
    """Cluster-bootstrap SE of every component of ``statistic`` (sd of B replicates, ddof=1)."""
    return cluster_bootstrap(statistic, data, cluster, n_boot=n_boot, seed=seed).se


def add_design_se(
    table: pd.DataFrame,
    statistic: Statistic,
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    n_boot: int,
    seed: int,
    ids: Sequence[str] | None = None,
    stems: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, HeadlineCluster]:
    """Add the SE columns of the module docstring for ``columns``; returns the table and the
    headline's design (for the table's SE note).

    ``statistic(data, weights)`` must return the values of ``columns`` stacked column after
    column, each over the table's rows in order (len(columns) * len(table) numbers). Its point
    estimate is checked against the table, so a table and its statistic cannot drift apart.
    ``ids``: the id columns to consider (default: every one of :data:`ID_SUFFIXES` in ``data``);
    leave raters out for statistics that are not row-level means (a goal's best rating).
    """
    k = len(table)
    estimate = np.asarray(statistic(data, None), dtype=float).reshape(len(columns), k)
    expected = table[list(columns)].to_numpy(float).T
    if not np.allclose(estimate, expected, equal_nan=True, rtol=1e-9, atol=1e-12):
        raise AssertionError(f"statistic does not reproduce table columns {list(columns)}")
    present = [c for c in (ID_SUFFIXES if ids is None else ids) if c in data.columns]
    head = headline_cluster(cluster_structure(data, present))
    out = table.copy()
    one_way: dict[str, np.ndarray] = {}
    for cluster in present:
        se = bootstrap_se(statistic, data, cluster, n_boot=n_boot, seed=seed).reshape(len(columns), k)
        one_way[cluster] = se
        for j, column in enumerate(columns):
            out[f"{se_stem(column, stems)}{ID_SUFFIXES[cluster]}"] = se[j]
    robust = cluster_robust_se(statistic, data, list(head.factors))
    if len(head.factors) == 2:
        headline = robust.se.reshape(len(columns), k)
        for j, column in enumerate(columns):
            out[f"{se_stem(column, stems)}_se_twoway"] = headline[j]
    else:
        headline = one_way[head.factors[0]]
    for j, column in enumerate(columns):
        out[f"{se_stem(column, stems)}_se_cluster"] = headline[j]
    # clusters behind each row's headline SE (the smaller factor's for two-way): the t(G - 1)
    # reference of its intervals below 50 clusters (steerstats.uncertainty.clusters.critical_value)
    clusters = robust.n_clusters.reshape(len(columns), k).min(axis=0)
    out["n_clusters"] = np.minimum(out["n_clusters"].to_numpy(float), clusters) if "n_clusters" in out else clusters
    return out, head


def add_jackknife_se(
    table: pd.DataFrame,
    leave_out: LeaveOut,
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    ids: Sequence[str] | None = None,
    stems: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, HeadlineCluster]:
    """Where the id columns of ``data`` cross two factors, set ``s_se_twoway`` and the headline
    ``s_se_cluster`` of ``columns`` to the CGM two-way jackknife SE
    (:func:`steerstats.uncertainty.clusters.jackknife_robust_se`; ``leave_out`` as there, its
    components stacked like ``columns`` over the table's rows); a nested design keeps the headline
    :func:`add_design_se` gave. Returns the table and the headline's design."""
    present = [c for c in (ID_SUFFIXES if ids is None else ids) if c in data.columns]
    head = headline_cluster(cluster_structure(data, present))
    if len(head.factors) < 2:
        return table, head
    k = len(table)
    estimate = table[list(columns)].to_numpy(float).T.ravel()
    robust = jackknife_robust_se(leave_out, estimate, data, list(head.factors))
    se = robust.se.reshape(len(columns), k)
    out = table.copy()
    for j, column in enumerate(columns):
        stem = se_stem(column, stems)
        out[f"{stem}_se_twoway"] = se[j]
        out[f"{stem}_se_cluster"] = se[j]
    clusters = robust.n_clusters.reshape(len(columns), k).min(axis=0)
    out["n_clusters"] = np.minimum(out["n_clusters"].to_numpy(float), clusters) if "n_clusters" in out else clusters
    return out, HeadlineCluster(head.factors, robust.method, head.reason)


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
