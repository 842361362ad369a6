"""Table 1 of Vafa et al. (2025, Sec. 5) from scored image-steering traces.

A task (user x goal) of the traces starts from the image its user's prompt produced (round 1's
``images_offered[0]``, the current image) and ends at the image selected in the last round. Given
a similarity score per (goal, image) - e.g. ``steerstats score --image-a goal_image --image-b
generated_image`` on the table of :func:`trace_pairs` - each task has

    change = s(goal, final image) - s(goal, first image),   improved = change > 0,

and Table 1 reports per condition the average change and the share of tasks improved, with
cluster-bootstrap intervals over users (tasks of one user share that user), and the ratio of each
condition's average change to a baseline condition's. Conditions whose users are disjoint (the
release: different participants per condition) are resampled as independent strata; when some
user appears in two conditions, users are resampled jointly across conditions so that the ratio's
interval keeps the pairing.

A text-steering baseline comes from the steering table: per (user, goal, model) the change from the
first to the last attempt's released similarity.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot
from steerstats.data.user_table import parse_numbers
from steerstats.errors import ConfigError, InputError
from steerstats.uncertainty import grouped_mean_bootstrap

TASK = ("condition", "steering_user_id", "task")
GOAL_COLUMNS = ("goal_image", "goal_url")
IMAGE_COLUMNS = ("generated_image", "image")
TEXT_CONDITION = "text (steering table)"


def task_endpoints(traces: pd.DataFrame) -> pd.DataFrame:
    """One row per task: condition, user, task, goal_url, first_image, final_image, n_rounds."""
    t = traces.sort_values([*TASK, "round"])
    g = t.groupby(list(TASK), sort=True)
    first = g.head(1).set_index(list(TASK))
    last = g.tail(1).set_index(list(TASK))
    out = pd.DataFrame({
        "goal_url": first["goal_url"],
        "first_image": [json.loads(s)[0] for s in first["images_offered"]],
        "final_image": last["selected_image_url"],
        "n_rounds": g.size(),
    })
    return out.reset_index()


def trace_pairs(traces: pd.DataFrame) -> pd.DataFrame:
    """The unique (goal_image, generated_image) pairs Table 1 needs scores for (first and final
    image of every task), ready for ``steerstats score``."""
    ends = task_endpoints(traces)
    pairs = pd.concat([ends[["goal_url", "first_image"]].set_axis(["goal_image", "generated_image"], axis=1),
                       ends[["goal_url", "final_image"]].set_axis(["goal_image", "generated_image"], axis=1)])
    return pairs.drop_duplicates().reset_index(drop=True)


def score_lookup(scores: pd.DataFrame, column: str, *, file: str = "scores") -> pd.Series:
    """Scores indexed by (goal, image) from a table with a goal column (goal_image / goal_url), an
    image column (generated_image / image) and ``column``; unscored rows (blank, NaN, or a
    ``score_status`` other than ok) are left out. A pair scored twice with different values is an error."""
    goal = next((c for c in GOAL_COLUMNS if c in scores.columns), None)
    image = next((c for c in IMAGE_COLUMNS if c in scores.columns), None)
    for name, found, options in (("goal", goal, GOAL_COLUMNS), ("image", image, IMAGE_COLUMNS)):
        if found is None:
            raise InputError(f"needs a {name} column ({' or '.join(options)})", file=file)
    if column not in scores.columns:
        raise InputError(f"no score column (columns: {', '.join(map(str, scores.columns))})", file=file, column=column)
    values = parse_numbers(scores[column], what="score is not a number", file=file, column=column, missing=("nan", "NaN"))
    keep = values.notna().to_numpy()
    if "score_status" in scores.columns:
        keep = keep & (scores["score_status"].astype(str) == "ok").to_numpy()
    frame = pd.DataFrame({"goal": scores[goal].astype(str), "image": scores[image].astype(str), "score": values})[keep]
    spread = frame.groupby(["goal", "image"])["score"].agg(["min", "max"])
    clash = spread[~np.isclose(spread["min"], spread["max"], rtol=0, atol=1e-9)]
    if len(clash):
        g, i = clash.index[0]
        raise InputError(f"pair ({g}, {i}) has two different scores", file=file, column=column)
    return frame.groupby(["goal", "image"])["score"].first()


def scored_tasks(traces: pd.DataFrame, lookup: pd.Series) -> pd.DataFrame:
    """Task endpoints with first / final scores, change and improved; tasks without both scores
    are left out with a warning that counts them per condition."""
    ends = task_endpoints(traces)
    first = lookup.reindex(pd.MultiIndex.from_arrays([ends["goal_url"], ends["first_image"]])).to_numpy()
    final = lookup.reindex(pd.MultiIndex.from_arrays([ends["goal_url"], ends["final_image"]])).to_numpy()
    ends = ends.assign(first_score=first, final_score=final, change=final - first)
    missing = ends["change"].isna()
    if missing.all():
        raise InputError("no task has scores for both its first and its final image (do the scores' goal and "
                         "image columns hold the traces' URLs?)", file="scores")
    if missing.any():
        per = ends[missing].groupby("condition").size()
        warnings.warn("tasks without a score for their first or final image are left out: "
                      + ", ".join(f"{c} {n}" for c, n in per.items()), stacklevel=2)
    ends = ends[~missing].reset_index(drop=True)
    return ends.assign(improved=(ends["change"] > 0).astype(float))


def text_tasks(steering: pd.DataFrame, column: str = "dreamsim") -> pd.DataFrame:
    """Text-steering tasks from a steering table: per (user, goal, model) the change from the first
    to the last attempt's ``column``."""
    if column not in steering.columns:
        raise InputError("the steering table has no such score column", column=column)
    s = steering.sort_values(["steering_user_id", "goal_image", "model", "attempt"])
    g = s.groupby(["steering_user_id", "goal_image", "model"], sort=True)[column]
    out = pd.DataFrame({"first_score": g.first(), "final_score": g.last(), "n_rounds": g.size() - 1}).reset_index()
    out = out.assign(condition=TEXT_CONDITION, change=out["final_score"] - out["first_score"])
    return out.assign(improved=(out["change"] > 0).astype(float)).rename(columns={"goal_image": "goal_url"})


@dataclass(frozen=True)
class Table1:
    """Per condition: tasks, users, avg change and % improved with intervals; ratios of avg change."""

    table: pd.DataFrame
    ratios: pd.DataFrame
    tasks: pd.DataFrame
    score_column: str
    stratified: bool
    n_boot: int
    level: float


def _strata_replicates(tasks: pd.DataFrame, conditions: list[str], n_boot: int, seed: int, stratified: bool):
    """(estimates, replicates) of avg change and share improved per condition, (B, K) each."""
    if stratified:
        seeds = np.random.SeedSequence(seed).spawn(len(conditions))
        est_c, est_i, rep_c, rep_i = [], [], [], []
        for cond, ss in zip(conditions, seeds, strict=True):
            part = tasks[tasks["condition"] == cond]
            s = int(ss.generate_state(1)[0])
            rc, _ = grouped_mean_bootstrap(part, "change", None, "steering_user_id", n_boot=n_boot, seed=s)
            ri, _ = grouped_mean_bootstrap(part, "improved", None, "steering_user_id", n_boot=n_boot, seed=s)
            est_c.append(rc.estimate[0])
            est_i.append(ri.estimate[0])
            rep_c.append(rc.replicates[:, 0])
            rep_i.append(ri.replicates[:, 0])
        return np.array(est_c), np.array(est_i), np.column_stack(rep_c), np.column_stack(rep_i)
    rc, levels = grouped_mean_bootstrap(tasks, "change", "condition", "steering_user_id", n_boot=n_boot, seed=seed)
    ri, _ = grouped_mean_bootstrap(tasks, "improved", "condition", "steering_user_id", n_boot=n_boot, seed=seed)
    order = [levels.index(c) for c in conditions]
    return rc.estimate[order], ri.estimate[order], rc.replicates[:, order], ri.replicates[:, order]


def table1_from_tasks(
    tasks: pd.DataFrame,
    *,
    baseline: str | None = None,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    score_column: str = "dreamsim",
) -> Table1:
    """Table 1 from scored tasks (:func:`scored_tasks`, optionally with :func:`text_tasks` rows).

    ``baseline``: the condition every ratio divides by (default: the text baseline if present,
    else "random"). Intervals are percentile intervals of the cluster bootstrap over users.
    """
    check_n_boot(n_boot)
    conditions = sorted(tasks["condition"].unique(), key=lambda c: (c != TEXT_CONDITION, c))
    if baseline is None:
        baseline = TEXT_CONDITION if TEXT_CONDITION in conditions else ("random" if "random" in conditions else conditions[0])
    if baseline not in conditions:
        raise ConfigError(f"baseline condition '{baseline}' is not among the scored conditions ({', '.join(conditions)})")
    users = tasks.groupby("steering_user_id")["condition"].nunique()
    stratified = bool((users <= 1).all())
    est_c, est_i, rep_c, rep_i = _strata_replicates(tasks, conditions, n_boot, seed, stratified)
    alpha = (1 - level) / 2
    q = [alpha, 1 - alpha]
    cluster = "steering_user_id, stratified by condition" if stratified else "steering_user_id (joint across conditions)"
    g = tasks.groupby("condition")
    rows = []
    for k, cond in enumerate(conditions):
        lo_c, hi_c = np.nanquantile(rep_c[:, k], q)
        lo_i, hi_i = np.nanquantile(rep_i[:, k], q)
        rows.append({
            "condition": cond, "n_tasks": int(g.size()[cond]), "n_users": int(g["steering_user_id"].nunique()[cond]),
            "rounds": int(g["n_rounds"].median()[cond]),
            "mean_first": float(g["first_score"].mean()[cond]), "mean_final": float(g["final_score"].mean()[cond]),
            "avg_change": est_c[k], "avg_change_se": float(np.nanstd(rep_c[:, k], ddof=1)),
            "avg_change_ci_low": lo_c, "avg_change_ci_high": hi_c,
            "pct_improved": 100 * est_i[k], "pct_improved_se": 100 * float(np.nanstd(rep_i[:, k], ddof=1)),
            "pct_improved_ci_low": 100 * lo_i, "pct_improved_ci_high": 100 * hi_i,
            "cluster": cluster,
        })
    b = conditions.index(baseline)
    ratios = []
    with np.errstate(divide="ignore", invalid="ignore"):
        for k, cond in enumerate(conditions):
            if k == b:
                continue
            reps = rep_c[:, k] / rep_c[:, b]
            lo, hi = np.nanquantile(reps, q)
            ratios.append({"condition": cond, "baseline": baseline, "ratio": est_c[k] / est_c[b],
                           "ratio_ci_low": lo, "ratio_ci_high": hi,
                           "boot_share_ratio_gt_1": float(np.mean(reps > 1)),
                           "diff_pct_improved": 100 * (est_i[k] - est_i[b]),
                           "diff_pct_improved_ci_low": 100 * np.nanquantile(rep_i[:, k] - rep_i[:, b], alpha),
                           "diff_pct_improved_ci_high": 100 * np.nanquantile(rep_i[:, k] - rep_i[:, b], 1 - alpha),
                           "cluster": cluster})
    return Table1(pd.DataFrame(rows), pd.DataFrame(ratios), tasks, score_column, stratified, n_boot, level)
