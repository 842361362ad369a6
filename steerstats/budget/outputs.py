"""Budget-sweep outputs: summary and contrast tables, learning curves, aggregator weights, manifest.

Uncertainty: every run's held-out AUC has B paired bootstrap replicates (same test-group draws for
every run). A cell (arm, N) averages its seeds' point estimates and, replicate by replicate, their
bootstrap replicates; the percentile interval of those averages is the cell's CI (test-set sampling
uncertainty of the seed-averaged AUC). A contrast a - b at N uses the paired replicate differences.
``seed_sd`` reports the spread over training seeds separately.
"""

from __future__ import annotations

import json
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats._io import atomic_directory, sha256_file
from steerstats.budget.config import BudgetConfig


def runs_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per finished run (without the replicate vectors)."""
    cols = ["arm", "kind", "n", "seed", "n_attributes", "cost", "auc", "ci_low", "ci_high",
            "best_epoch", "fit_seconds"]
    frame = pd.DataFrame([{c: r[c] for c in cols} for r in records], columns=cols)
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
                "ci_low": lo,
                "ci_high": hi,
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
                 "ci_low": lo, "ci_high": hi}
            )
    return pd.DataFrame(rows, columns=["contrast", "n", "n_seeds", "diff", "ci_low", "ci_high"])


def weights_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Mean and sd over seeds of each CBM arm's stage-2 weight per attribute and N."""
    rows = [
        {"arm": r["arm"], "n": r["n"], "seed": r["seed"], "attribute": k, "weight": v}
        for r in records
        for k, v in r.get("aggregator_weights", {}).items()
    ]
    if not rows:
        return pd.DataFrame(columns=["arm", "n", "attribute", "weight_mean", "weight_sd"])
    frame = pd.DataFrame(rows)
    return (
        frame.groupby(["arm", "n", "attribute"], sort=False)["weight"]
        .agg(weight_mean="mean", weight_sd="std")
        .reset_index()
    )


def interventions_table(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Seed-mean held-out AUC after setting k attributes to their labels, per CBM arm, N, order."""
    rows = [
        {"arm": r["arm"], "n": r["n"], "seed": r["seed"], "order": order, "n_intervened": k,
         "auc": auc}
        for r in records
        for order, curve in r.get("interventions", {}).items()
        for k, auc in enumerate(curve)
    ]
    cols = ["arm", "n", "order", "n_intervened", "auc", "n_seeds"]
    if not rows:
        return pd.DataFrame(columns=cols)
    frame = pd.DataFrame(rows)
    return (
        frame.groupby(["arm", "n", "order", "n_intervened"], sort=False)["auc"]
        .agg(auc="mean", n_seeds="count")
        .reset_index()[cols]
    )


def interventions_figure(table: pd.DataFrame):
    """AUC vs number of attributes intervened on, at each CBM arm's largest N."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for (arm, order), g in table.groupby(["arm", "order"], sort=False):
        g = g[g["n"] == g["n"].max()]
        ax.plot(g["n_intervened"], g["auc"], marker="o", ls="-" if order == "uncertain" else "--",
                label=f"{arm} ({order}, N={int(g['n'].max())})")
    ax.set_xlabel("attributes set to their labels (test-time intervention)")
    ax.set_ylabel("held-out ROC-AUC")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def to_markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    def fmt(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:.{digits}f}"
        return str(v)

    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body]) + "\n"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curve_figure(summary: pd.DataFrame, x: str, title: str):
    """AUC (seed mean, bootstrap CI) against N or cost; log x for cost."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for arm, g in summary.groupby("arm", sort=False):
        ax.errorbar(
            g[x], g["auc"], yerr=[g["auc"] - g["ci_low"], g["ci_high"] - g["auc"]],
            marker="o", capsize=3, label=arm,
        )
    ax.set_xscale("log")
    ax.set_xlabel("training examples N" if x == "n" else "annotation cost")
    ax.set_ylabel("held-out ROC-AUC")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def weights_figure(weights: pd.DataFrame):
    """Stage-2 aggregator weights per attribute at each CBM arm's largest N (sd over seeds)."""
    plt = _pyplot()
    arms = list(dict.fromkeys(weights["arm"]))
    fig, axes = plt.subplots(1, max(len(arms), 1), figsize=(4 * max(len(arms), 1), 3.5),
                             squeeze=False)
    for ax, arm in zip(axes[0], arms, strict=False):
        g = weights[weights["arm"] == arm]
        g = g[g["n"] == g["n"].max()]
        ax.barh(g["attribute"], g["weight_mean"], xerr=g["weight_sd"].fillna(0.0))
        ax.axvline(0, color="k", lw=0.8)
        ax.set_title(f"{arm} (N={int(g['n'].max())})", fontsize=9)
        ax.set_xlabel("aggregator weight")
    fig.tight_layout()
    return fig


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("steerstats", "jax", "flax", "optax", "scikit-learn", "numpy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def write_report(
    config: BudgetConfig,
    records: list[dict[str, Any]],
    out: str | Path,
    *,
    selection: pd.DataFrame | None = None,
    elapsed_s: float | None = None,
) -> Path:
    """Write ``out/report/`` (tables csv/md/tex, figures png, manifest.json) atomically."""
    out = Path(out)
    summary = summary_table(records, config)
    contrasts = contrast_table(records, config)
    weights = weights_table(records)
    interventions = interventions_table(records)
    tables = {"runs": runs_frame(records), "summary": summary, "contrasts": contrasts,
              "aggregator_weights": weights, "interventions": interventions}
    if selection is not None:
        tables["selection"] = selection
    with atomic_directory(out / "report", command="budget report") as tmp:
        for name, frame in tables.items():
            frame.to_csv(tmp / f"{name}.csv", index=False)
            (tmp / f"{name}.md").write_text(to_markdown(frame))
            (tmp / f"{name}.tex").write_text(frame.to_latex(index=False, float_format="%.3f"))
        if not summary.empty:
            plt = _pyplot()
            for name, fig in (
                ("auc_vs_n", curve_figure(summary, "n", f"{config.name}: AUC vs N")),
                ("auc_vs_cost", curve_figure(summary, "cost", f"{config.name}: AUC vs cost")),
            ):
                fig.savefig(tmp / f"{name}.png", dpi=120)
                plt.close(fig)
            if not weights.empty:
                fig = weights_figure(weights)
                fig.savefig(tmp / "aggregator_weights.png", dpi=120)
                plt.close(fig)
            if not interventions.empty:
                fig = interventions_figure(interventions)
                fig.savefig(tmp / "interventions.png", dpi=120)
                plt.close(fig)
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir())}
        manifest = {
            "name": config.name,
            "config": config.source_file,
            "config_sha256": sha256_file(config.source_file) if config.source_file else None,
            "n_runs": len(records),
            "n_planned": len(config.arms) * len(config.sizes) * len(config.seeds),
            "cost_mode": config.cost,
            "results_sha256": sha256_file(out / "results.jsonl"),
            "elapsed_s": elapsed_s,
            "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "versions": _versions(),
            "files": files,
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out / "report"
