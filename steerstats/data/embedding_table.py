"""Keyed embedding tables: the output of ``steerstats embed`` (or any table of vectors) as an input.

Two layouts are read, from parquet or csv:

* **embed output** - an id column, ``embedding`` (a list of floats per row; null for an unreadable
  image) and ``status`` (``ok`` / ``unreadable``); the parquet metadata key ``steerstats.embed``
  names the id column.
* **wide** - a key column and one numeric column per dimension (any other names).

Rows whose ``status`` is not ``ok`` are left out with a warning and remembered, so that asking for
one of them later names the reason. Everything else that is wrong (duplicate keys, ragged or
non-numeric vectors, NaN in a readable row) is an :class:`~steerstats.errors.InputError` with the
file, row and column.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats.errors import DataNotFoundError, InputError

#: parquet schema-metadata key of ``steerstats embed`` output
EMBED_METADATA_KEY = b"steerstats.embed"


@dataclass(frozen=True)
class KeyedEmbeddings:
    """Vectors by key: ``vectors[i]`` belongs to ``keys[i]`` (unique)."""

    keys: pd.Index
    vectors: np.ndarray  # (n, d) float64
    source: str
    key_column: str
    dropped: frozenset[str] = frozenset()  # keys whose status was not "ok"
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def dim(self) -> int:
        return int(self.vectors.shape[1])

    def lookup(self, keys: Sequence[Any], *, what: str | None = None) -> np.ndarray:
        """Rows for ``keys`` in order; a key without a vector is an InputError naming it."""
        wanted = pd.Index([str(k) for k in keys])
        pos = self.keys.get_indexer(wanted)
        if (pos < 0).any():
            missing = wanted[int(np.flatnonzero(pos < 0)[0])]
            n = int((pos < 0).sum())
            why = "its status is not 'ok' (unreadable)" if missing in self.dropped else "it is not in the table"
            raise InputError(f"no embedding for {what or self.key_column} {missing!r}: {why}"
                             f" ({n} rows lack one)", file=self.source, column=self.key_column)
        return self.vectors[pos]


def _expand_lists(values: pd.Series, rows_in_file: np.ndarray, file: str, column: str) -> np.ndarray:
    rows = []
    dim = None
    for i, v in zip(rows_in_file.tolist(), values.tolist(), strict=True):
        try:
            a = np.asarray(v, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise InputError(f"not a list of numbers: {str(v)[:40]!r}", file=file, row=i, column=column) from None
        if dim is None:
            dim = a.size
        if a.size != dim or dim == 0:
            raise InputError(f"vector of length {a.size}, the first row's has {dim}", file=file, row=i, column=column)
        rows.append(a)
    return np.vstack(rows) if rows else np.zeros((0, 0))


def _parse_list_strings(values: pd.Series) -> pd.Series:
    """A csv's list column arrives as text '[0.1, 0.2]': parse it as JSON."""
    def parse(v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                return v
        return v
    return values.map(parse)


def read_embedding_table(source: str | Path | pd.DataFrame, key: str, *, name: str | None = None) -> KeyedEmbeddings:
    """Read a keyed embedding table (module docstring) whose keys are in column ``key``.

    When ``key`` is not a column, the embed metadata's id column is used if it is not the
    positional ``row`` (so ``embed images --id-column goal_url`` output serves as goal embeddings).
    """
    meta: dict[str, Any] = {}
    if isinstance(source, pd.DataFrame):
        frame, file = source.reset_index(drop=True), name or "embedding table"
    else:
        path = Path(source)
        file = str(path)
        if not path.is_file():
            raise DataNotFoundError(f"embedding table not found: {path}")
        if path.suffix.lower() == ".parquet":
            import pyarrow.parquet as pq

            try:
                arrow = pq.read_table(path)
            except Exception as err:
                raise InputError(f"not a readable parquet file ({type(err).__name__}: {err})", file=file) from None
            meta = json.loads((arrow.schema.metadata or {}).get(EMBED_METADATA_KEY, b"{}"))
            frame = arrow.to_pandas()
        else:
            from steerstats.data.user_table import read_user_table

            frame = read_user_table(path)
    key_column = key
    if key not in frame.columns:
        alt = meta.get("id_column")
        if alt and alt != "row" and alt in frame.columns:
            key_column = alt
        else:
            raise InputError(f"needs a '{key}' column (columns: {', '.join(map(str, frame.columns))})",
                             file=file, column=key)
    keys = frame[key_column]
    if keys.isna().any():
        raise InputError("missing key", file=file, row=int(np.flatnonzero(keys.isna().to_numpy())[0]) + 1,
                         column=key_column)
    keys = keys.astype(str)
    dup = keys.duplicated().to_numpy()
    if dup.any():
        raise InputError(f"{keys.iloc[int(np.flatnonzero(dup)[0])]!r} listed twice", file=file,
                         row=int(np.flatnonzero(dup)[0]) + 1, column=key_column)
    ok = np.ones(len(frame), bool)
    if "status" in frame.columns:
        ok = (frame["status"].astype(str) == "ok").to_numpy()
        if not ok.all():
            warnings.warn(f"{file}: {int((~ok).sum())} of {len(frame)} rows have status other than 'ok' "
                          "(unreadable items) and are left out", stacklevel=2)
    dropped = frozenset(keys[~ok])
    rows_in_file = np.flatnonzero(ok) + 1
    rest = frame.loc[ok].drop(columns=[c for c in (key_column, "status") if c in frame.columns])
    if "embedding" in rest.columns:
        vectors = _expand_lists(_parse_list_strings(rest["embedding"]), rows_in_file, file, "embedding")
    else:
        if rest.shape[1] == 0:
            raise InputError("no embedding columns (an 'embedding' list column or numeric columns)", file=file)
        from steerstats.data.user_table import parse_numbers

        for c in rest.columns:  # a csv arrives as text: numbers parse, blanks are missing, words are errors
            if not pd.api.types.is_numeric_dtype(rest[c]):
                rest[c] = parse_numbers(rest[c], what="embedding columns must be numeric (or one 'embedding' list column)",
                                        file=file, column=str(c), rows=rows_in_file)
        vectors = rest.to_numpy(dtype=np.float64)
    if len(vectors) == 0:
        raise InputError("no usable embeddings (every row is unreadable or the table is empty)", file=file)
    bad_value = ~np.isfinite(vectors)
    if bad_value.any():
        r, c = np.argwhere(bad_value)[0]
        column = "embedding" if "embedding" in rest.columns else str(rest.columns[c])
        raise InputError("missing or infinite embedding value", file=file, row=int(rows_in_file[r]), column=column)
    return KeyedEmbeddings(pd.Index(keys[ok].to_numpy()), vectors, file, key_column, dropped, meta)
