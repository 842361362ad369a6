"""Steering through a real generation backend (Vafa et al. 2025, Sec. 5; SPEC Eq. 8): every task's
goal is an image the model itself makes from a goal prompt (so it is producible), the simulated
user starts from their own prompt's image and, each round, picks among ``k`` Eq. 8 variations of
the current image (or, for text steering, ``k`` re-draws of the prompt) the one closest to the goal
in the backend's embedding space. The same task seeds serve every method, so the first image and
the goal are the same across methods and the comparison is paired.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from steerstats.errors import ConfigError, InputError
from steerstats.generate.candidates import MAX_SEED
from steerstats.generate.steering import Steerer, steer_with_backend

TASK_COLUMNS = ("goal_prompt", "prompt")


def read_tasks(path: str | Path) -> pd.DataFrame:
    """Steering tasks: a table with ``goal_prompt`` (what the goal image is made from) and
    ``prompt`` (the user's first prompt), non-empty texts."""
    from steerstats.data.user_table import read_user_table

    frame = read_user_table(path, what="steering task table")
    for column in TASK_COLUMNS:
        if column not in frame.columns:
            raise InputError(f"needs a '{column}' column", file=path, column=column)
        for row, value in enumerate(frame[column], start=1):
            if not isinstance(value, str) or not value.strip():
                raise InputError(f"expected a non-empty text, got {value!r}", file=path, row=row, column=column)
    if frame.empty:
        raise InputError("no tasks", file=path)
    return frame[list(TASK_COLUMNS)].reset_index(drop=True)


def run_backend_episodes(
    backend: Any,
    tasks: pd.DataFrame,
    methods: Mapping[str, Any],
    *,
    seed: int,
    n_rounds: int = 4,
    k: int = 2,
    steerer: Steerer | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """One episode per task and method (``methods``: name -> policy, None = prompt re-draws);
    rows as :meth:`Episodes.frame`, ``episode`` = the task's row. ``steerer``: default noiseless."""
    steerer = steerer or Steerer()
    rng = np.random.default_rng([seed, 7])
    task_seeds = rng.integers(0, MAX_SEED, size=(len(tasks), 2))
    frames = []
    bar = tqdm(total=len(tasks) * len(methods), desc="backend steering", disable=not progress)
    for i, task in tasks.iterrows():
        goal = backend.generate([task["goal_prompt"]], 1, int(task_seeds[i, 0]))
        if goal.embedding is None:
            raise ConfigError("the backend returned no embeddings: give it an embedder")
        for name, policy in methods.items():
            ep, _ = steer_with_backend(backend, task["prompt"], goal.embedding[0], policy, int(task_seeds[i, 1]),
                                       n_rounds=n_rounds, k=k, steerer=steerer)
            frames.append(ep.frame(name).assign(episode=i))
            bar.update()
    bar.close()
    return pd.concat(frames, ignore_index=True)


def build_backend(section: Mapping[str, Any]) -> Any:
    """A :class:`~steerstats.generate.diffusers_backend.DiffusersBackend` from the steer config's
    ``[backend]`` table: a local pipeline directory and an open_clip embedder for the similarity."""
    from steerstats.embed import ClipEmbedder
    from steerstats.generate.diffusers_backend import DiffusersBackend

    if not section["pipeline"]:
        raise ConfigError("[backend] kind 'diffusers' needs 'pipeline' (a local pipeline directory)")
    if not section["tasks"]:
        raise ConfigError("[backend] kind 'diffusers' needs 'tasks' (a table of goal_prompt, prompt)")
    clip = section["clip"]
    if not clip["weights"] and not clip["random_init"]:
        raise ConfigError("[backend.clip] needs 'weights' (a checkpoint or open_clip tag), or random_init = true")
    embedder = ClipEmbedder(clip["model"], clip["weights"] or None, device=section["device"],
                            model_config=clip["config"] or None, seed=int(clip["seed"]), num_workers=1)
    return DiffusersBackend.from_pretrained(
        section["pipeline"], device=section["device"], dtype=section["dtype"], embedder=embedder,
        num_inference_steps=int(section["steps"]), guidance_scale=float(section["guidance"]),
        height=int(section["height"]) or None, width=int(section["width"]) or None,
    )

