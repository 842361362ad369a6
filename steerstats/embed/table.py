"""`embed_table`: embed one column of a csv/parquet table into an id-aligned parquet file.

Output columns: the id column (or ``row``, the 1-based data record), ``embedding``
(fixed-size float32 list; null for an unreadable image) and ``status`` (``ok`` or
``unreadable``). The parquet schema metadata key ``steerstats.embed`` holds JSON with the model,
its config, the weights identity, the preprocessing or tokenizer, precision, normalisation and
counts. For images a side report ``<out>.unreadable.csv`` lists every unreadable image with the
reason (header only when there are none). Both files are written atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from steerstats._io import OutputError, atomic_write_bytes, sha256_file
from steerstats.data.embedding_table import EMBED_METADATA_KEY
from steerstats.embed._compat import torchvision_shim_active
from steerstats.embed.aesthetic import AestheticFirstLayer
from steerstats.embed.embedder import BatchedEmbedder, ClipEmbedder, l2_normalize
from steerstats.embed.sharded import describe_embedder, embed_sharded
from steerstats.errors import ConfigError, InputError

METADATA_KEY = EMBED_METADATA_KEY
_KIND_ALIASES = {"image": "image", "images": "image", "text": "text", "texts": "text"}


@dataclass(frozen=True)
class EmbedTableResult:
    out: Path
    report: Path | None
    n_items: int
    n_ok: int
    n_unreadable: int
    n_cached: int
    n_computed: int
    n_corrupt_cache: int
    n_workers: int = 1  # processes that embedded (several: sharded on an executor's workers)


def default_cache_dir() -> Path:
    """``<user cache dir>/steerstats/embed`` (platformdirs)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("steerstats")) / "embed"


def report_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.unreadable.csv")


def read_table(path: str | Path, column: str) -> pd.DataFrame:
    """A csv/tsv (read as text, no NA guessing) or parquet table."""
    from steerstats.data.user_table import read_user_table

    return read_user_table(path)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value)) or (
        isinstance(value, str) and not value.strip()
    )


def _validate(
    frame: pd.DataFrame, path: Path, kind: str, column: str, id_column: str | None
) -> tuple[list[Any], pd.Series]:
    for col in (column, id_column):
        if col is not None and col not in frame.columns:
            raise InputError(
                f"no such column (columns: {', '.join(map(str, frame.columns))})",
                file=path,
                column=col,
            )
    values = frame[column].tolist()
    if not values:
        raise InputError("the table has no rows to embed", file=path, column=column)
    for row, value in enumerate(values, start=1):
        if kind == "text" and not isinstance(value, str):
            raise InputError(f"expected text, got {value!r}", file=path, row=row, column=column)
        if kind == "text" and not value.strip():
            raise InputError("empty text (nothing to embed)", file=path, row=row, column=column)
        if isinstance(value, str) and "\x00" in value:
            raise InputError("NUL character in the value", file=path, row=row, column=column)
        if kind == "image" and (_blank(value) or not isinstance(value, str)):
            raise InputError(
                f"expected an image path or URL, got {value!r}", file=path, row=row, column=column
            )
    if id_column is None:
        return values, pd.Series(np.arange(1, len(frame) + 1), name="row")
    ids = frame[id_column].reset_index(drop=True)
    seen: dict[Any, int] = {}
    for row, value in enumerate(ids.tolist(), start=1):
        if _blank(value):
            raise InputError("missing id", file=path, row=row, column=id_column)
        if value in seen:
            raise InputError(
                f"duplicate id {value!r} (first at row {seen[value]})",
                file=path,
                row=row,
                column=id_column,
            )
        seen[value] = row
    return values, ids.rename(id_column)


def _versions() -> dict[str, str]:
    import torch

    import steerstats
    from steerstats.embed._compat import import_open_clip

    open_clip = import_open_clip()  # through the torchvision shim: a sharded driver has built no model

    return {
        "steerstats": getattr(steerstats, "__version__", "unknown"),
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
    }


def embed_table(
    kind: str,
    table: str | Path,
    column: str,
    out: str | Path,
    *,
    embedder: ClipEmbedder | Callable[[], ClipEmbedder],
    id_column: str | None = None,
    normalize: bool = True,
    cache_dir: str | Path | None = None,
    root: str | Path | None = None,
    aesthetic_head: str | Path | None = None,
    progress: bool = True,
    on_batch: Callable[[int, int], None] | None = None,
    force: bool = False,
    executor: Any = None,
    shard_size: int | None = None,
) -> EmbedTableResult:
    """Embed ``table[column]`` (image paths/URLs or texts) into the parquet file ``out``.

    ``embedder``: a :class:`ClipEmbedder`, or a function building one, called once the table has
    been validated (so bad input fails before a model loads). ``cache_dir``: root of the
    embedding cache (None: no cache). ``root``: directory relative
    image paths are taken from (default: the table's directory). ``aesthetic_head``: weights of a
    LAION-aesthetics MLP; the output is then its first layer's features (Collins et al.).
    ``executor``: None or a :class:`steerstats._executor.LocalExecutor` embed here; a Dask executor
    runs the items in shards on its workers (:mod:`steerstats.embed.sharded`; ``embedder`` should
    then be the builder, so each worker loads its own model) of ``shard_size`` unique items
    (default :data:`steerstats.embed.sharded.SHARD_SIZE`), and the driver writes the table.
    """
    kind = _KIND_ALIASES.get(kind, kind)
    if kind not in ("image", "text"):
        raise ConfigError(f"kind must be 'images' or 'texts', got '{kind}'")
    table, out = Path(table), Path(out)
    if out.suffix.lower() != ".parquet":
        raise ConfigError(f"output must be a .parquet file, got {out}")
    check_output_file(out, inputs=[table, aesthetic_head], force=force)
    if aesthetic_head is not None and kind != "image":
        raise ConfigError("the aesthetic head applies to image embeddings only")
    frame = read_table(table, column)
    items, ids = _validate(frame, table, kind, column, id_column)
    head = None
    if aesthetic_head is not None:
        head = AestheticFirstLayer.from_file(aesthetic_head)
    base = table.parent if root is None else root
    if executor is not None and getattr(executor, "name", "local") != "local":
        build = embedder if not isinstance(embedder, BatchedEmbedder) else (lambda: embedder)
        result, described, n_workers = embed_sharded(
            kind, items, build=build, executor=executor, normalize=normalize or head is not None,
            cache_dir=cache_dir, root=base, shard_size=shard_size, progress=progress)
    else:
        if not isinstance(embedder, BatchedEmbedder):
            embedder = embedder()
        if head is not None:  # before any work
            head.check_dim(embedder.dim)
        result = embedder.embed(kind, items, normalize=normalize or head is not None, cache=cache_dir,
                                root=base, progress=progress, on_batch=on_batch)
        described = describe_embedder(embedder, kind)
        n_workers = 1
    if head is not None:
        head.check_dim(described["dim"])
    vectors = result.vectors if head is None else head(l2_normalize(result.vectors))
    n = len(items)
    status = np.where(result.ok, "ok", "unreadable")
    meta: dict[str, Any] = {
        "kind": kind,
        "model": described["model"],
        "model_config": described["model_config"],
        "weights": described["weights"],
        "precision": described["precision"],
        "device": described["device"],
        "dim": int(vectors.shape[1]),
        "normalized": bool(normalize) if head is None else False,
        "output": "clip" if head is None else "laion-aesthetic-first-layer",
        "head": None if head is None else head.describe(),
        "source": {"table": str(table), "sha256": sha256_file(table), "column": column},
        "id_column": ids.name,
        "n_items": n,
        "n_ok": int(result.ok.sum()),
        "n_unreadable": result.n_failed,
        "torchvision_shim": torchvision_shim_active(),
        "versions": _versions(),
    }
    ident = described["identity"]
    meta["preprocess" if kind == "image" else "tokenizer"] = ident[
        "preprocess" if kind == "image" else "tokenizer"
    ]

    report = None
    if kind == "image":
        failed = np.flatnonzero(~result.ok)
        side = pd.DataFrame(
            {
                ids.name: ids.iloc[failed].to_numpy(),
                "row": failed + 1,
                "source": [items[i] for i in failed],
                "error": [result.errors[i] for i in failed],
            }
        )
        report = report_path(out)
        atomic_write_bytes(report, side.to_csv(index=False).encode("utf-8"))

    flat = pa.array(np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1))
    embedding = pa.FixedSizeListArray.from_arrays(
        flat, int(vectors.shape[1]), mask=pa.array(~result.ok)
    )
    arrow = pa.table(
        {ids.name: pa.array(ids.to_numpy()), "embedding": embedding, "status": pa.array(status)}
    )
    arrow = arrow.replace_schema_metadata(
        {METADATA_KEY: json.dumps(meta, sort_keys=True, default=str).encode()}
    )
    sink = pa.BufferOutputStream()
    pq.write_table(arrow, sink)
    atomic_write_bytes(out, memoryview(sink.getvalue()))  # no extra copy of a large table
    return EmbedTableResult(
        out=out,
        report=report,
        n_items=n,
        n_ok=int(result.ok.sum()),
        n_unreadable=result.n_failed,
        n_cached=result.n_cached,
        n_computed=result.n_computed,
        n_corrupt_cache=result.n_corrupt_cache,
        n_workers=n_workers,
    )


def check_output_file(out: Path, *, inputs: list[Any], force: bool = False) -> None:
    """Refuse an output file that would replace an input, a directory, or a file that is not a
    previous steerstats embedding table (``force`` replaces any file except an input)."""
    for item in inputs:
        if item is not None and Path(item).resolve() == out.resolve():
            raise OutputError(f"--out {out} is the input {item}; choose another output file")
    if out.is_dir():
        raise OutputError(f"--out {out} is a directory; give a .parquet file path")
    if out.exists() and not force:
        try:
            ours = METADATA_KEY in (pq.read_schema(out).metadata or {})
        except (OSError, pa.ArrowException):
            ours = False
        if not ours:
            raise OutputError(f"--out {out} exists and is not a steerstats embedding table; pass --force to replace it")


def read_embeddings(path: str | Path) -> tuple[pd.DataFrame, np.ndarray, dict[str, Any]]:
    """(ids and status frame, (n, dim) float32 array with NaN rows for failures, metadata)."""
    arrow = pq.read_table(path)
    meta = json.loads((arrow.schema.metadata or {}).get(METADATA_KEY, b"{}"))
    column = arrow.column("embedding").combine_chunks()
    dim = column.type.list_size
    values = column.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(-1, dim)
    vectors = np.where(column.is_valid().to_numpy(zero_copy_only=False)[:, None], values, np.nan)
    frame = arrow.drop_columns(["embedding"]).to_pandas()
    return frame, vectors.astype(np.float32), meta
