"""Design matrices for steerability predictors (Vafa et al. 2025, Sec. 4).

Feature blocks of one steering attempt:

- ``model``: the model's identity, one-hot (unpenalised in ridge; it plays the intercept's role);
- ``prompt``: an embedding of the user's prompt;
- ``goal``: an embedding of the goal: the embedding of its ``reference_prompt`` text, or, when a
  table of goal-image embeddings keyed by goal URL is supplied (``steerstats embed images
  --id-column goal_image`` output, or any :mod:`keyed table <steerstats.data.embedding_table>`),
  that row of the table - the paper's design.

A table keyed by ``prompt`` text likewise replaces the text embedder for the prompt block.

:class:`FeatureBuilder` is fitted on the training rows only (the text embedder, the column
centring and one scale per block), then maps any rows into a :class:`Design`. ``Design.matrix(model=...)`` swaps every row's
model identity, which is how the decomposition evaluates mu_i at model i.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from steerstats.data.embedding_table import KeyedEmbeddings, read_embedding_table
from steerstats.errors import ConfigError, InputError
from steerstats.features.cache import EmbeddingCache, embed_texts
from steerstats.features.embedders import TextEmbedder

BLOCKS = ("model", "prompt", "goal")
_TEXT_COLUMN = {"prompt": "prompt", "goal": "reference_prompt"}  # embedded by the text embedder
_KEY_COLUMN = {"prompt": "prompt", "goal": "goal_image"}  # looked up in a keyed table


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


def as_keyed(table: KeyedEmbeddings | pd.DataFrame | None, key: str) -> KeyedEmbeddings | None:
    """A keyed embedding table from a :class:`KeyedEmbeddings` or a frame (``key`` + vectors)."""
    if table is None or isinstance(table, KeyedEmbeddings):
        return table
    return read_embedding_table(table, key, name=f"{key} embeddings")


def needs_text_embedder(blocks: Sequence[str], *, goal_embeddings: object = None, prompt_embeddings: object = None) -> bool:
    """Whether some block of ``blocks`` is embedded from text (it has no keyed table)."""
    tables = {"goal": goal_embeddings, "prompt": prompt_embeddings}
    return any(b in tables and tables[b] is None for b in blocks)


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
        goal_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
        prompt_embeddings: KeyedEmbeddings | pd.DataFrame | None = None,
        model_levels: Sequence[str] | None = None,
    ) -> None:
        unknown = set(blocks) - set(BLOCKS)
        if unknown:
            raise ConfigError(f"unknown feature blocks {sorted(unknown)} (choose from {BLOCKS})")
        self.blocks = tuple(b for b in BLOCKS if b in blocks)
        self.goal_embeddings = as_keyed(goal_embeddings, "goal_image")
        self.prompt_embeddings = as_keyed(prompt_embeddings, "prompt")
        if needs_text_embedder(self.blocks, goal_embeddings=self.goal_embeddings,
                               prompt_embeddings=self.prompt_embeddings) and embedder is None:
            raise ConfigError("the prompt/goal blocks need a text embedder")
        self.embedder = embedder
        self.cache = cache
        self.model_levels = None if model_levels is None else tuple(model_levels)
        self._center: np.ndarray | None = None
        self._scale: np.ndarray | None = None

    def _table(self, block: str) -> KeyedEmbeddings | None:
        return self.goal_embeddings if block == "goal" else self.prompt_embeddings

    def _text_columns(self) -> list[str]:
        """Columns the text embedder embeds: blocks without a keyed table."""
        return [_TEXT_COLUMN[b] for b in self.blocks if b != "model" and self._table(b) is None]

    def _raw(self, frame: pd.DataFrame) -> tuple[np.ndarray, dict[str, slice]]:
        parts, slices, start = [], {}, 0
        for block in self.blocks:
            if block == "model":
                continue
            table = self._table(block)
            if table is not None:
                emb = table.lookup(frame[_KEY_COLUMN[block]].tolist())
            else:
                emb = embed_texts(self.embedder, frame[_TEXT_COLUMN[block]].astype(str).tolist(), self.cache)
            parts.append(emb)
            slices[block] = slice(start, start + emb.shape[1])
            start += emb.shape[1]
        raw = np.hstack(parts) if parts else np.zeros((len(frame), 0))
        return raw, slices

    def fit(self, frame: pd.DataFrame) -> FeatureBuilder:
        """Fit on the training rows: embedder (prompts + reference prompts), then scaling."""
        if self.model_levels is None:
            self.model_levels = tuple(sorted(frame["model"].astype(str).unique()))
        columns = self._text_columns()
        if self.embedder is not None and columns:  # every block given as a table: nothing to embed
            self.embedder.fit([t for c in columns for t in frame[c].astype(str).tolist()])
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
