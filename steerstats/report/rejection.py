"""``steerstats rejection``: rejection-sampling (best-of-N) evaluation of reward models.

Collins et al. (2024) evaluate coarse vs fine-grained reward models by rejection sampling: per
prompt, N candidates; each model's top pick; side-by-side judgements of the two picks with an
"unsure" option (their Table 1). This module runs the whole analysis from a config (TOML, see
``analyses/rejection_*.toml``) and writes

    OUT/tables/side_by_side_<judge>.{csv,md,tex}   % prefer A / B / unsure per dimension, 95% CIs
    OUT/tables/pick_truth.*        true reward of each model's picks and the paired difference
    OUT/tables/best_of_n.*         expected true reward of each scorer's best-of-N pick vs N
    OUT/tables/pairwise_accuracy.* tie-aware pairwise accuracy of each scorer
    OUT/figures/best_of_n.*, side_by_side_<judge>.*
    OUT/manifest.json

CIs: one-way cluster bootstrap over prompts (percentile), as all votes/pairs of a prompt share its
candidates.
"""

from __future__ import annotations

import copy
import time
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats._io import atomic_directory, atomic_write_json
from steerstats.errors import ConfigError
from steerstats.generate import (
    AGGREGATE,
    Candidates,
    best_of_n,
    check_models,
    oracle_judgements,
    orient_votes,
    pair_frame,
    random_scorer,
    read_judgements,
    score_candidates,
    simulated_judgements,
    tie_aware_accuracy,
    top_picks,
    vote_shares,
)
from steerstats.report.artifacts import Figure, Table, write_artifacts
from steerstats.uncertainty import cluster_bootstrap, grouped_mean_bootstrap

#: the built-in configuration; analyses/rejection_synthetic.toml spells out the same values
DEFAULTS: dict[str, Any] = {
    "seed": 0,
    "n_boot": 2000,
    "level": 0.95,
    "world": {"dim": 64, "target": "tree"},
    "train": {"n": 1000, "seed": 1},
    "models": {
        "coarse": {"kind": "coarse", "epochs": 100},
        "cbm": {"kind": "cbm", "mode": "sequential", "epochs": 100, "attributes": ["photorealistic", "visually_compelling", "chaotic"]},
        "cbm_mismatch": {"kind": "cbm", "mode": "sequential", "epochs": 100, "attributes": ["blurry", "distorted", "bright", "captivating", "disturbing", "funny"]},
    },
    "generate": {"backend": "synthetic", "n_prompts": 400, "n_per_prompt": 64, "seed": 2, "path": "", "attributes": []},
    "compare": {"a": "coarse", "b": "cbm", "n": 16, "attributes": []},
    "judges": {
        "kinds": ["oracle", "simulated"],
        "oracle_band": 0.0,
        "n_raters": 3,
        "noise_sd_aggregate": 0.1,
        "band_aggregate": 0.1,
        "noise_sd_attribute": 0.3,
        "band_attribute": 0.3,
        "human": "",
    },
    "best_of_n": {"ns": [1, 2, 4, 8, 16, 32, 64], "baselines": ["oracle", "random"]},
    "accuracy": {"score_epsilon": "calibrate", "truth_band": 0.0},
}


# config ------------------------------------------------------------------------------------------
def merge_config(defaults: Mapping[str, Any], override: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """``defaults`` updated by ``override``; unknown keys are a ConfigError, except inside the
    open tables (``world``: FeedbackWorldConfig fields; ``models``: replaced as a whole)."""
    out = copy.deepcopy(dict(defaults))
    for key, value in override.items():
        name = f"{where}{key}"
        if key not in out and where.rstrip(".") not in OPEN_TABLES:
            raise ConfigError(f"unknown config key '{name}' (known: {sorted(out)})")
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and name not in REPLACED_TABLES:
            out[key] = merge_config(out[key], value, f"{name}.")
        else:
            out[key] = copy.deepcopy(value)
    return out


OPEN_TABLES = {"models", "world"}
REPLACED_TABLES = {"models"}


def load_config(path: str | Path | None, defaults: Mapping[str, Any] = DEFAULTS) -> dict[str, Any]:
    if path is None:
        return copy.deepcopy(dict(defaults))
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {path}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from err
    return merge_config(defaults, raw)


# building blocks ---------------------------------------------------------------------------------
def build_world(cfg: Mapping[str, Any]):
    from steerstats.data.simulate_feedback import FeedbackWorld, FeedbackWorldConfig

    world = dict(cfg["world"])
    if "attributes" in world:
        world["attributes"] = tuple(world["attributes"])
    try:
        return FeedbackWorld(FeedbackWorldConfig(**world))
    except TypeError as err:
        raise ConfigError(f"bad [world] table: {err}") from err


def train_models(cfg: Mapping[str, Any], world) -> dict[str, Any]:
    """Fit each ``[models.NAME]`` on a fresh training sample of the world (AI attribute labels)."""
    from steerstats.models import CoarseRewardModel, ConceptBottleneckRewardModel

    sample = world.sample(int(cfg["train"]["n"]), int(cfg["train"]["seed"]))
    models = {}
    for name, spec in cfg["models"].items():
        spec = dict(spec)
        kind = spec.pop("kind", None)
        attrs = tuple(spec.pop("attributes", ()))
        spec.setdefault("random_state", int(cfg["seed"]))
        if "hidden" in spec:
            spec["hidden"] = tuple(spec["hidden"])
        if kind == "coarse":
            model = CoarseRewardModel(**spec).fit(sample.embeddings, sample.aggregate, groups=sample.group)
        elif kind == "cbm":
            if not attrs:
                raise ConfigError(f"[models.{name}] a cbm needs 'attributes'")
            unknown = [a for a in attrs if a not in world.attribute_names]
            if unknown:
                raise ConfigError(f"[models.{name}] unknown attributes {unknown}")
            model = ConceptBottleneckRewardModel(attribute_names=attrs, **spec).fit(
                sample.embeddings, sample.aggregate, concepts=sample.attributes(attrs), groups=sample.group
            )
        else:
            raise ConfigError(f"[models.{name}] kind must be 'coarse' or 'cbm', got {kind!r}")
        models[name] = model
    return models


def make_candidates(cfg: Mapping[str, Any], world) -> Candidates:
    g = cfg["generate"]
    if g["backend"] == "synthetic":
        from steerstats.generate import SyntheticBackend

        prompts = [f"p{i:04d}" for i in range(int(g["n_prompts"]))]
        return SyntheticBackend(world).generate(prompts, int(g["n_per_prompt"]), int(g["seed"]))
    if g["backend"] == "pool":
        from steerstats.generate import PoolBackend

        if not g["path"]:
            raise ConfigError("[generate] backend 'pool' needs 'path'")
        pool = PoolBackend.from_file(g["path"], attributes=g["attributes"])
        return pool.generate(pool.prompts, int(g["n_per_prompt"]), int(g["seed"]))
    raise ConfigError(f"[generate] backend must be 'synthetic' or 'pool', got {g['backend']!r}")


def truth_tables(candidates: Candidates, attributes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(oracle truth, graded truth) per candidate: aggregate = expected aggregate; attributes as
    known binary values (oracle) and as latent strengths (simulated raters) when there is a latent."""
    if candidates.aggregate is None:
        raise ConfigError("oracle/simulated judges and best-of-N need candidates with a known aggregate")
    oracle = pd.DataFrame({AGGREGATE: candidates.aggregate})
    graded = oracle.copy()
    for a in attributes:
        oracle[a] = candidates.attributes[a].to_numpy(dtype=float)
        graded[a] = oracle[a]
    if candidates.latent is not None and candidates.attributes is not None and candidates.latent.ndim == 2:
        names = list(candidates.attributes.columns)
        for a in attributes:
            graded[a] = candidates.latent[:, names.index(a)]
    return oracle, graded


# tables ------------------------------------------------------------------------------------------
def side_by_side_table(votes: pd.DataFrame, a: str, b: str, dims: list[str], *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    """Collins et al. Table 1 with cluster-bootstrap CIs over prompts."""
    votes = orient_votes(votes, a, b)
    dims = [d for d in dims if (votes["dimension"] == d).any()]
    res = cluster_bootstrap(vote_shares(votes, dims), votes, "prompt", n_boot=n_boot, seed=seed, level=level)
    k = 4
    names = [f"pct_prefer_{a}", f"pct_prefer_{b}", "pct_unsure", f"{a}_minus_{b}"]
    rows = []
    for i, d in enumerate(dims):
        sub = votes[votes["dimension"] == d]
        row: dict[str, Any] = {"dimension": d}
        for j, name in enumerate(names):
            row[name] = res.estimate[i * k + j]
            row[f"{name}_se"] = res.se[i * k + j]
            row[f"{name}_ci_low"] = res.ci_low[i * k + j]
            row[f"{name}_ci_high"] = res.ci_high[i * k + j]
        row["n_votes"] = len(sub)
        row["n_prompts"] = sub["prompt"].nunique()
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_table(data: pd.DataFrame, value: str, group: str, *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    res, levels = grouped_mean_bootstrap(data, value, group, "prompt", n_boot=n_boot, seed=seed, level=level)
    return pd.DataFrame(
        {group: levels, "mean": res.estimate, "mean_se": res.se, "ci_low": res.ci_low, "ci_high": res.ci_high}
    )


def best_of_n_table(curves: pd.DataFrame, *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    data = curves.assign(key=curves["scorer"] + "|" + curves["n"].astype(str).str.zfill(4))
    out = _mean_table(data, "expected_truth", "key", n_boot=n_boot, seed=seed, level=level)
    parts = out.pop("key").str.split("|", expand=True)
    out.insert(0, "scorer", parts[0])
    out.insert(1, "n", parts[1].astype(int))
    order = {s: i for i, s in enumerate(pd.unique(curves["scorer"]))}
    return out.sort_values(["scorer", "n"], key=lambda c: c.map(order) if c.name == "scorer" else c).reset_index(drop=True)


def pick_truth_table(pairs: pd.DataFrame, truth: np.ndarray, a: str, b: str, *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    """Mean true reward of each model's picks and the paired difference A - B, per prompt."""
    ta, tb = truth[pairs["pos_a"].to_numpy()], truth[pairs["pos_b"].to_numpy()]
    long = pd.concat(
        [
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": f"truth_{a}", "v": ta}),
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": f"truth_{b}", "v": tb}),
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": f"{a}_minus_{b}", "v": ta - tb}),
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": "same_pick", "v": pairs["same"].astype(float)}),
        ],
        ignore_index=True,
    )
    out = _mean_table(long, "v", "quantity", n_boot=n_boot, seed=seed, level=level)
    order = [f"truth_{a}", f"truth_{b}", f"{a}_minus_{b}", "same_pick"]
    return out.set_index("quantity").loc[order].reset_index()


def accuracy_table(candidates: Candidates, scores: pd.DataFrame, truth: np.ndarray, cfg: Mapping[str, Any], *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    frames, eps = [], {}
    eps_cfg = cfg["score_epsilon"]
    for name in scores.columns:
        pairs, e = tie_aware_accuracy(
            candidates, scores[name].to_numpy(), truth,
            truth_band=float(cfg["truth_band"]), score_epsilon=eps_cfg if eps_cfg == "calibrate" else float(eps_cfg),
        )
        frames.append(pairs.assign(scorer=name))
        eps[name] = e
    data = pd.concat(frames, ignore_index=True)
    out = _mean_table(data, "correct", "scorer", n_boot=n_boot, seed=seed, level=level)
    out = out.set_index("scorer").loc[list(scores.columns)].reset_index()
    out.insert(1, "score_epsilon", out["scorer"].map(eps))
    return out.rename(columns={"mean": "accuracy", "mean_se": "accuracy_se"})


# figures -----------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def best_of_n_figure(table: pd.DataFrame):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for scorer, g in table.groupby("scorer", sort=False):
        ax.plot(g["n"], g["mean"], marker="o", label=scorer)
        ax.fill_between(g["n"], g["ci_low"], g["ci_high"], alpha=0.2)
    ax.set_xscale("log", base=2)
    ns = sorted(table["n"].unique())
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xlabel("N (candidates per prompt)")
    ax.set_ylabel("expected true reward of the pick")
    ax.legend(frameon=False)
    return fig


def side_by_side_figure(table: pd.DataFrame, a: str, b: str):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    left = np.zeros(len(table))
    for col, label, color in ((f"pct_prefer_{a}", f"prefer {a}", "tab:blue"), ("pct_unsure", "unsure", "0.8"), (f"pct_prefer_{b}", f"prefer {b}", "tab:orange")):
        ax.barh(y, table[col], left=left, color=color, label=label)
        left += table[col].to_numpy()
    ax.set_yticks(y, table["dimension"])
    ax.set_xlabel("% of votes")
    ax.legend(frameon=False, ncol=3, loc="upper center", bbox_to_anchor=(0.5, 1.12))
    return fig


# the whole analysis ------------------------------------------------------------------------------
def run_rejection(cfg: Mapping[str, Any], out: str | Path, *, scorers: Mapping[str, Any] | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the configured analysis and write ``out`` atomically; returns the tables (frames).

    ``scorers``: extra callables ``Candidates -> scores`` (or fitted reward models) to evaluate
    next to the configured models.
    """
    t0 = time.perf_counter()
    seed, n_boot, level = int(cfg["seed"]), int(cfg["n_boot"]), float(cfg["level"])
    if n_boot < 2:
        raise ConfigError(f"n_boot must be at least 2, got {n_boot}")
    world = build_world(cfg)
    models = train_models(cfg, world) if cfg["models"] else {}
    all_scorers: dict[str, Any] = {**models, **(scorers or {})}
    candidates = make_candidates(cfg, world)
    a, b = cfg["compare"]["a"], cfg["compare"]["b"]
    for m in (a, b):
        if m not in all_scorers:
            raise ConfigError(f"[compare] model '{m}' is not among the scorers {sorted(all_scorers)}")
    attributes = list(cfg["compare"]["attributes"]) or _default_attributes(candidates)
    scores = score_candidates(candidates, all_scorers)
    tables: dict[str, Table] = {}
    figures: dict[str, Figure] = {}
    has_truth = candidates.aggregate is not None

    # side by side
    picks = top_picks(candidates, scores, int(cfg["compare"]["n"]))
    pairs = pair_frame(picks, a, b)
    distinct = pairs[~pairs["same"]].reset_index(drop=True)
    judges = cfg["judges"]
    dims = [AGGREGATE, *attributes]
    sources: dict[str, pd.DataFrame] = {}
    needs_truth = sorted({"oracle", "simulated"} & set(judges["kinds"]))
    if needs_truth and not has_truth:
        raise ConfigError(
            f"judges {needs_truth} need candidates with a known aggregate, and these have none "
            "(a pool without an 'aggregate' column?): set [judges] kinds = [\"human\"]"
        )
    if has_truth:
        oracle_truth, graded = truth_tables(candidates, attributes)
        if "oracle" in judges["kinds"]:
            sources["oracle"] = oracle_judgements(distinct, oracle_truth, a, b, band={AGGREGATE: float(judges["oracle_band"])})
        if "simulated" in judges["kinds"]:
            noise = {d: float(judges["noise_sd_attribute"]) for d in attributes} | {AGGREGATE: float(judges["noise_sd_aggregate"])}
            band = {d: float(judges["band_attribute"]) for d in attributes} | {AGGREGATE: float(judges["band_aggregate"])}
            sources["simulated"] = simulated_judgements(
                distinct, graded, a, b, n_raters=int(judges["n_raters"]), noise_sd=noise, band=band, seed=seed
            )
    unknown = set(judges["kinds"]) - {"oracle", "simulated", "human"}
    if unknown:
        raise ConfigError(f"[judges] unknown kinds {sorted(unknown)}")
    if "human" in judges["kinds"] or judges["human"]:
        if not judges["human"]:
            raise ConfigError("[judges] kind 'human' needs 'human = \"path/to/judgements.csv\"'")
        votes = read_judgements(judges["human"])
        check_models(votes, a, b, judges["human"])
        sources["human"] = votes
        dims += [d for d in pd.unique(votes["dimension"]) if d not in dims]
    for judge, votes in sources.items():
        if votes.empty:
            continue
        frame = side_by_side_table(votes, a, b, dims, n_boot=n_boot, seed=seed, level=level)
        name = f"side_by_side_{judge}"
        tables[name] = Table(
            name, frame,
            f"Side-by-side judgements ({judge}): {a} vs {b}, best of N = {cfg['compare']['n']}",
            _sxs_line(frame, a, b, level),
            f"cluster bootstrap over prompts ({n_boot} replicates), percentile {level:.0%} CIs",
            notes=(f"{int(pairs['same'].sum())} of {len(pairs)} prompts where both models picked the same candidate are excluded (nothing to compare).",
                   "Percentages are votes over all votes on that dimension (Collins et al. Table 1); attribute rows ask which image is more X."),
        )
        figures[name] = Figure(name, side_by_side_figure(frame, a, b), tables[name].title, tables[name].interpretation)

    if has_truth:
        truth = candidates.aggregate
        tables["pick_truth"] = Table(
            "pick_truth", pick_truth_table(pairs, truth, a, b, n_boot=n_boot, seed=seed, level=level),
            f"True reward (P(aggregate = 1)) of each model's best-of-{cfg['compare']['n']} pick",
            "The oracle's view of which model picks better; same_pick is the share of prompts where both chose the same candidate.",
            f"cluster bootstrap over prompts ({n_boot} replicates)",
        )
        curve_scorers = dict(all_scorers)
        baselines = list(cfg["best_of_n"]["baselines"])
        if "oracle" in baselines:
            curve_scorers["oracle"] = lambda c: np.asarray(c.aggregate, dtype=float)
        if "random" in baselines:
            curve_scorers["random"] = random_scorer(seed)
        curve_scores = score_candidates(candidates, curve_scorers)
        curves = best_of_n(candidates, curve_scores, truth, [int(n) for n in cfg["best_of_n"]["ns"]])
        bon = best_of_n_table(curves, n_boot=n_boot, seed=seed, level=level)
        tables["best_of_n"] = Table(
            "best_of_n", bon, "Expected true reward of the best-of-N pick",
            _bon_line(bon), f"cluster bootstrap over prompts ({n_boot} replicates); exact expectation over N-subsets per prompt",
        )
        figures["best_of_n"] = Figure("best_of_n", best_of_n_figure(bon), "Best-of-N curves", _bon_line(bon))
        acc = accuracy_table(candidates, scores, truth, cfg["accuracy"], n_boot=n_boot, seed=seed, level=level)
        tables["pairwise_accuracy"] = Table(
            "pairwise_accuracy", acc, "Tie-aware pairwise accuracy (within prompts)",
            "Share of within-prompt candidate pairs ordered as the true reward orders them, ties counted when both tie (Deutsch et al. 2023).",
            f"cluster bootstrap over prompts ({n_boot} replicates)",
        )

    with atomic_directory(out) as tmp:
        write_artifacts(tmp, tables.values(), figures.values())
        atomic_write_json(tmp / "manifest.json", _manifest(cfg, tables, figures, candidates, pairs, time.perf_counter() - t0))
    return {name: t.frame for name, t in tables.items()}


def _default_attributes(candidates: Candidates) -> list[str]:
    if candidates.attributes is None:
        return []
    from steerstats.data.simulate_feedback import QUALITY_ATTRIBUTES

    cols = list(candidates.attributes.columns)
    quality = [a for a in cols if a in QUALITY_ATTRIBUTES]
    return quality or cols


def _sxs_line(frame: pd.DataFrame, a: str, b: str, level: float) -> str:
    row = frame[frame["dimension"] == AGGREGATE]
    if row.empty:
        return f"Votes preferring {a}'s or {b}'s pick, per dimension."
    r = row.iloc[0]
    d, lo, hi = r[f"{a}_minus_{b}"], r[f"{a}_minus_{b}_ci_low"], r[f"{a}_minus_{b}_ci_high"]
    verdict = "the CI excludes zero" if lo > 0 or hi < 0 else "the CI includes zero"
    return (f"Overall: {r[f'pct_prefer_{a}']:.1f}% prefer {a}, {r[f'pct_prefer_{b}']:.1f}% prefer {b}, "
            f"{r['pct_unsure']:.1f}% unsure; {a} minus {b} = {d:.1f} points ({level:.0%} CI {lo:.1f} to {hi:.1f}; {verdict}).")


def _bon_line(table: pd.DataFrame) -> str:
    parts = []
    for scorer, g in table.groupby("scorer", sort=False):
        parts.append(f"{scorer} {g['mean'].iloc[0]:.3f} -> {g['mean'].iloc[-1]:.3f}")
    lo, hi = table["n"].min(), table["n"].max()
    return f"Expected true reward from N = {lo} to N = {hi}: " + "; ".join(parts) + "."


def _manifest(cfg, tables, figures, candidates, pairs, seconds) -> dict[str, Any]:
    from steerstats.report.build import package_versions

    return {
        "command": "rejection",
        "config": cfg,
        "seed": cfg["seed"],
        "n_boot": cfg["n_boot"],
        "n_candidates": len(candidates),
        "n_prompts": int(pairs.shape[0]),
        "n_same_pick": int(pairs["same"].sum()),
        "tables": sorted(tables),
        "figures": sorted(figures),
        "packages": package_versions(("steerstats", "numpy", "scipy", "pandas", "jax", "flax", "scikit-learn")),
        "seconds": round(seconds, 3),
    }
