"""Design matrices for steerability predictors (Vafa et al. 2025, Sec. 4).

Feature blocks of one steering attempt:

- ``model``: the model's identity, one-hot (unpenalised in ridge; it plays the intercept's role);
- ``prompt``: an embedding of the user's prompt;
- ``goal``: an embedding of the goal: the embedding of its ``reference_prompt`` text, or, when a
  table of goal-image embeddings keyed by goal URL is supplied, that row of the table.

:class:`FeatureBuilder` is fitted on the training rows only (the text embedder, the column
centring and one scale per block), then maps any rows into a :class:`Design`. ``Design.matrix(model=...)`` swaps every row's
model identity, which is how the decomposition evaluates mu_i at model i.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from steerstats.errors import ConfigError, InputError
from steerstats.features.cache import EmbeddingCache, embed_texts
from steerstats.features.embedders import TextEmbedder

BLOCKS = ("model", "prompt", "goal")


@dataclass(frozen=True)
class Design:
    """Features of n attempts: model codes plus the (scaled) embedded blocks."""

    model_codes: np.ndarray  # (n,) index into model_levels
    model_levels: tuple[str, ...]
    features: np.ndarray  # (n, d) penalised columns: the embedded blocks side by side
    blocks: tuple[str, ...]
    block_slices: dict[str, slice] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return len(self.model_codes)

    def matrix(self, model: str | int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(X, penalized)``: X = [model one-hot (or an intercept) | embedded blocks].

        ``model`` (a level name or code) evaluates every row as if it had been steered on that
        model. ``penalized`` marks the columns a ridge penalty applies to.
        """
        if "model" in self.blocks:
            codes = self.model_codes
            if model is not None:
                k = self.model_levels.index(model) if isinstance(model, str) else int(model)
                codes = np.full(self.n, k)
            left = np.eye(len(self.model_levels))[codes]
        else:
            left = np.ones((self.n, 1))
        x = np.hstack([left, self.features])
        penalized = np.r_[np.zeros(left.shape[1], bool), np.ones(self.features.shape[1], bool)]
        return x, penalized


def goal_table_lookup(table: pd.DataFrame, goals: Sequence[str], *, file: str = "goal embeddings") -> np.ndarray:
    """Rows of a goal-embedding table (column ``goal_image`` + numeric columns) for ``goals``."""
    if "goal_image" not in table.columns:
        raise InputError("a goal embedding table needs a 'goal_image' column", file=file, column="goal_image")
    values = table.drop(columns="goal_image")
    bad = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
    if bad:
        raise InputError("goal embedding columns must be numeric", file=file, column=str(bad[0]))
    dup = table["goal_image"].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0]) + 1
        raise InputError("goal listed twice", file=file, row=row, column="goal_image")
    nan = values.isna().to_numpy()
    if nan.any():
        r, c = np.argwhere(nan)[0]
        raise InputError("missing embedding value", file=file, row=int(r) + 1, column=str(values.columns[c]))
    index = pd.Index(table["goal_image"])
    pos = index.get_indexer(list(goals))
    if (pos < 0).any():
        missing = list(goals)[int(np.flatnonzero(pos < 0)[0])]
        raise InputError(f"no embedding for goal {missing}", file=file, column="goal_image")
    return values.to_numpy(dtype=np.float64)[pos]


class FeatureBuilder:
    """Fit the embedder and the block scaling on training rows; map rows into a :class:`Design`.

    ``blocks`` is a subset of ``("model", "prompt", "goal")``. The same fitted text embedder embeds
    prompts and reference prompts (one text space), fitted on both sets of training texts.
    """

    def __init__(
        self,
        blocks: Sequence[str],
        embedder: TextEmbedder | None = None,
        *,
        cache: EmbeddingCache | None = None,
        goal_embeddings: pd.DataFrame | None = None,
        model_levels: Sequence[str] | None = None,
    ) -> None:
        unknown = set(blocks) - set(BLOCKS)
        if unknown:
            raise ConfigError(f"unknown feature blocks {sorted(unknown)} (choose from {BLOCKS})")
        self.blocks = tuple(b for b in BLOCKS if b in blocks)
        needs_text = "prompt" in self.blocks or ("goal" in self.blocks and goal_embeddings is None)
        if needs_text and embedder is None:
            raise ConfigError("the prompt/goal blocks need a text embedder")
        self.embedder = embedder
        self.cache = cache
        self.goal_embeddings = goal_embeddings
        self.model_levels = None if model_levels is None else tuple(model_levels)
        self._center: np.ndarray | None = None
        self._scale: np.ndarray | None = None

    def _raw(self, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, slice]]:
        parts, slices, start = [], {}, 0
        for block in self.blocks:
            if block == "model":
                continue
            if block == "goal" and self.goal_embeddings is not None:
                emb = goal_table_lookup(self.goal_embeddings, frame["goal_image"].tolist())
            else:
                column = "prompt" if block == "prompt" else "reference_prompt"
                emb = embed_texts(self.embedder, frame[column].astype(str).tolist(), self.cache)
            parts.append(emb)
            slices[block] = slice(start, start + emb.shape[1])
            start += emb.shape[1]
        raw = np.hstack(parts) if parts else np.zeros((len(frame), 0))
        return raw, slices

    def fit(self, frame: pd.DataFrame) -> FeatureBuilder:
        """Fit on the training rows: embedder (prompts + reference prompts), then scaling."""
        if self.model_levels is None:
            self.model_levels = tuple(sorted(frame["model"].astype(str).unique()))
        if self.embedder is not None and any(b != "model" for b in self.blocks):
            texts = []
            if "prompt" in self.blocks:
                texts += frame["prompt"].astype(str).tolist()
            if "goal" in self.blocks and self.goal_embeddings is None:
                texts += frame["reference_prompt"].astype(str).tolist()
            if texts:  # no text block (goals given as embeddings, no prompts): nothing to embed
                self.embedder.fit(texts)
        raw, slices = self._raw(frame)
        self._center = raw.mean(axis=0)
        # one scale per block (its root-mean-square column SD), not per column: per-column scaling
        # would blow up near-constant SVD components (tail components, or ones beyond the rank of
        # the training texts), and unseen texts would then land far outside the training range
        self._scale = np.ones(raw.shape[1])
        for sl in slices.values():
            rms = float(np.sqrt(np.mean(raw[:, sl].var(axis=0))))
            self._scale[sl] = rms if rms > 0 else 1.0
        return self

    def transform(self, frame: pd.DataFrame) -> Design:
        if self._center is None:
            raise ConfigError("FeatureBuilder.transform called before fit")
        models = frame["model"].astype(str)
        unknown = ~models.isin(self.model_levels).to_numpy()
        if unknown.any():
            row = int(np.flatnonzero(unknown)[0]) + 1
            raise InputError(
                f"model '{models.iloc[row - 1]}' was not among the training models", row=row, column="model"
            )
        codes = pd.Categorical(models, categories=list(self.model_levels)).codes
        raw, slices = self._raw(frame)
        return Design(
            model_codes=np.asarray(codes, dtype=np.int64),
            model_levels=self.model_levels,
            features=(raw - self._center) / self._scale,
            blocks=self.blocks,
            block_slices=slices,
        )

    def fit_transform(self, frame: pd.DataFrame) -> Design:
        return self.fit(frame).transform(frame)
