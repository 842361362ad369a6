"""The `pool` backend: candidates drawn from a table of pre-generated items.

Rejection sampling then runs on generations you already have. Table (CSV or parquet), one row per
item:

    id          unique item id
    prompt      the prompt it was generated from
    embedding   a list column (parquet), or numeric columns emb_0 .. emb_{D-1}, or a side .npy
                file of shape (rows, D) in table order (``embeddings=``)
    aggregate   optional: a known reward/label (enables oracle judges and best-of-N curves)
    <attribute> optional: known attribute values (name them with ``attributes=``)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from steerstats._io import load_array
from steerstats.errors import InputError
from steerstats.generate.candidates import Candidates


class PoolBackend:
    """Sample ``n_per_prompt`` items per prompt, without replacement, from a validated pool."""

    def __init__(
        self,
        table: pd.DataFrame,
        embeddings: np.ndarray | None = None,
        *,
        attributes: Sequence[str] = (),
        file: str | Path | None = None,
    ) -> None:
        self.file = None if file is None else str(file)
        self.table = _validate(table, list(attributes), self.file)
        self.embeddings = _embeddings(self.table, embeddings, self.file)
        self.attributes = tuple(attributes)

    @classmethod
    def from_file(
        cls, path: str | Path, *, embeddings: str | Path | None = None, attributes: Sequence[str] = ()
    ) -> PoolBackend:
        path = Path(path)
        if not path.is_file():
            raise InputError("pool table not found", file=path)
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
        emb = None
        if embeddings is not None:
            emb = load_array(embeddings, "embeddings")
        return cls(table, emb, attributes=attributes, file=path)

    @property
    def prompts(self) -> list[str]:
        return list(pd.unique(self.table["prompt"]))

    def generate(self, prompts: Sequence[str], n_per_prompt: int, seed: int) -> Candidates:
        rng = np.random.default_rng(seed)
        by_prompt = self.table.groupby("prompt", sort=False).indices
        rows = []
        for p in prompts:
            pos = by_prompt.get(p)
            if pos is None:
                raise InputError(f"prompt {p!r} is not in the pool", file=self.file, column="prompt")
            if len(pos) < n_per_prompt:
                raise InputError(
                    f"prompt {p!r} has {len(pos)} items, fewer than the {n_per_prompt} requested",
                    file=self.file, column="prompt",
                )
            rows.append(rng.choice(pos, size=n_per_prompt, replace=False))
        idx = np.concatenate(rows)
        t = self.table.iloc[idx]
        return Candidates(
            ids=t["id"].astype(str).to_numpy(dtype=object),
            prompt=t["prompt"].astype(str).to_numpy(dtype=object),
            seed=np.full(len(idx), seed, dtype=np.int64),
            embedding=self.embeddings[idx],
            attributes=t[list(self.attributes)].reset_index(drop=True) if self.attributes else None,
            aggregate=t["aggregate"].to_numpy(dtype=float) if "aggregate" in t else None,
        )


def _validate(table: pd.DataFrame, attributes: list[str], file: str | None) -> pd.DataFrame:
    for col in ("id", "prompt", *attributes):
        if col not in table.columns:
            raise InputError("missing required column", file=file, column=col)
    table = table.reset_index(drop=True)
    for col in ("id", "prompt"):
        blank = table[col].isna().to_numpy()
        if blank.any():
            raise InputError("empty value", file=file, row=int(blank.argmax()) + 1, column=col)
    dup = table["id"].duplicated().to_numpy()
    if dup.any():
        raise InputError("duplicate id", file=file, row=int(dup.argmax()) + 1, column="id")
    for col in [c for c in ("aggregate", *attributes) if c in table.columns]:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            raise InputError("not a finite number", file=file, row=int(bad.argmax()) + 1, column=col)
        table[col] = values.astype(float)
    return table


def _embeddings(table: pd.DataFrame, side: np.ndarray | None, file: str | None) -> np.ndarray:
    if side is not None:
        emb = np.asarray(side, dtype=float)
        if emb.ndim != 2 or len(emb) != len(table):
            raise InputError(f"embedding file must have shape ({len(table)}, D), got {emb.shape}", file=file)
        column = "embedding"
    elif "embedding" in table.columns:
        column = "embedding"
        try:
            emb = np.stack([np.asarray(v, dtype=float) for v in table["embedding"]])
        except (TypeError, ValueError) as err:
            raise InputError(f"embeddings must be equal-length numeric lists ({err})", file=file, column=column) from err
    else:
        cols = [c for c in table.columns if str(c).startswith("emb_")]
        if not cols:
            raise InputError("no embeddings: need an 'embedding' column, emb_0.. columns or a .npy", file=file, column="embedding")
        cols = sorted(cols, key=lambda c: int(str(c)[4:]))
        column = cols[0]
        emb = table[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(emb)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        col = column if column == "embedding" else f"emb_{c}"
        raise InputError("embedding is not a finite number", file=file, row=int(r) + 1, column=col)
    return emb
