"""Budget-sweep result tables: per-run rows, summary and contrast tables, aggregator weights,
intervention curves (figures and the written report: :mod:`steerstats.report.budget`).

Uncertainty: every run's held-out AUC has B paired bootstrap replicates (same test-group draws for
every run). A cell (arm, N) averages its seeds' point estimates and, replicate by replicate, their
bootstrap replicates; the percentile interval of those averages is the cell's CI (test-set sampling
uncertainty of the seed-averaged AUC). A contrast a - b at N uses the paired replicate differences.
``seed_sd`` reports the spread over training seeds separately.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from steerstats.budget.config import BudgetConfig


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished run (without the replicate vectors)."""
    cols = ["arm", "kind", "n", "seed", "n_attributes", "cost", "auc", "ci_low", "ci_high",
            "best_epoch", "fit_seconds"]
    frame = pd.DataFrame([{c: r[c] for c in cols} for r in records], columns=cols)
    frame = frame.rename(columns={"ci_low": "auc_ci_low", "ci_high": "auc_ci_high"})
    frame["attributes"] = [" ".join(r["attributes"]) for r in records]
    return frame.sort_values(["arm", "n", "seed"], kind="stable").reset_index(drop=True)


def _cells(records: list[dict[str, Any]]) -> dict[tuple[str, int], list[dict[str, Any]]]:
    cells: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in records:
        cells.setdefault((r["arm"], r["n"]), []).append(r)
    return cells


def _interval(reps: np.ndarray, level: float) -> tuple[float, float]:
    a = (1 - level) / 2
    lo, hi = np.nanquantile(reps, [a, 1 - a])
    return float(lo), float(hi)


def summary_table(records: list[dict[str, Any]], config: BudgetConfig) -> pd.DataFrame:
    """Per (arm, N): seed-mean AUC, its bootstrap CI, seed sd, cost."""
    order = {a.name: i for i, a in enumerate(config.arms)}
    rows = []
    for (arm, n), runs in _cells(records).items():
        reps = np.mean([r["replicates"] for r in runs], axis=0)
        lo, hi = _interval(reps, config.level)
        aucs = np.array([r["auc"] for r in runs])
        rows.append(
            {
                "arm": arm,
                "n": n,
                "n_attributes": runs[0]["n_attributes"],
                "cost": runs[0]["cost"],
                "n_seeds": len(runs),
                "auc": float(aucs.mean()),
                "auc_ci_low": lo,
                "auc_ci_high": hi,
                "seed_sd": float(aucs.std(ddof=1)) if len(runs) > 1 else float("nan"),
            }
        )
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["_o"] = frame["arm"].map(order)
    return frame.sort_values(["_o", "n"]).drop(columns="_o").reset_index(drop=True)


def contrast_table(records: list[dict[str, Any]], config: BudgetConfig) -> pd.DataFrame:
    """Paired AUC differences a - b per N over the seeds both arms finished."""
    rows = []
    by = {(r["arm"], r["n"], r["seed"]): r for r in records}
    for a, b in config.contrasts:
        for n in sorted(config.sizes):
            seeds = [s for s in config.seeds if (a, n, s) in by and (b, n, s) in by]
            if not seeds:
                continue
            diff = np.mean(
                [np.subtract(by[a, n, s]["replicates"], by[b, n, s]["replicates"]) for s in seeds],
                axis=0,
            )
            est = float(np.mean([by[a, n, s]["auc"] - by[b, n, s]["auc"] for s in seeds]))
            lo, hi = _interval(diff, config.level)
            rows.append(
                {"contrast": f"{a} - {b}", "n": n, "n_seeds": len(seeds), "diff": est,
                 "diff_ci_low": lo, "diff_ci_high": hi}
            )
    return pd.DataFrame(rows, columns=["contrast", "n", "n_seeds", "diff", "diff_ci_low", "diff_ci_high"])


def weights_table(records: list[dict[str, Any]], level: float = 0.95) -> pd.DataFrame:
    """Per concept arm, N and attribute: the seed-mean stage-2 weight, its sd over seeds and a
    percentile interval from the runs' cluster-bootstrap replicates over training groups (stage 2
    refit, stage 1 held fixed; every seed's draws are over the same pool of groups, so runs that share
    training data share draws), averaged replicate by replicate over seeds; NaN where a run has no
    replicates (the joint CBM, or ``weight_boot = 0``)."""
    cols = ["arm", "n", "attribute", "weight_mean", "weight_sd", "weight_ci_low", "weight_ci_high", "n_seeds", "n_boot"]
    rows = []
    for (arm, n), runs in _cells([r for r in records if r.get("aggregator_weights")]).items():
        names = list(runs[0]["attributes"])  # the order of the replicate columns (the weights are keyed by name)
        w = np.array([[r["aggregator_weights"][a] for a in names] for r in runs])  # (S, M)
        reps = [r.get("aggregator_weight_replicates") for r in runs]
        lo = hi = np.full(len(names), np.nan)
        n_boot = 0
        if all(reps) and len({len(x) for x in reps}) == 1:
            stacked = np.array([[np.full(len(names), np.nan) if row is None else row for row in x] for x in reps])
            lo, hi = (np.nanquantile(stacked.mean(axis=0), q, axis=0) for q in ((1 - level) / 2, (1 + level) / 2))
            n_boot = stacked.shape[1]
        for j, a in enumerate(names):
            rows.append({"arm": arm, "n": n, "attribute": a, "weight_mean": float(w[:, j].mean()),
                         "weight_sd": float(w[:, j].std(ddof=1)) if len(runs) > 1 else float("nan"),
                         "weight_ci_low": float(lo[j]), "weight_ci_high": float(hi[j]), "n_seeds": len(runs),
                         "n_boot": n_boot})
    return pd.DataFrame(rows, columns=cols)


def interventions_table(records: list[dict[str, Any]], level: float = 0.95) -> pd.DataFrame:
    """Seed-mean held-out AUC after setting k attributes to their labels, per concept-model arm, N
    and policy, with a t interval over training seeds (``auc_ci_low/high``: the variability of
    training on the same test split, clipped to [0, 1]; NaN with one seed)."""
    rows = [
        {"arm": r["arm"], "n": r["n"], "seed": r["seed"], "order": order, "n_intervened": k,
         "auc": auc}
        for r in records
        for order, curve in r.get("interventions", {}).items()
        for k, auc in enumerate(curve)
    ]
    cols = ["arm", "n", "order", "n_intervened", "auc", "auc_sd", "auc_ci_low", "auc_ci_high", "n_seeds"]
    if not rows:
        return pd.DataFrame(columns=cols)
    from scipy.stats import t as student_t

    frame = pd.DataFrame(rows)
    out = (frame.groupby(["arm", "n", "order", "n_intervened"], sort=False)["auc"]
           .agg(auc="mean", auc_sd="std", n_seeds="count").reset_index())
    with np.errstate(invalid="ignore"):
        half = student_t.ppf(0.5 + level / 2, out["n_seeds"] - 1) * out["auc_sd"] / np.sqrt(out["n_seeds"])
    out["auc_ci_low"], out["auc_ci_high"] = (out["auc"] - half).clip(0, 1), (out["auc"] + half).clip(0, 1)  # AUC's range
    return out[cols]
