"""Coverage study: how often does each kind of 95% interval the report uses cover the truth?

Scenarios (``CoverageConfig.scenarios``), each a simulated design with a known truth:

``nested``   the release-calibrated steering study (:func:`steerstats.data.simulate.simulate_steering`):
             goals nested in users nested in models; per-model mean DreamSim
             (:func:`steerstats.data.simulate.truth.simulation_truth`).
``heterogeneous``  the same with a steering-user SD that differs by model (x 0.3 to x 1.6).
``crossed``  binary judgements (improvement-style) of each user's two goals by 6 of ~110 raters:
             raters cross steering users; rater effects v_r ~ N(0, 0.6^2), user effects
             b_u ~ N(0, 0.5^2); truth: the per-judgement rate per model in closed form,
             Phi(theta_m / sqrt(1 + sd_u^2 + sd_r^2)).
``crossed_majority``  the same design with 3 to 9 raters per goal (uniform, as the release's 1-13
             around 6), scored by the exact majority-vote rate of the release's chunks-of-3
             procedure (:func:`steerstats.metrics.majority_rate_exact`); truth: its population value
             E[expected yes votes] / E[chunks], by Monte Carlo over 2,000,000 fresh groups per model
             (fixed seed; MC SE < 5e-4, a hundredth of the intervals' half-widths).

Methods (one row per scenario x method; ``*_t`` use a t(G - 1) quantile below 50 clusters):

  sem               mean +- z * row SEM, rows treated as independent (the release's SEs);
  bootstrap_goal    cluster bootstrap over goal images, percentile (the earlier headline);
  bootstrap_user    cluster bootstrap over steering users, percentile (the report's headline for
                    nested tables); bootstrap_user_bca the same replicates, BCa;
  bootstrap_user_t  estimate +- t(G - 1) x the user-bootstrap SE (the report's figures' intervals);
  cr1_user_t        CR1 over steering users, t reference;
  bootstrap_rater / bootstrap_twoway   one-way over raters / product-weight two-way bootstrap;
  cgm_twoway, cgm_twoway_t             the CGM two-way SE (the report's headline for crossed
                    tables), normal and t reference;
  cgm_jackknife, cgm_jackknife_t       the CGM two-way SE from delete-one-cluster jackknife
                    variances (the majority rates' headline), normal and t reference;
  bayes             95% HDI of the hierarchical model (nested scenarios, first ``reps_bayes``
                    replications; NUTS is ~10^4 x dearer).

Coverage is pooled over models; its Monte Carlo error is the binomial SE sqrt(p (1 - p) / n).
Bayesian fits that fail their diagnostics are counted and left out (never silently used).

Default parameters come from :func:`steerstats.uncertainty.calibrate.fit_variance_components` on
the released ``steering.csv``. Each finished replication is appended at once to an append-only
log (``replications_fast.jsonl``: everything but NUTS; ``replications_bayes.jsonl``: NUTS) in the
output directory, next to the settings it was made with; a rerun with the same settings skips
them and a torn last line of a killed run is recomputed. ``replications.csv`` /
``replications_bayes.csv`` are copies.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import norm

from steerstats._io import (
    append_jsonl,
    atomic_write_json,
    atomic_write_text,
    mark_output_dir,
    read_jsonl,
)
from steerstats.errors import ConfigError, InputError
from steerstats.uncertainty.bootstrap import grouped_mean_bootstrap

RESULTS = {"fast": "replications.csv", "bayes": "replications_bayes.csv"}
LOGS = {"fast": "replications_fast.jsonl", "bayes": "replications_bayes.jsonl"}
FAST_METHODS = ("sem", "bootstrap_goal", "bootstrap_user", "bootstrap_user_bca", "bootstrap_user_t", "cr1_user_t",
                "bootstrap_rater",
                "bootstrap_twoway", "cgm_twoway", "cgm_twoway_t", "cgm_jackknife", "cgm_jackknife_t")
COLUMNS = ["scenario", "rep", "method", "model", "estimate", "low", "high", "truth", "covered", "width", "status"]
SCENARIOS = ("nested", "heterogeneous", "crossed", "crossed_majority")
#: scenarios of binary judgements by raters crossed with steering users (no NUTS model for them)
JUDGEMENT_SCENARIOS = ("crossed", "crossed_majority")
#: per-model multipliers of the steering-user SD in the heterogeneous scenario (cycled over models)
USER_SD_SCALES = (0.3, 0.6, 1.0, 1.3, 1.6)


@dataclass(frozen=True)
class CoverageConfig:
    reps: int = 1000
    reps_bayes: int = 100
    n_boot: int = 2000
    level: float = 0.95
    seed: int = 0
    value: str = "dreamsim"
    nuts_warmup: int = 1000
    nuts_samples: int = 1000
    nuts_chains: int = 4
    scenarios: tuple[str, ...] = SCENARIOS

    def __post_init__(self) -> None:
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        if unknown or not self.scenarios:
            raise ConfigError(f"unknown coverage scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
        if self.n_boot < 2 or self.reps < 0 or self.reps_bayes < 0 or not 0 < self.level < 1:
            raise ConfigError("coverage needs n_boot >= 2, reps >= 0, reps_bayes >= 0 and 0 < level < 1")

    def key(self, kind: str) -> dict:
        """Settings a results file of ``kind`` ("fast" | "bayes") must share to be resumed."""
        d = dataclasses.asdict(self)
        d.pop("reps")
        d.pop("reps_bayes")
        d.pop("scenarios")  # each record names its scenario: adding scenarios later resumes the rest
        drop = ("nuts_warmup", "nuts_samples", "nuts_chains") if kind == "fast" else ("n_boot",)
        for k in drop:
            d.pop(k)
        return d


def rep_seed(seed: int, rep: int) -> np.random.SeedSequence:
    """Seed of replication ``rep``: independent of order, so resumed runs match fresh ones."""
    return np.random.SeedSequence([seed, rep])


def _rows(rep: int, method: str, models, est, lo, hi, truth, status="ok", scenario: str = "nested") -> list[dict]:
    return [
        {"scenario": scenario, "rep": rep, "method": method, "model": m, "estimate": float(e), "low": float(a),
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


def _t_interval(est: np.ndarray, se: np.ndarray, n_clusters: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    from steerstats.uncertainty.clusters import critical_value

    half = critical_value(level, n_clusters) * se
    return est - half, est + half


def _mean_by_model(value: str):
    """Weighted statistic: mean of ``value`` per model (sorted), for the generic SE machinery."""
    from steerstats.metrics.weighted import weighted_group_mean

    def stat(frame: pd.DataFrame, w: np.ndarray | None) -> np.ndarray:
        codes, levels = pd.factorize(frame["model"], sort=True)
        return weighted_group_mean(frame[value].to_numpy(float), codes, len(levels), w)

    return stat


def fast_replication(frame: pd.DataFrame, truth: pd.Series, rep: int, config: CoverageConfig,
                     scenario: str = "nested") -> list[dict]:
    """Row-SEM, cluster-bootstrap and CR1 intervals of per-model means for one simulated study."""
    from steerstats.uncertainty.clusters import cluster_robust_se

    if scenario == "crossed_majority":
        return majority_replication(frame, truth, rep, config)
    value = "y" if scenario == "crossed" else config.value
    models, est, lo, hi = sem_interval(frame, value, config.level)
    t = truth.reindex(models).to_numpy()
    rows = _rows(rep, "sem", models, est, lo, hi, t, scenario=scenario)
    boot_seed = int(rep_seed(config.seed, rep).generate_state(1)[0])
    one_way = (("goal_image", "bootstrap_goal", ("percentile",)), ("steering_user_id", "bootstrap_user", ("percentile", "bca")))
    if scenario == "crossed":
        one_way = (("steering_user_id", "bootstrap_user", ("percentile",)), ("user_id", "bootstrap_rater", ("percentile",)))
    for cluster, name, methods in one_way:
        for method in methods:
            res, levels = grouped_mean_bootstrap(frame, value, "model", cluster, n_boot=config.n_boot,
                                                 seed=boot_seed, level=config.level, method=method)
            label = name if method == "percentile" else f"{name}_bca"
            if label == "bootstrap_user":
                user_boot = (res, levels)
            rows += _rows(rep, label, levels, res.estimate, res.ci_low, res.ci_high, truth.reindex(levels).to_numpy(),
                          scenario=scenario)
    stat = _mean_by_model(value)
    if scenario == "crossed":
        from steerstats.uncertainty.bootstrap import cluster_bootstrap

        res = cluster_bootstrap(stat, frame, ["steering_user_id", "user_id"], n_boot=config.n_boot, seed=boot_seed,
                                level=config.level)
        rows += _rows(rep, "bootstrap_twoway", models, res.estimate, res.ci_low, res.ci_high, t, scenario=scenario)
        cgm = cluster_robust_se(stat, frame, ["steering_user_id", "user_id"])
        z = norm.ppf(0.5 + config.level / 2)
        rows += _rows(rep, "cgm_twoway", models, cgm.estimate, cgm.estimate - z * cgm.se, cgm.estimate + z * cgm.se,
                      t, scenario=scenario)
        rows += _rows(rep, "cgm_twoway_t", models, cgm.estimate, *_t_interval(cgm.estimate, cgm.se, cgm.n_clusters, config.level),
                      t, scenario=scenario)
    else:
        res, levels = user_boot
        counts = frame.groupby("model", sort=True)["steering_user_id"].nunique().reindex(levels).to_numpy()
        rows += _rows(rep, "bootstrap_user_t", levels, res.estimate, *_t_interval(res.estimate, res.se, counts, config.level),
                      truth.reindex(levels).to_numpy(), scenario=scenario)
        cr1 = cluster_robust_se(stat, frame, "steering_user_id")
        rows += _rows(rep, "cr1_user_t", models, cr1.estimate, *_t_interval(cr1.estimate, cr1.se, cr1.n_clusters, config.level),
                      t, scenario=scenario)
    return rows


def simulate_scenario(scenario: str, params, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.Series]:
    """(frame, per-model truth) of one replication of ``scenario`` (see the module docstring)."""
    from steerstats.data.simulate import simulate_steering

    if scenario == "nested":
        return simulate_steering(params, rng), _truth(params).drop("Average")
    if scenario == "heterogeneous":
        parts, truth = [], {}
        seeds = rng.spawn(len(params.models))
        for k, model in enumerate(params.models):
            scaled = dataclasses.replace(params, sigma_user=params.sigma_user * USER_SD_SCALES[k % len(USER_SD_SCALES)])
            frame = simulate_steering(scaled, seeds[k])
            parts.append(frame[frame["model"] == model])
            truth[model] = float(_truth(scaled)[model])
        return pd.concat(parts, ignore_index=True), pd.Series(truth)
    if scenario == "crossed":
        return simulate_crossed_judgements(params, rng)
    frame, _ = simulate_crossed_judgements(params, rng, per_goal=MAJORITY_PER_GOAL)
    models = list(params.models)
    theta = np.asarray(CROSSED["theta"])[np.arange(len(models)) % len(CROSSED["theta"])]
    return frame, pd.Series([majority_truth(float(t)) for t in theta], index=models)


@functools.lru_cache(maxsize=64)
def _truth(params) -> pd.Series:
    """Per-model population mean DreamSim of ``params`` (cached: it does not depend on the draws)."""
    from steerstats.data.simulate.truth import simulation_truth

    return simulation_truth(params).dreamsim_mean_by_model


#: the crossed scenario's design and effects (release-like: ~28 users a model, 2 goals each, 6 of
#: ~110 raters per goal)
CROSSED = {"n_raters": 110, "per_goal": 6, "sd_user": 0.5, "sd_rater": 0.6, "theta": (0.1, 0.2, 0.35, 0.5, 0.6)}


#: raters per goal in the crossed_majority scenario (uniform on this range)
MAJORITY_PER_GOAL = (3, 9)


def simulate_crossed_judgements(params, rng: np.random.Generator,
                                per_goal: tuple[int, int] | None = None) -> tuple[pd.DataFrame, pd.Series]:
    """Binary judgements y = 1[theta_m + b_u + v_r + e > 0], e ~ N(0, 1), of each goal by
    ``CROSSED["per_goal"]`` distinct raters (or a uniform number in the range ``per_goal``); truth
    P(y = 1 | m) = Phi(theta_m / sqrt(1 + sd_u^2 + sd_r^2))."""
    from scipy.special import ndtr

    c = CROSSED
    models = list(params.models)
    k = len(models)
    n_users = params.n_users
    user_model = np.arange(n_users) % k
    theta = np.asarray(c["theta"])[np.arange(k) % len(c["theta"])]
    b = c["sd_user"] * rng.standard_normal(n_users)
    v = c["sd_rater"] * rng.standard_normal(c["n_raters"])
    goal_user = np.repeat(np.arange(n_users), params.goals_per_user)
    most = c["per_goal"] if per_goal is None else per_goal[1]
    raters = np.argsort(rng.random((goal_user.size, c["n_raters"])), axis=1)[:, :most]
    if per_goal is None:
        g = np.repeat(np.arange(goal_user.size), most)
        r = raters.ravel()
    else:
        sizes = rng.integers(per_goal[0], per_goal[1] + 1, goal_user.size)
        keep = np.arange(most)[None, :] < sizes[:, None]
        g = np.repeat(np.arange(goal_user.size), sizes)
        r = raters[keep]
    u = goal_user[g]
    y = (theta[user_model[u]] + b[u] + v[r] + rng.standard_normal(g.size) > 0).astype(float)
    frame = pd.DataFrame({
        "model": np.asarray(models, dtype=object)[user_model[u]], "steering_user_id": [f"u{i}" for i in u],
        "goal_image": [f"g{i}" for i in g], "user_id": [f"r{i}" for i in r], "y": y,
    })
    truth = pd.Series(ndtr(theta / np.sqrt(1 + c["sd_user"] ** 2 + c["sd_rater"] ** 2)), index=models)
    return frame, truth


@functools.lru_cache(maxsize=16)
def majority_truth(theta: float, n_groups: int = 2_000_000, seed: int = 20250301) -> float:
    """Population exact majority-vote rate of a model with effect ``theta`` in the crossed_majority
    design: E[expected yes votes of a group] / E[its chunks], by Monte Carlo over ``n_groups`` groups
    (a fresh user effect and fresh raters each; group sizes uniform on :data:`MAJORITY_PER_GOAL`)."""
    from steerstats.metrics.judgements import chunk_sizes, expected_votes

    c = CROSSED
    lo, hi = MAJORITY_PER_GOAL
    expected = np.zeros((hi + 1, hi + 1))
    chunks = np.zeros(hi + 1)
    for n in range(1, hi + 1):
        chunks[n] = len(chunk_sizes(n))
        expected[: n + 1, n] = [expected_votes(k, n)[0] for k in range(n + 1)]
    rng = np.random.default_rng(seed)
    yes = votes = 0.0
    for start in range(0, n_groups, 250_000):
        m = min(250_000, n_groups - start)
        sizes = rng.integers(lo, hi + 1, m)
        latent = (theta + c["sd_user"] * rng.standard_normal((m, 1)) + c["sd_rater"] * rng.standard_normal((m, hi))
                  + rng.standard_normal((m, hi)))
        k = ((latent > 0) & (np.arange(hi)[None, :] < sizes[:, None])).sum(axis=1)
        yes += expected[k, sizes].sum()
        votes += chunks[sizes].sum()
    return float(yes / votes)


def majority_replication(frame: pd.DataFrame, truth: pd.Series, rep: int, config: CoverageConfig) -> list[dict]:
    """Intervals of the per-model exact majority-vote rate (crossed_majority scenario): the
    release's SEM over votes, the steering-user bootstrap (percentile, and t), and the CGM two-way
    jackknife over users x raters (normal and t)."""
    from steerstats.metrics.judgements import (
        majority_rate_exact,
        majority_rate_exact_summary,
        majority_rate_leave_out,
    )
    from steerstats.uncertainty.bootstrap import cluster_bootstrap
    from steerstats.uncertainty.clusters import jackknife_robust_se

    scenario = "crossed_majority"
    frame = frame.assign(vote=frame["y"].astype(bool))
    models = sorted(frame["model"].unique())
    k = len(models)
    t = truth.reindex(models).to_numpy()
    z = norm.ppf(0.5 + config.level / 2)
    summary = majority_rate_exact_summary(frame, column="vote", models=models).iloc[:k]
    est, sem = summary["rate"].to_numpy(), summary["rate_sem"].to_numpy()
    rows = _rows(rep, "sem", models, est, est - z * sem, est + z * sem, t, scenario=scenario)

    def stat(f: pd.DataFrame, w: np.ndarray | None) -> np.ndarray:
        return majority_rate_exact(f, w, column="vote", models=models)[..., :k]

    boot_seed = int(rep_seed(config.seed, rep).generate_state(1)[0])
    res = cluster_bootstrap(stat, frame, "steering_user_id", n_boot=config.n_boot, seed=boot_seed, level=config.level)
    rows += _rows(rep, "bootstrap_user", models, res.estimate, res.ci_low, res.ci_high, t, scenario=scenario)
    users = frame.groupby("model", sort=True)["steering_user_id"].nunique().reindex(models).to_numpy()
    rows += _rows(rep, "bootstrap_user_t", models, res.estimate, *_t_interval(res.estimate, res.se, users, config.level),
                  t, scenario=scenario)

    def leave_out(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values, touched = majority_rate_leave_out(frame, codes, column="vote", models=models)
        return values[:, :k], touched[:, :k]

    jack = jackknife_robust_se(leave_out, est, frame, ["steering_user_id", "user_id"])
    rows += _rows(rep, "cgm_jackknife", models, est, est - z * jack.se, est + z * jack.se, t, scenario=scenario)
    rows += _rows(rep, "cgm_jackknife_t", models, est, *_t_interval(est, jack.se, jack.n_clusters, config.level),
                  t, scenario=scenario)
    return rows


def bayes_replication(frame: pd.DataFrame, truth: pd.Series, rep: int, config: CoverageConfig,
                      scenario: str = "nested") -> list[dict]:
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
    return _rows(rep, "bayes", models, est, bounds[:, 0], bounds[:, 1], truth.reindex(models).to_numpy(), fit.status,
                 scenario=scenario)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Coverage, its binomial Monte Carlo SE and mean width per method (usable fits only)."""
    out = []
    if "scenario" not in results.columns:
        results = results.assign(scenario="nested")
    for (scenario, method), g in results.groupby(["scenario", "method"], sort=False):
        ok = g[g["status"] == "ok"]
        n = len(ok)
        p = float(ok["covered"].mean()) if n else float("nan")
        out.append(
            {
                "scenario": scenario,
                "method": method,
                "reps": int(g["rep"].nunique()),
                "failed_fits": int(g.loc[g["status"] != "ok", "rep"].nunique()),
                "intervals": n,
                "coverage": p,
                "mc_se": float(np.sqrt(p * (1 - p) / n)) if n else float("nan"),
                "mean_width": float(ok["width"].mean()) if n else float("nan"),
            }
        )
    order = {m: i for i, m in enumerate((*SCENARIOS, *FAST_METHODS, "bayes"))}
    return pd.DataFrame(out).sort_values(["scenario", "method"], key=lambda s: s.map(order)).reset_index(drop=True)


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
    seen: set[tuple[str, int]] = set()
    rows = []
    for record in read_jsonl(out / LOGS[kind]):
        try:
            key, reps_rows = (str(record["scenario"]), int(record["rep"])), list(record["rows"])
        except (KeyError, TypeError, ValueError):
            raise InputError("not a replication record", file=out / LOGS[kind]) from None
        if key not in seen:  # a replication appended twice (two runs at once) counts once
            seen.add(key)
            rows += reps_rows
    return pd.DataFrame(rows, columns=COLUMNS)


def coverage_replication(task: tuple[str, str, int], *, params, config: CoverageConfig) -> list[dict]:
    """One replication (kind, scenario, rep): simulate its study from its own seed and score the
    intervals (a pure function of its arguments)."""
    kind, scenario, rep = task
    rng = np.random.default_rng(np.random.SeedSequence([config.seed, rep, SCENARIOS.index(scenario)]))
    frame, truth = simulate_scenario(scenario, params, rng)
    fn = fast_replication if kind == "fast" else bayes_replication
    return fn(frame, truth, rep, config, scenario)


def run_coverage(
    out: str | Path,
    params=None,
    config: CoverageConfig | None = None,
    *,
    progress: bool = True,
    executor=None,
) -> pd.DataFrame:
    """Run (or resume) the coverage study into ``out``; returns all replication rows.

    Every replication is appended to ``replications_<kind>.jsonl`` as soon as it is done (one
    flushed line each), so a kill loses at most the replication in progress; the CSV copies
    (``replications.csv``, ``replications_bayes.csv``) are rewritten at the end, in replication
    order whatever order they finished in. ``executor`` (:mod:`steerstats._executor`; default:
    this process) runs the replications, each a pure :func:`coverage_replication`.
    """
    from tqdm.auto import tqdm

    from steerstats._executor import LocalExecutor

    config = config or CoverageConfig()
    if params is None:
        raise ConfigError("run_coverage needs SimulationParams (see default_params())")
    out = mark_output_dir(out, "validate coverage")
    results = {kind: _load(out, kind, config) for kind in RESULTS}
    for kind in RESULTS:
        atomic_write_json(out / f"settings_{kind}.json", config.key(kind))
    done = {kind: set(zip(results[kind]["scenario"], results[kind]["rep"], strict=True)) for kind in RESULTS}
    todo = [
        (kind, scenario, rep)
        for kind, n in (("fast", config.reps), ("bayes", config.reps_bayes))
        for scenario in config.scenarios
        if kind == "fast" or scenario not in JUDGEMENT_SCENARIOS  # NUTS: the similarity model of the nested scenarios
        for rep in range(n)
        if (scenario, rep) not in done[kind]
    ]
    finished: dict[int, list[dict]] = {}
    executor = executor or LocalExecutor()
    bar = tqdm(total=len(todo), desc=f"coverage ({executor.name})", unit="rep", disable=not progress)
    for i, rows in executor.map(coverage_replication, todo, shared={"params": params, "config": config}, label="coverage"):
        kind, scenario, rep = todo[i]
        append_jsonl(out / LOGS[kind], {"scenario": scenario, "rep": rep, "rows": rows})
        finished[i] = rows
        bar.update()
    bar.close()
    new: dict[str, list[dict]] = {kind: [] for kind in RESULTS}
    for i in sorted(finished):
        new[todo[i][0]] += finished[i]
    for kind in RESULTS:
        if new[kind]:
            added = pd.DataFrame(new[kind], columns=COLUMNS)
            results[kind] = added if results[kind].empty else pd.concat([results[kind], added], ignore_index=True)
        if not results[kind].empty:
            atomic_write_text(out / RESULTS[kind], results[kind][COLUMNS].to_csv(index=False))
    parts = [r for r in results.values() if not r.empty]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=COLUMNS)


def default_params(data_dir: str | Path | None = None):
    """Simulation parameters fitted to the release (variance components of logit dreamsim):
    ``(params, components, files)``, ``files`` the release files read (path, sha256, rows)."""
    from steerstats.data import load_study
    from steerstats.uncertainty.calibrate import fit_variance_components

    study = load_study("vafa2025", data_dir)
    vc = fit_variance_components(study.require("steering"))
    files = [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in study.files if f.path.endswith("steering.csv")]
    return vc.to_params(), vc, files
