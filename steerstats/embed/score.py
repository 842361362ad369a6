"""Similarity scores of image pairs and prompt-image pairs: the outcome of a steering study.

For each row of a table with two image columns (goal, output) and optionally a text column:

* ``clip_similarity`` - cosine of the two images' CLIP embeddings (open_clip; Vafa et al. 2025);
* ``dreamsim`` - cosine of the two images' DreamSim embeddings, i.e. 1 - DreamSim distance
  (Fu et al. 2023), the release's main outcome (higher is closer);
* ``clipscore`` - CLIPScore(t, b) = 2.5 * max(cos(E_text(t), E_image(b)), 0) (Hessel et al. 2021),
  the prompt-image alignment of Vafa et al. Fig. 6.

Each unique image (and text) is embedded once, batched, by content hash through the embedding
cache, so a rerun or an interrupted run resumes from the cache. A pair with an unreadable image
gets NaN scores and a ``score_status`` naming the column; every unreadable image is listed in the
side report with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats.embed.embedder import BatchedEmbedder, ClipEmbedder, l2_normalize
from steerstats.errors import ConfigError, InputError

METRICS = ("clip", "dreamsim", "clipscore")
COLUMNS = {"clip": "clip_similarity", "dreamsim": "dreamsim", "clipscore": "clipscore"}
CLIPSCORE_WEIGHT = 2.5  # Hessel et al. (2021), Eq. 1

Builder = BatchedEmbedder | Callable[[], BatchedEmbedder]


@dataclass(frozen=True)
class ScoreResult:
    """The input rows with one column per metric and ``score_status``; the unreadable images."""

    frame: pd.DataFrame
    unreadable: pd.DataFrame  # column, image, first_row, error
    metrics: tuple[str, ...]
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # metric -> items, cached, computed

    @property
    def n_scored(self) -> int:
        return int((self.frame["score_status"] == "ok").sum())


def _check_column(frame: pd.DataFrame, column: str, file: str, what: str) -> list[str]:
    if column not in frame.columns:
        raise InputError(f"no such column (columns: {', '.join(map(str, frame.columns))})", file=file, column=column)
    values = frame[column].tolist()
    for row, v in enumerate(values, start=1):
        if not isinstance(v, str) or not v.strip():
            raise InputError(f"expected {what}, got {v!r}", file=file, row=row, column=column)
        if "\x00" in v:
            raise InputError("NUL character in the value", file=file, row=row, column=column)
    return values


def clipscore(text_vectors: np.ndarray, image_vectors: np.ndarray) -> np.ndarray:
    """2.5 * max(cos, 0) row by row (Hessel et al. 2021)."""
    cos = np.sum(l2_normalize(text_vectors) * l2_normalize(image_vectors), axis=1)
    return CLIPSCORE_WEIGHT * np.maximum(cos, 0.0)


def _embed_unique(embedder: BatchedEmbedder, kind: str, items: Sequence[str], *, cache_dir, root, progress):
    unique = list(dict.fromkeys(items))
    res = embedder.embed(kind, unique, normalize=True, cache=cache_dir, root=root, progress=progress)
    index = {item: i for i, item in enumerate(unique)}
    pos = np.array([index[i] for i in items])
    counts = {"items": len(unique), "cached": res.n_cached, "computed": res.n_computed}
    errors = {unique[i]: res.errors[i] for i in np.flatnonzero(~res.ok)}
    return res.vectors[pos], res.ok[pos], errors, counts


def score_pairs(
    frame: pd.DataFrame,
    *,
    metrics: Sequence[str] = ("clip",),
    image_a: str = "goal_image",
    image_b: str = "generated_image",
    text: str | None = None,
    clip: Builder | None = None,
    dreamsim: Builder | None = None,
    cache_dir: str | Path | None = None,
    root: str | Path | None = None,
    replace: bool = False,
    progress: bool = False,
    file: str = "table",
) -> ScoreResult:
    """Score every row of ``frame`` (module docstring). ``clip`` / ``dreamsim``: an embedder or a
    zero-argument builder, called after the table is validated. Existing score columns are an
    error unless ``replace``."""
    metrics = tuple(dict.fromkeys(metrics))
    unknown = [m for m in metrics if m not in METRICS]
    if not metrics or unknown:
        raise ConfigError(f"metrics must be among {', '.join(METRICS)}, got {', '.join(unknown) or 'none'}")
    if "clipscore" in metrics and text is None:
        raise ConfigError("clipscore needs a text column (--text)")
    if ("clip" in metrics or "clipscore" in metrics) and clip is None:
        raise ConfigError("clip / clipscore need an open_clip model")
    if "dreamsim" in metrics and dreamsim is None:
        raise ConfigError("dreamsim needs DreamSim weights (--dreamsim-weights DIR)")
    taken = [COLUMNS[m] for m in metrics if COLUMNS[m] in frame.columns]
    if taken and not replace:
        raise ConfigError(f"the table already has a '{taken[0]}' column; pass --replace to overwrite it")
    frame = frame.reset_index(drop=True)
    images_b = _check_column(frame, image_b, file, "an image path or URL")
    images_a = _check_column(frame, image_a, file, "an image path or URL") if {"clip", "dreamsim"} & set(metrics) else None
    texts = _check_column(frame, text, file, "a text") if "clipscore" in metrics else None

    out = frame.copy()
    failed: list[dict[str, None]] = [{} for _ in range(len(frame))]  # row -> columns with an unreadable image
    failures: dict[tuple[str, str], str] = {}  # (column, image) -> reason
    counts: dict[str, dict[str, int]] = {}
    built: dict[str, BatchedEmbedder] = {}
    opts = {"cache_dir": cache_dir, "root": root, "progress": progress}

    def get(name: str, builder: Builder) -> BatchedEmbedder:
        if name not in built:
            built[name] = builder if isinstance(builder, BatchedEmbedder) else builder()
        return built[name]

    def record(column: str, images: list[str], ok: np.ndarray, errors: dict[str, str]) -> None:
        for i in np.flatnonzero(~ok):
            failed[i][column] = None
            failures.setdefault((column, images[i]), errors[images[i]])

    for metric in metrics:
        if metric == "clipscore":
            embedder = get("clip", clip)
            if not isinstance(embedder, ClipEmbedder):
                raise ConfigError("clipscore needs an open_clip model with a text tower")
            vb, okb, errb, cb = _embed_unique(embedder, "image", images_b, **opts)
            vt, _, _, ct = _embed_unique(embedder, "text", texts, **opts)
            score = np.where(okb, clipscore(vt, vb), np.nan)
            record(image_b, images_b, okb, errb)
            counts[metric] = {k: cb[k] + ct[k] for k in cb}
        else:
            embedder = get(metric, clip if metric == "clip" else dreamsim)
            n = len(frame)
            v, ok, errors, counts[metric] = _embed_unique(embedder, "image", images_a + images_b, **opts)
            score = np.where(ok[:n] & ok[n:], np.sum(v[:n] * v[n:], axis=1), np.nan)
            record(image_a, images_a, ok[:n], errors)
            record(image_b, images_b, ok[n:], errors)
        out[COLUMNS[metric]] = score.astype(np.float64)
    out["score_status"] = ["ok" if not f else "unreadable: " + ", ".join(f) for f in failed]
    first_row: dict[tuple[str, str], int] = {}
    for column, values in ((image_a, images_a), (image_b, images_b)):
        for row, v in enumerate(values or [], start=1):
            first_row.setdefault((column, v), row)
    unreadable = pd.DataFrame(
        [{"column": c, "image": img, "first_row": first_row[(c, img)], "error": e}
         for (c, img), e in sorted(failures.items(), key=lambda kv: (first_row[kv[0]], kv[0][0]))],
        columns=["column", "image", "first_row", "error"],
    )
    return ScoreResult(out, unreadable, metrics, counts)


def unreadable_report_path(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.unreadable.csv")


def score_table(
    table: str | Path,
    out: str | Path,
    *,
    root: str | Path | None = None,
    force: bool = False,
    **options: Any,
) -> ScoreResult:
    """Read ``table`` (csv/tsv/parquet), :func:`score_pairs` it and write the scored table to
    ``out`` (.csv or .parquet) and the unreadable images to ``<out>.unreadable.csv``, atomically.
    Relative image paths are taken from ``root`` (default: the table's directory)."""
    from steerstats._io import OutputError, atomic_write_bytes
    from steerstats.data.user_table import read_user_table

    table, out = Path(table), Path(out)
    if out.suffix.lower() not in (".csv", ".parquet"):
        raise ConfigError(f"--out must be a .csv or .parquet file, got {out}")
    if out.resolve() == table.resolve():
        raise OutputError(f"--out {out} is the input table; choose another file")
    if out.is_dir():
        raise OutputError(f"--out {out} is a directory; give a file path")
    if out.exists() and not force:
        raise OutputError(f"--out {out} exists; pass --force to replace it")
    frame = read_user_table(table)
    result = score_pairs(frame, root=table.parent if root is None else root, file=str(table), **options)
    if out.suffix.lower() == ".csv":
        payload = result.frame.to_csv(index=False).encode("utf-8")
    else:
        import io

        buffer = io.BytesIO()
        result.frame.to_parquet(buffer, index=False)
        payload = buffer.getvalue()
    atomic_write_bytes(unreadable_report_path(out), result.unreadable.to_csv(index=False).encode("utf-8"))
    atomic_write_bytes(out, payload)
    return result
