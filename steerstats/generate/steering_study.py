"""Simulated image steering with learned proposals, and the released traces, as one analysis
(Vafa et al. 2025, Sec. 5, App. C.2): a config (TOML, ``analyses/steer_synthetic.toml``; schema
:data:`SCHEMA`) in, a :class:`SteeringResult` out, no files (presentation and writing:
:mod:`steerstats.report.steer`).

A user steers by picking among latent variations; a learned policy (Thompson sampling over
mixture-scale buckets per round and previous choice) proposes the scale. :func:`run_steering`
trains that policy on the synthetic steering world (or takes a saved one), evaluates it against
random proposals and text-style steering (prompt re-draws) on the same tasks (their Table 1) and,
given the released traces, summarises the scale schedules and keep/switch choices in them
(cluster bootstrap over users).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from steerstats.config import (
    Field,
    build_config,
    config_source,
    config_table,
    config_type,
    validate,
)
from steerstats.errors import ConfigError, InputError
from steerstats.generate.policies import FixedScale, RandomScale, ThompsonScale
from steerstats.generate.steering import (
    Steerer,
    evaluate_methods,
    summarize_methods,
    train_thompson,
)
from steerstats.generate.steerworld import SteeringWorld
from steerstats.generate.trace_scores import (
    Table1,
    score_lookup,
    scored_tasks,
    table1_from_tasks,
    text_tasks,
)
from steerstats.generate.traces import constant_scale_share, scale_schedules, with_previous
from steerstats.uncertainty import grouped_mean_bootstrap

SCHEMA: dict[str, Field] = {
    "seed": Field("int", 0, "seed of training, evaluation and bootstrap", ge=0),
    "n_boot": Field("int", 2000, "bootstrap replicates of the trace tables", ge=2, le=1_000_000),
    "rounds": Field("int", 4, "steering rounds per episode", ge=1, le=64),
    "suggestions": Field("int", 2, "images shown per round", ge=2, le=64),
    "world": Field("table", {}, "SteeringWorld fields", fields={
        "latent_dim": Field("int", 8, "latent dimension", ge=1, le=4096),
        "prompt_dim": Field("int", 8, "prompt dimension", ge=1, le=4096),
        "embed_dim": Field("int", 32, "image-embedding dimension", ge=1, le=4096),
        "hidden": Field("int", 64, "hidden width of the generator", ge=1, le=65_536),
        "gain": Field("float", 3.0, "generator gain", gt=0),
        "prompt_noise": Field("float", 0.3, "noise of a prompt re-draw", ge=0),
        "seed": Field("int", 0, "seed of the world's fixed maps", ge=0),
    }),
    "steerer": Field("table", {}, "the simulated user", fields={
        "noise_sd": Field("float", 0.0, "noise of the user's similarity judgements", ge=0),
    }),
    "train": Field("table", {}, "Thompson-sampling training", fields={
        "episodes": Field("int", 60_000, "training episodes", ge=1, le=10_000_000),
        "batch": Field("int", 1, "episodes per posterior update", ge=1, le=100_000),
        "sigma2": Field("float", 1.0, "reward noise variance of the Gaussian posterior", gt=0),
        "buckets": Field("list[float]", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
                         "mixture-scale buckets", ge=0, le=1, min_items=1, max_items=1000),
    }),
    "evaluate": Field("table", {}, "evaluation episodes", fields={
        "episodes": Field("int", 4000, "evaluation episodes per method", ge=1, le=10_000_000),
        "learned_mode": Field("str", "greedy", "how the learned policy proposes", choices=("greedy", "thompson")),
        "fixed_scales": Field("list[float]", [], "constant-scale baselines", ge=0, le=1),
    }),
    "backend": Field("table", {}, "also steer through a real generation backend (Eq. 8 variations of its latents)", fields={
        "kind": Field("str", "none", "'none' or 'diffusers' (a local pipeline)", choices=("none", "diffusers")),
        "pipeline": Field("str", "", "local diffusers pipeline directory"),
        "tasks": Field("str", "", "table of goal_prompt, prompt: one steering task per row"),
        "steps": Field("int", 30, "denoising steps per image", ge=1, le=1000),
        "guidance": Field("float", 7.5, "classifier-free guidance scale", ge=0),
        "height": Field("int", 0, "image height (0: the pipeline's)", ge=0, le=8192),
        "width": Field("int", 0, "image width (0: the pipeline's)", ge=0, le=8192),
        "device": Field("str", "auto", "torch device", choices=("auto", "cpu", "cuda", "mps")),
        "dtype": Field("str", "auto", "pipeline precision", choices=("auto", "fp32", "fp16")),
        "clip": Field("table", {}, "the open_clip model whose image cosine is the similarity", fields={
            "model": Field("str", "ViT-B-32", "open_clip model name"),
            "weights": Field("str", "", "checkpoint file or open_clip pretrained tag"),
            "config": Field("str", "", "open_clip config JSON registered under 'model' (custom models)"),
            "random_init": Field("bool", False, "no weights: seeded random init (tests only)"),
            "seed": Field("int", 0, "seed of random_init", ge=0),
        }),
    }),
    "random": Field("table", {}, "the random-proposal baseline", fields={
        "low": Field("float", 0.0, "lowest scale", ge=0, le=1),
        "high": Field("float", 1.0, "highest scale", ge=0, le=1),
        "per": Field("str", "episode", "one scale per episode or per round", choices=("episode", "round")),
    }),
}

#: the typed config of :func:`run_steering` (attributes as in :data:`SCHEMA`)
SteeringConfig = config_type("SteeringConfig", SCHEMA, module=__name__)

#: largest number of floats one batch of episodes may hold (episodes x suggestions x embed_dim)
MAX_EPISODE_FLOATS = 200_000_000


def check_config(table: Mapping[str, Any], *, where: str = "") -> SteeringConfig:
    """``table`` checked by the strict config layer against the steer schema, defaults filled, as a
    :data:`SteeringConfig`."""
    cfg = validate(table, SCHEMA, where=where)
    prefix = f"{where}: " if where else ""
    if cfg["random"]["low"] > cfg["random"]["high"]:
        raise ConfigError(f"{prefix}random.low: must be <= random.high")
    if cfg["backend"]["kind"] == "diffusers":
        for key in ("pipeline", "tasks"):
            if not cfg["backend"][key]:
                raise ConfigError(f"{prefix}backend.{key}: needed with backend.kind = 'diffusers'")
    floats = max(cfg["evaluate"]["episodes"], cfg["train"]["batch"]) * cfg["suggestions"] * cfg["world"]["embed_dim"]
    if floats > MAX_EPISODE_FLOATS:
        raise ConfigError(
            f"{prefix}suggestions: episodes x suggestions x world.embed_dim = {floats:,} floats, more than "
            f"{MAX_EPISODE_FLOATS:,} in memory; lower evaluate.episodes, suggestions or world.embed_dim"
        )
    return build_config(SteeringConfig, cfg)


def load_policy(path: str | Path, cfg: SteeringConfig) -> ThompsonScale:
    """A learned policy saved as ``learned_policy.csv`` (:meth:`ThompsonScale.table`), with the
    config's reward-noise variance; a file that is not one is an InputError naming it."""
    try:
        return ThompsonScale.from_table(pd.read_csv(path), sigma2=cfg.train.sigma2)
    except (OSError, KeyError, ValueError) as err:
        raise InputError(f"not a learned policy table ({err})", file=str(path)) from err


def load_config(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> SteeringConfig:
    """The effective config of a UTF-8 TOML file, a shipped one by name (``steer_synthetic``), or
    the built-in one for ``None``; ``overrides`` (e.g. CLI options; None values ignored) are merged
    in before the table is checked."""
    table, where = config_source(path, overrides)
    return check_config(table, where=where)


def build_world(cfg: SteeringConfig) -> SteeringWorld:
    return SteeringWorld(**config_table(cfg.world))


def train_policy(cfg: SteeringConfig, world: SteeringWorld, *, progress: bool = True) -> ThompsonScale:
    t = cfg.train
    policy = ThompsonScale(n_rounds=cfg.rounds, buckets=tuple(float(b) for b in t.buckets), sigma2=t.sigma2)
    return train_thompson(
        world, policy, t.episodes, cfg.seed, batch=t.batch,
        k=cfg.suggestions, steerer=Steerer(cfg.steerer.noise_sd), progress=progress,
    )


def evaluation_table(cfg: SteeringConfig, world: SteeringWorld, policy: ThompsonScale) -> pd.DataFrame:
    e, r = cfg.evaluate, cfg.random
    methods: dict[str, Any] = {
        "text (prompt re-draws)": None,
        "random proposals": RandomScale(r.low, r.high, r.per),
        "learned proposals": policy.greedy() if e.learned_mode == "greedy" else policy,
    }
    for s in e.fixed_scales:
        methods[f"fixed scale {float(s):.2f}"] = FixedScale(float(s))
    episodes = evaluate_methods(
        world, methods, e.episodes, cfg.seed + 1,
        n_rounds=cfg.rounds, k=cfg.suggestions, steerer=Steerer(cfg.steerer.noise_sd),
    )
    out = summarize_methods(episodes, baseline="random proposals")
    return out.rename(columns={"diff_vs_random proposals": "diff_vs_random", "se_diff_vs_random proposals": "diff_vs_random_se",
                               "se_change": "mean_change_se", "se_pct_improved": "pct_improved_se"})


def backend_evaluation_table(cfg: SteeringConfig, policy: ThompsonScale, *, progress: bool = True) -> pd.DataFrame:
    """The evaluation's methods through the ``[backend]`` (text re-draws, random and learned proposals)
    on the tasks of its table, summarised as Table 1 with the paired difference against random."""
    from steerstats.generate.backend_steering import build_backend, read_tasks, run_backend_episodes

    section = config_table(cfg.backend)
    tasks = read_tasks(section["tasks"]) if section["tasks"] else None
    backend = build_backend(section)
    e, r = cfg.evaluate, cfg.random
    methods = {
        "text (prompt re-draws)": None,
        "random proposals": RandomScale(r.low, r.high, r.per),
        "learned proposals": policy.greedy() if e.learned_mode == "greedy" else policy,
    }
    episodes = run_backend_episodes(backend, tasks, methods, seed=cfg.seed, n_rounds=cfg.rounds,
                                    k=cfg.suggestions, steerer=Steerer(cfg.steerer.noise_sd), progress=progress)
    out = summarize_methods(episodes, baseline="random proposals")
    return out.rename(columns={"diff_vs_random proposals": "diff_vs_random", "se_diff_vs_random proposals": "diff_vs_random_se",
                               "se_change": "mean_change_se", "se_pct_improved": "pct_improved_se"})


def greedy_schedule(policy: ThompsonScale) -> pd.DataFrame:
    table = policy.table()
    best = table.loc[table.groupby(["round", "previous"], sort=False)["posterior_mean"].idxmax()]
    return best[["round", "previous", "scale", "posterior_mean", "posterior_sd", "n"]].reset_index(drop=True)


def trace_tables(traces: pd.DataFrame, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(scale schedules, keep/switch shares per condition x round with cluster-bootstrap SEs over users)."""
    schedules = scale_schedules(traces).merge(constant_scale_share(traces), on="condition")
    t = with_previous(traces)
    t = t.assign(key=t["condition"] + "|" + t["round"].astype(str), cluster=t["condition"] + "|" + t["steering_user_id"])
    res, levels = grouped_mean_bootstrap(t, "kept", "key", "cluster", n_boot=n_boot, seed=seed)
    n = t.groupby("key").size()
    parts = pd.Series(levels).str.split("|", expand=True)
    choices = pd.DataFrame(
        {
            "condition": parts[0],
            "round": parts[1].astype(int),
            "n": n.loc[levels].to_numpy(),
            "pct_kept": 100 * res.estimate,
            "pct_kept_se": 100 * res.se,
            "pct_switched": 100 * (1 - res.estimate),
        }
    )
    return schedules, choices


@dataclass
class SteeringResult:
    """What :func:`run_steering` computed."""

    config: SteeringConfig
    policy: ThompsonScale
    trained: bool  # False: the policy was given (loaded)
    evaluation: pd.DataFrame  # per method: mean change, % improved, paired difference vs random
    schedule: pd.DataFrame  # greedy scale per (round, previous) [+ the released learned condition's]
    trace_schedules: pd.DataFrame | None  # with traces: scales proposed per condition, round, previous
    trace_choices: pd.DataFrame | None  # with traces: % kept per condition x round, SEs over users
    seconds: float
    table1: Table1 | None = None  # with traces and scores: avg change / % improved per condition
    backend_evaluation: pd.DataFrame | None = None  # [backend]: the methods through a real backend


def run_steering(
    cfg: SteeringConfig | Mapping[str, Any],
    *,
    traces: pd.DataFrame | None = None,
    policy: ThompsonScale | None = None,
    scores: pd.DataFrame | None = None,
    score_column: str = "dreamsim",
    text_steering: pd.DataFrame | None = None,
    baseline: str | None = None,
    scores_file: str = "scores",
    progress: bool = True,
) -> SteeringResult:
    """Train (unless ``policy`` is given) and evaluate the proposal policy; analyse ``traces``
    (the release's ``image_steering`` table) if given, and with ``scores`` (per goal x image,
    :mod:`steerstats.generate.trace_scores`) their Table 1, with ``text_steering`` (a steering
    table) as the text baseline. Nothing is written."""
    if scores is not None and traces is None:
        raise ConfigError("scores need the traces they score (--data-dir)")
    t0 = time.perf_counter()
    if isinstance(cfg, Mapping):
        cfg = check_config(cfg)
    seed, n_boot = cfg.seed, cfg.n_boot
    world = build_world(cfg)
    trained = policy is None
    if policy is None:
        policy = train_policy(cfg, world, progress=progress)
    elif policy.n_rounds != cfg.rounds:
        raise ConfigError(f"the loaded policy has {policy.n_rounds} rounds, the config {cfg.rounds}")
    evaluation = evaluation_table(cfg, world, policy)
    schedule = greedy_schedule(policy).rename(columns={"scale": "simulated_scale"})
    schedules = choices = None
    if traces is not None:
        schedules, choices = trace_tables(traces, n_boot=n_boot, seed=seed)
        learned = schedules[schedules["condition"] == "learned"][["round", "previous", "modal_scale", "modal_share", "n"]]
        schedule = schedule.merge(
            learned.rename(columns={"modal_scale": "released_learned_scale", "modal_share": "released_share", "n": "released_n"}),
            on=["round", "previous"], how="left",
        )
    backend = backend_evaluation_table(cfg, policy, progress=progress) if cfg.backend.kind == "diffusers" else None
    table1 = None
    if scores is not None:
        tasks = scored_tasks(traces, score_lookup(scores, score_column, file=scores_file))
        if text_steering is not None:
            tasks = pd.concat([text_tasks(text_steering, score_column), tasks], ignore_index=True)
        table1 = table1_from_tasks(tasks, baseline=baseline, n_boot=n_boot, seed=seed, score_column=score_column)
    return SteeringResult(cfg, policy, trained, evaluation, schedule, schedules, choices, time.perf_counter() - t0,
                          table1, backend)
