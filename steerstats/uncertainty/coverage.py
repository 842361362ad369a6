"""Coverage study: how often does each kind of 95% interval cover the true per-model mean?

For r = 1..R, a study is simulated (:func:`steerstats.data.simulate.simulate_steering`) with known
per-model population mean DreamSim (:func:`steerstats.data.simulate_truth.simulation_truth`), and
each model's mean gets an interval from

  sem            mean +- z * sd / sqrt(n), rows treated as independent (the release's SEs);
  bootstrap      cluster bootstrap over steering users (goals are nested in users), percentile;
  bootstrap_bca  the same replicates, BCa interval;
  bayes          95% HDI of the logit-normal hierarchical model's population mean (NUTS), on the
                 first ``reps_bayes`` replications only (NUTS is ~10^4 x dearer).

Coverage is pooled over models (models use disjoint users, so their intervals are independent);
its Monte Carlo error is the binomial SE sqrt(p (1 - p) / n_intervals). Bayesian fits that fail
their diagnostics are counted and left out of the coverage (never silently used).

Default parameters come from :func:`steerstats.uncertainty.calibrate.fit_variance_components` on
the released ``steering.csv``. Each finished replication is appended at once to an append-only
log (``replications_fast.jsonl``: SEM, bootstrap; ``replications_bayes.jsonl``: NUTS) in the
output directory, next to the settings it was made with; a rerun with the same settings skips
them (so more NUTS replications can be added without redoing the bootstrap ones) and a torn last
line of a killed run is recomputed. ``replications.csv`` / ``replications_bayes.csv`` are copies.
"""

from __future__ import annotations

import dataclasses
import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from steerstats._io import (
    append_jsonl,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    mark_output_dir,
    read_jsonl,
)
from steerstats.errors import ConfigError, InputError
from steerstats.uncertainty.bootstrap import grouped_mean_bootstrap

RESULTS = {"fast": "replications.csv", "bayes": "replications_bayes.csv"}
LOGS = {"fast": "replications_fast.jsonl", "bayes": "replications_bayes.jsonl"}
FAST_METHODS = ("sem", "bootstrap", "bootstrap_bca")
COLUMNS = ["rep", "method", "model", "estimate", "low", "high", "truth", "covered", "width", "status"]


@dataclass(frozen=True)
class CoverageConfig:
    reps: int = 1000
    reps_bayes: int = 100
    n_boot: int = 2000
    level: float = 0.95
    seed: int = 0
    cluster: str = "steering_user_id"
    value: str = "dreamsim"
    nuts_warmup: int = 1000
    nuts_samples: int = 1000
    nuts_chains: int = 4

    def key(self, kind: str) -> dict:
        """Settings a results file of ``kind`` ("fast" | "bayes") must share to be resumed."""
        d = dataclasses.asdict(self)
        d.pop("reps")
        d.pop("reps_bayes")
        drop = ("nuts_warmup", "nuts_samples", "nuts_chains") if kind == "fast" else ("n_boot", "cluster")
        for k in drop:
            d.pop(k)
        return d


def rep_seed(seed: int, rep: int) -> np.random.SeedSequence:
    """Seed of replication ``rep``: independent of order, so resumed runs match fresh ones."""
    return np.random.SeedSequence([seed, rep])


def _rows(rep: int, method: str, models, est, lo, hi, truth, status="ok") -> list[dict]:
    return [
        {"rep": rep, "method": method, "model": m, "estimate": float(e), "low": float(a),
         "high": float(b), "truth": float(t), "covered": bool(a <= t <= b), "width": float(b - a),
         "status": status}
        for m, e, a, b, t in zip(models, est, lo, hi, truth, strict=True)
    ]


def sem_interval(frame: pd.DataFrame, value: str, level: float) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """Per-model mean +- z_{1-alpha/2} * row SEM (sd ddof=1 / sqrt(n))."""
    g = frame.groupby("model", sort=True)[value]
    mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.size())
    z = norm.ppf(0.5 + level / 2)
    return list(mean.index), mean.to_numpy(), (mean - z * se).to_numpy(), (mean + z * se).to_numpy()


def fast_replication(frame: pd.DataFrame, truth: pd.Series, rep: int, config: CoverageConfig) -> list[dict]:
    """SEM and cluster-bootstrap intervals for one simulated study."""
    models, est, lo, hi = sem_interval(frame, config.value, config.level)
    t = truth.reindex(models).to_numpy()
    rows = _rows(rep, "sem", models, est, lo, hi, t)
    boot_seed = int(rep_seed(config.seed, rep).generate_state(1)[0])
    for method, name in (("percentile", "bootstrap"), ("bca", "bootstrap_bca")):
        res, levels = grouped_mean_bootstrap(
            frame, config.value, "model", config.cluster,
            n_boot=config.n_boot, seed=boot_seed, level=config.level, method=method,
        )
        rows += _rows(rep, name, levels, res.estimate, res.ci_low, res.ci_high, truth.reindex(levels).to_numpy())
    return rows


def bayes_replication(frame: pd.DataFrame, truth: pd.Series, rep: int, config: CoverageConfig) -> list[dict]:
    """95% HDI of the hierarchical model's per-model population mean (fit status recorded)."""
    from steerstats.uncertainty.bayes import NutsSettings, fit_similarity, hdi

    settings = NutsSettings(
        num_warmup=config.nuts_warmup, num_samples=config.nuts_samples,
        num_chains=config.nuts_chains, progress=False,
    )
    fit = fit_similarity(frame, config.value, settings=settings, seed=rep)
    bounds = hdi(fit.draws, config.level)
    est = fit.summary["mean"].to_numpy()
    models = list(fit.summary["model"])
    return _rows(rep, "bayes", models, est, bounds[:, 0], bounds[:, 1], truth.reindex(models).to_numpy(), fit.status)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage, its binomial Monte Carlo SE and mean width per method (usable fits only)."""
    out = []
    for method, g in results.groupby("method", sort=False):
        ok = g[g["status"] == "ok"]
        n = len(ok)
        p = float(ok["covered"].mean()) if n else float("nan")
        out.append(
            {
                "method": method,
                "reps": int(g["rep"].nunique()),
                "failed_fits": int(g.loc[g["status"] != "ok", "rep"].nunique()),
                "intervals": n,
                "coverage": p,
                "mc_se": float(np.sqrt(p * (1 - p) / n)) if n else float("nan"),
                "mean_width": float(ok["width"].mean()) if n else float("nan"),
            }
        )
    order = {m: i for i, m in enumerate((*FAST_METHODS, "bayes"))}
    return pd.DataFrame(out).sort_values("method", key=lambda s: s.map(order)).reset_index(drop=True)


def _load(out: Path, kind: str, config: CoverageConfig) -> pd.DataFrame:
    """Replications of ``kind`` already in ``out``'s append-only log (torn tail dropped)."""
    meta = out / f"settings_{kind}.json"
    if meta.exists():
        try:
            same = json.loads(meta.read_text()) == json.loads(json.dumps(config.key(kind)))
        except (OSError, ValueError):
            same = False
        if not same:
            raise ConfigError(f"{out} holds a coverage run with other settings; use another --out")
    seen: set[int] = set()
    rows = []
    for record in read_jsonl(out / LOGS[kind]):
        try:
            rep, reps_rows = int(record["rep"]), list(record["rows"])
        except (KeyError, TypeError, ValueError):
            raise InputError("not a replication record", file=out / LOGS[kind]) from None
        if rep not in seen:  # a replication appended twice (two runs at once) counts once
            seen.add(rep)
            rows += reps_rows
    return pd.DataFrame(rows, columns=COLUMNS)


def run_coverage(
    out: str | Path,
    params=None,
    config: CoverageConfig | None = None,
    *,
    progress: bool = True,
) -> pd.DataFrame:
    """Run (or resume) the coverage study into ``out``; returns all replication rows.

    Every replication is appended to ``replications_<kind>.jsonl`` as soon as it is done (one
    flushed line each), so a kill loses at most the replication in progress; the CSV copies
    (``replications.csv``, ``replications_bayes.csv``) are rewritten at the end.
    """
    from tqdm.auto import tqdm

    from steerstats.data.simulate import simulate_steering
    from steerstats.data.simulate_truth import simulation_truth

    config = config or CoverageConfig()
    if params is None:
        raise ConfigError("run_coverage needs SimulationParams (see default_params())")
    out = mark_output_dir(out, "validate coverage")
    truth = simulation_truth(params)["dreamsim_mean_by_model"].drop("Average")
    results = {kind: _load(out, kind, config) for kind in RESULTS}
    for kind in RESULTS:
        atomic_write_json(out / f"settings_{kind}.json", config.key(kind))
    todo = [
        (kind, rep)
        for kind, n in (("fast", config.reps), ("bayes", config.reps_bayes))
        for rep in sorted(set(range(n)) - set(results[kind]["rep"]))
    ]
    new: dict[str, list[dict]] = {kind: [] for kind in RESULTS}
    for kind, rep in tqdm(todo, desc="coverage", unit="rep", disable=not progress):
        frame = simulate_steering(params, np.random.default_rng(rep_seed(config.seed, rep)))
        fn = fast_replication if kind == "fast" else bayes_replication
        rows = fn(frame, truth, rep, config)
        append_jsonl(out / LOGS[kind], {"rep": rep, "rows": rows})
        new[kind] += rows
    for kind in RESULTS:
        if new[kind]:
            added = pd.DataFrame(new[kind], columns=COLUMNS)
            results[kind] = added if results[kind].empty else pd.concat([results[kind], added], ignore_index=True)
        if not results[kind].empty:
            atomic_write_text(out / RESULTS[kind], results[kind][COLUMNS].to_csv(index=False))
    parts = [r for r in results.values() if not r.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def default_params(data_dir=None):
    """Simulation parameters fitted to the release (variance components of logit dreamsim)."""
    from steerstats.data import load_study
    from steerstats.uncertainty.calibrate import fit_variance_components

    vc = fit_variance_components(load_study("vafa2025", data_dir).require("steering"))
    return vc.to_params(), vc


def write_outputs(out: str | Path, results: pd.DataFrame, config: CoverageConfig, calibration: dict | None) -> pd.DataFrame:
    """coverage.csv, coverage.md, coverage.png (+ calibration.json) next to the replications."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    table = summarise(results)
    atomic_write_text(out / "coverage.csv", table.to_csv(index=False))
    reps = results.groupby(results["method"] == "bayes")["rep"].nunique()
    n_fast, n_bayes = int(reps.get(False, 0)), int(reps.get(True, 0))
    lines = [
        f"# Coverage of {config.level:.0%} intervals for per-model mean {config.value}",
        "",
        f"Simulated studies: {n_fast} for the row SEM and the cluster bootstrap (B = {config.n_boot}, "
        f"clusters: {config.cluster}); {n_bayes} of them also with a NUTS fit ({config.nuts_chains} "
        f"chains x {config.nuts_samples} draws after {config.nuts_warmup} warm-up; 95% HDI). "
        "Coverage is pooled over models; MC error = binomial SE sqrt(p(1-p)/intervals). Fits failing "
        "R-hat <= 1.01 / no divergences are counted under 'failed fits' and left out.",
        "",
        "| method | reps | failed fits | intervals | coverage | MC error | mean width |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.method} | {r.reps} | {r.failed_fits} | {r.intervals} | {r.coverage:.3f} | "
            f"{r.mc_se:.3f} | {r.mean_width:.4f} |"
        )
    atomic_write_text(out / "coverage.md", "\n".join(lines) + "\n")
    if calibration is not None:
        atomic_write_json(out / "calibration.json", calibration)

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.2))
    y = np.arange(len(table))
    ax1.errorbar(table["coverage"], y, xerr=1.96 * table["mc_se"], fmt="o", capsize=3)
    ax1.axvline(config.level, color="grey", ls="--", lw=1)
    ax1.set_yticks(y, table["method"])
    ax1.set_xlabel("empirical coverage (±1.96 MC SE)")
    ax2.barh(y, table["mean_width"])
    ax2.set_yticks(y, [])
    ax2.set_xlabel("mean interval width")
    fig.suptitle(f"{config.level:.0%} intervals for per-model mean {config.value}")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, dpi=150, format="png")
    plt.close(fig)
    atomic_write_bytes(out / "coverage.png", buf.getvalue())
    return table
