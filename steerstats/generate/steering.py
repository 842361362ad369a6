"""Simulated image steering (Vafa et al. 2025, Sec. 5 and App. C.2).

A simulated steerer starts from the first image of their prompt. Each round they see k suggestions
and keep the current image (index 0) or switch to the suggestion most similar to the goal (cosine
similarity of embeddings, optionally perceived with Gaussian noise). Suggestions come either from
latent variations of the current image with a policy's mixture scale, or, for text-style steering,
from re-drawing the prompt (a fresh rewrite of the goal and a fresh seed). The episode reward is the
final minus the initial similarity.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from steerstats.generate.candidates import MAX_SEED, Candidates, LatentBackend
from steerstats.generate.policies import KEPT, START, SWITCHED, ThompsonScale
from steerstats.generate.steerworld import SteeringWorld, Tasks
from steerstats.generate.vary import mix_latent

Similarity = Callable[[np.ndarray, np.ndarray], np.ndarray]


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity along the last axis (broadcasting)."""
    num = np.sum(a * b, axis=-1)
    return num / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))


class Policy(Protocol):
    name: str

    def start(self, n_episodes: int, rng: np.random.Generator) -> None: ...

    def propose(self, round_: int, previous: np.ndarray, rng: np.random.Generator) -> np.ndarray: ...


@dataclass(frozen=True)
class Steerer:
    """Picks the option most similar to the goal; ``noise_sd`` perturbs perceived similarities."""

    noise_sd: float = 0.0

    def choose(self, similarities: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Index per episode of the chosen option; column 0 is the current image."""
        seen = similarities
        if self.noise_sd > 0:
            seen = similarities + self.noise_sd * rng.standard_normal(similarities.shape)
        return np.argmax(seen, axis=1)


@dataclass(frozen=True)
class Episodes:
    """Outcome of E simulated steering episodes of T rounds."""

    initial: np.ndarray  # (E,) similarity of the first image
    final: np.ndarray  # (E,)
    similarity: np.ndarray  # (E, T) similarity of the current image after each round
    scales: np.ndarray  # (E, T) mixture scale used (nan for prompt re-draws)
    previous: np.ndarray  # (E, T) state code when proposing (START/KEPT/SWITCHED)
    selected: np.ndarray  # (E, T) chosen index, 0 = kept

    @property
    def reward(self) -> np.ndarray:
        return self.final - self.initial

    def frame(self, method: str) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "method": method,
                "episode": np.arange(len(self.initial)),
                "initial": self.initial,
                "final": self.final,
                "change": self.reward,
                "improved": self.final > self.initial,
            }
        )


def run_episodes(
    world: SteeringWorld,
    tasks: Tasks,
    policy: Policy | None,
    rng: np.random.Generator,
    *,
    n_rounds: int = 4,
    k: int = 2,
    steerer: Steerer = Steerer(),
    similarity: Similarity = cosine_similarity,
) -> Episodes:
    """Simulate all tasks at once; ``policy=None`` means text-style steering (prompt re-draws)."""
    n = len(tasks)
    prompt = tasks.user_prompt.copy()
    latent = tasks.start_latent.copy()
    current = similarity(world.embed(prompt, latent), tasks.goal_embedding)
    initial = current.copy()
    previous = np.full(n, START)
    sims, scales, prevs, chosen = (np.empty((n, n_rounds)) for _ in range(4))
    if policy is not None:
        policy.start(n, rng)
    for t in range(n_rounds):
        if policy is None:
            scale = np.full(n, np.nan)
            new_prompt = world.rewrite(np.repeat(tasks.goal_prompt[:, None], k, axis=1), rng)
            new_latent = rng.standard_normal((n, k, world.latent_dim))
        else:
            scale = np.asarray(policy.propose(t + 1, previous, rng), dtype=float)
            eps = rng.standard_normal((n, k, world.latent_dim))
            new_latent = mix_latent(latent[:, None], eps, scale[:, None, None])
            new_prompt = np.repeat(prompt[:, None], k, axis=1)
        new_sim = similarity(world.embed(new_prompt, new_latent), tasks.goal_embedding[:, None])
        options = np.concatenate([current[:, None], new_sim], axis=1)
        pick = steerer.choose(options, rng)
        switch = pick > 0
        rows = np.flatnonzero(switch)
        latent[rows] = new_latent[rows, pick[rows] - 1]
        prompt[rows] = new_prompt[rows, pick[rows] - 1]
        current = options[np.arange(n), pick]
        sims[:, t], scales[:, t], prevs[:, t], chosen[:, t] = current, scale, previous, pick
        previous = np.where(switch, SWITCHED, KEPT)
    return Episodes(
        initial, current, sims, scales, prevs.astype(int), chosen.astype(int)
    )


def steer_with_backend(
    backend: LatentBackend,
    prompt: str,
    goal_embedding: np.ndarray,
    policy: Policy | None,
    seed: int,
    *,
    n_rounds: int = 4,
    k: int = 2,
    steerer: Steerer = Steerer(),
    similarity: Similarity = cosine_similarity,
) -> tuple[Episodes, Candidates]:
    """One simulated session through a backend's own ``generate`` and ``vary`` (e.g. diffusers).

    Starts from the prompt's first image; each round offers ``k`` variations of the current image
    at the policy's mixture scale (``policy=None``: ``k`` re-draws of the same prompt with fresh
    seeds). Returns the episode (arrays with one row) and the final candidate.
    """
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, MAX_SEED, size=n_rounds + 1)
    current = backend.generate([prompt], 1, int(seeds[0]))
    if current.embedding is None:
        raise ValueError("the backend returned no embeddings: give it an embedder")
    goal = np.asarray(goal_embedding, dtype=float).reshape(1, -1)
    first = float(similarity(current.embedding, goal)[0])
    cur = first
    previous = np.array([START])
    if policy is not None:
        policy.start(1, rng)
    sims, scales, prevs, chosen = (np.empty((1, n_rounds)) for _ in range(4))
    for t in range(n_rounds):
        if policy is None:
            scale = np.nan
            offered = backend.generate([prompt], k, int(seeds[t + 1]))
        else:
            scale = float(np.asarray(policy.propose(t + 1, previous, rng))[0])
            offered = backend.vary(current, scale, k, int(seeds[t + 1]))
        options = np.concatenate([[cur], similarity(offered.embedding, goal)])
        pick = int(steerer.choose(options[None], rng)[0])
        if pick > 0:
            current = offered.take([pick - 1])
        cur = float(options[pick])
        sims[0, t], scales[0, t], prevs[0, t], chosen[0, t] = cur, scale, previous[0], pick
        previous = np.array([SWITCHED if pick > 0 else KEPT])
    episode = Episodes(np.array([first]), np.array([cur]), sims, scales, prevs.astype(int), chosen.astype(int))
    return episode, current


def train_thompson(
    world: SteeringWorld,
    policy: ThompsonScale,
    n_episodes: int,
    seed: int,
    *,
    batch: int = 1,
    k: int = 2,
    steerer: Steerer = Steerer(),
    progress: bool = True,
) -> ThompsonScale:
    """Train ``policy`` in place on ``n_episodes`` fresh tasks, updating after every ``batch``."""
    rng = np.random.default_rng(seed)
    done = 0
    with tqdm(total=n_episodes, desc="thompson", unit="ep", disable=not progress, mininterval=0.5) as bar:
        while done < n_episodes:
            m = min(batch, n_episodes - done)
            tasks = world.sample_tasks(m, rng)
            ep = run_episodes(world, tasks, policy, rng, n_rounds=policy.n_rounds, k=k, steerer=steerer)
            policy.update(ep.previous, ep.scales, ep.reward)
            done += m
            bar.update(m)
    return policy


def evaluate_methods(
    world: SteeringWorld,
    methods: dict[str, Policy | None],
    n_episodes: int,
    seed: int,
    *,
    n_rounds: int = 4,
    k: int = 2,
    steerer: Steerer = Steerer(),
) -> pd.DataFrame:
    """Episodes for every method on the same tasks (paired comparison); one row per episode."""
    task_rng = np.random.default_rng([seed, 0])
    tasks = world.sample_tasks(n_episodes, task_rng)
    frames = []
    for i, (name, policy) in enumerate(methods.items()):
        rng = np.random.default_rng([seed, 1, i])
        ep = run_episodes(world, tasks, policy, rng, n_rounds=n_rounds, k=k, steerer=steerer)
        frames.append(ep.frame(name))
    return pd.concat(frames, ignore_index=True)


def summarize_methods(episodes: pd.DataFrame, baseline: str | None = None) -> pd.DataFrame:
    """Vafa et al. Table 1: mean change first->last similarity and % improved, with row SEs.

    With ``baseline``, also the paired difference in mean change against it (same tasks) and its SE.
    """
    rows = []
    base = None
    if baseline is not None:
        base = episodes.loc[episodes["method"] == baseline].set_index("episode")["change"]
    for name, g in episodes.groupby("method", sort=False):
        n = len(g)
        change = g["change"].to_numpy()
        p = g["improved"].mean()
        row = {
            "method": name,
            "n": n,
            "mean_initial": g["initial"].mean(),
            "mean_final": g["final"].mean(),
            "mean_change": change.mean(),
            "se_change": change.std(ddof=1) / np.sqrt(n),
            "pct_improved": 100 * p,
            "se_pct_improved": 100 * np.sqrt(p * (1 - p) / n),
        }
        if base is not None:
            d = g.set_index("episode")["change"] - base.reindex(g["episode"])
            row[f"diff_vs_{baseline}"] = d.mean()
            row[f"se_diff_vs_{baseline}"] = d.std(ddof=1) / np.sqrt(n)
        rows.append(row)
    return pd.DataFrame(rows)
