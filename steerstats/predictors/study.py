"""The steerability-predictor analysis of Vafa et al. (2025, Sec. 4, Fig. 4 left) as one function:
held-out R^2 and MSE of the four nested predictors of per-attempt DreamSim ((1) mean, (2) model,
(3) + prompt, (4) + goal) with cluster-bootstrap intervals over test goals, and the R^2 each added
block contributes with paired intervals (every predictor scored on the same bootstrap draws).
Nothing is written (presentation: :mod:`steerstats.report.section_decomposition`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot
from steerstats.data.embedding_table import KeyedEmbeddings, read_embedding_table
from steerstats.data.study import Study
from steerstats.errors import ConfigError

#: the nested predictors' chain, per head
CHAIN = ("mean", "model", "model+prompt", "model+prompt+goal")


def goal_table_for(study: Study, goal_source: str) -> KeyedEmbeddings | None:
    """The goal-embedding table to use: ``"text"`` -> None (reference_prompt is embedded);
    ``"truth"`` -> a simulated study's goal features; otherwise a csv/parquet path of a keyed
    embedding table (``steerstats embed`` output or wide numeric columns; keys: goal_image)."""
    if goal_source == "text":
        return None
    if goal_source == "truth":
        from steerstats.data.simulate.decomposition import DecompositionTruth

        if not isinstance(study.truth, DecompositionTruth):
            raise ConfigError("this study has no simulated goal features ('--goal-embeddings truth')")
        return read_embedding_table(study.truth.goal_embeddings, "goal_image", name="simulated goal features")
    return read_embedding_table(goal_source, "goal_image")


def prompt_table_for(prompt_source: str | None) -> KeyedEmbeddings | None:
    """``None`` -> the text embedder embeds prompts; else a keyed embedding table (keys: prompt text)."""
    return None if prompt_source is None else read_embedding_table(prompt_source, "prompt")


@dataclass(frozen=True)
class PredictorStudy:
    """What :func:`run_predictors` computed."""

    table: pd.DataFrame  # per (predictor, head): r2, mse with 95% percentile intervals
    gains: pd.DataFrame  # per head and added block: R^2 gain with its paired 95% interval
    predictions: pd.DataFrame  # every held-out prediction (row, goal, predictor, head, y, yhat)
    embedder: str
    heads: tuple[str, ...]
    split: str
    goal_source: str
    n_boot: int
    seed: int


def _wide(pred: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    jobs = list(dict.fromkeys(zip(pred["predictor"], pred["head"], strict=True)))
    base = pred[pred["predictor"] == jobs[0][0]][["row", "goal_image", "y"]].reset_index(drop=True)
    wide = base.copy()
    for j, (p, h) in enumerate(jobs):
        part = pred[(pred["predictor"] == p) & (pred["head"] == h)].reset_index(drop=True)
        wide[f"yhat{j}"] = part["yhat"].to_numpy()
    return wide, jobs


def _gains(jobs: list[tuple[str, str]], boot, heads: Sequence[str]) -> pd.DataFrame:
    """R^2 gained by each block added along :data:`CHAIN`, paired percentile intervals."""
    index = {job: j for j, job in enumerate(jobs)}
    rows = []
    for head in heads:
        chain = [c for c in [("mean", "none"), *((p, head) for p in CHAIN[1:])] if c in index]
        for prev, cur in pairwise(chain):
            a, b = 2 * index[prev], 2 * index[cur]
            lo, hi = np.nanquantile(boot.replicates[:, b] - boot.replicates[:, a], [0.025, 0.975])
            rows.append({"head": head, "block": cur[0].split("+")[-1], "from": prev[0], "to": cur[0],
                         "r2_gain": boot.estimate[b] - boot.estimate[a], "r2_gain_ci_low": lo, "r2_gain_ci_high": hi})
    return pd.DataFrame(rows, columns=["head", "block", "from", "to", "r2_gain", "r2_gain_ci_low", "r2_gain_ci_high"])


def run_predictors(
    study: Study,
    *,
    embedder: str = "tfidf",
    heads: Sequence[str] = ("ridge",),
    split: str | int = "80/20",
    goal_source: str = "text",
    prompt_source: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    cache_dir: str | None = None,
    embedder_options: dict | None = None,
    progress: bool = True,
) -> PredictorStudy:
    """Held-out R^2 and MSE of the four predictors with cluster-bootstrap CIs over test goals (and
    the simulation's true mu as an ``oracle`` row when the study knows it)."""
    check_n_boot(n_boot)
    from steerstats.features import EmbeddingCache, make_embedder
    from steerstats.predictors.evaluate import held_out_predictions, r2_mse
    from steerstats.predictors.predictor import PREDICTORS
    from steerstats.uncertainty.bootstrap import cluster_bootstrap

    frame = study.require("steering").reset_index(drop=True)
    pred = held_out_predictions(
        frame,
        embedder=lambda: make_embedder(embedder, seed=seed, **(embedder_options or {})),
        predictors=tuple(PREDICTORS),
        heads=heads,
        split=split,
        cache=EmbeddingCache(cache_dir) if cache_dir else None,
        goal_embeddings=goal_table_for(study, goal_source),
        prompt_embeddings=prompt_table_for(prompt_source),
        seed=seed,
        progress=progress,
    )
    from steerstats.data.simulate.decomposition import DecompositionTruth

    if isinstance(study.truth, DecompositionTruth):
        oracle = pred[pred["predictor"] == "mean"].copy()
        mu = study.truth.mu_oracle
        codes = pd.Categorical(oracle["model"], categories=list(study.truth.params.models)).codes
        oracle["yhat"] = mu[oracle["row"].to_numpy(), codes]
        oracle["predictor"], oracle["head"] = "oracle", "none"
        pred = pd.concat([pred, oracle], ignore_index=True)
    wide, jobs = _wide(pred)

    def statistic(data: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
        parts = [np.atleast_2d(r2_mse(data.assign(yhat=data[f"yhat{j}"]), weights)) for j in range(len(jobs))]
        out = np.concatenate(parts, axis=-1)  # (B, 2 * jobs): r2_0, mse_0, r2_1, mse_1, ...
        return out[0] if weights is None or np.ndim(weights) == 1 else out

    boot = cluster_bootstrap(statistic, wide, "goal_image", n_boot=n_boot, seed=seed)
    split_label = str(split) if split == "80/20" else f"{split}-fold"
    rows = [
        {
            "predictor": p,
            "head": h,
            "embedder": embedder if p not in ("mean", "model", "oracle") else "",
            "split": split_label,
            "r2": boot.estimate[2 * j],
            "r2_ci_low": boot.ci_low[2 * j],
            "r2_ci_high": boot.ci_high[2 * j],
            "mse": boot.estimate[2 * j + 1],
            "mse_ci_low": boot.ci_low[2 * j + 1],
            "mse_ci_high": boot.ci_high[2 * j + 1],
            "n_test_rows": len(wide),
            "n_test_goals": wide["goal_image"].nunique(),
        }
        for j, (p, h) in enumerate(jobs)
    ]
    return PredictorStudy(pd.DataFrame(rows), _gains(jobs, boot, heads), pred, embedder, tuple(heads), split_label,
                          goal_source, n_boot, seed)
