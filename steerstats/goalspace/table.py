"""Score a table of (source text, goal, output text) rows in goal space.

Input columns (CSV or parquet; one row = one probe):

- ``source_text``  the text the model was asked to rewrite (required)
- ``output_text``  the model's rewrite (required)
- the goal, either
  - ``goal_<dim>`` columns, one per scored dimension (e.g. ``goal_formality``): the requested value
    in normalised goal space [0, 1]; an empty cell = dimension not requested (held at the source), or
  - ``goal_text``: a text whose measured position is the goal on every scored dimension
- ``model`` (optional): groups of the summary table; missing -> one group "all".

Other columns are kept in the output. Every text cell must hold text; every goal cell a number in
[0, 1] or nothing. Bad input raises :class:`~steerstats.errors.InputError` naming file, row
(1-based data record) and column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from steerstats.errors import InputError
from steerstats.goalspace.dimensions import Normalizer, check_dims
from steerstats.goalspace.mappers import map_texts
from steerstats.goalspace.metrics import Mode, steerability_metrics, summarize


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or parquet table as strings/objects (no type guessing on text; a short record
    is an error, never goals read as 'not requested')."""
    from steerstats.data.user_table import read_user_table

    return read_user_table(path)


def _check_text(frame: pd.DataFrame, column: str, file: str | Path | None) -> list[str]:
    if column not in frame.columns:
        raise InputError(f"missing required column (have: {', '.join(map(str, frame.columns))})", file=file, column=column)
    values = frame[column].tolist()
    for i, v in enumerate(values):
        if not isinstance(v, str) or not v.strip():
            raise InputError("empty or non-text cell: every row needs a text here", file=file, row=i + 1, column=column)
    return [v.strip() for v in values]


def _parse_goal(frame: pd.DataFrame, column: str, file: str | Path | None) -> np.ndarray:
    out = np.full(len(frame), np.nan)
    for i, v in enumerate(frame[column].tolist()):
        if v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and np.isnan(v)):
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            raise InputError(f"goal value {v!r} is not a number", file=file, row=i + 1, column=column) from None
        if not 0.0 <= x <= 1.0:
            raise InputError(f"goal value {x} outside normalised goal space [0, 1]", file=file, row=i + 1, column=column)
        out[i] = x
    return out


@dataclass(frozen=True)
class ScoredTable:
    """Per-row scores, per-model summary and what produced them."""

    rows: pd.DataFrame
    summary: pd.DataFrame
    dims: tuple[str, ...]
    normalizer: Normalizer
    mode: str
    goal_kind: str  # "vector" or "text"
    z0: np.ndarray
    z_goal: np.ndarray
    z_out: np.ndarray


def score_frame(
    frame: pd.DataFrame,
    *,
    dims: Sequence[str] | None = None,
    mode: Mode = "continuous",
    normalizer: Normalizer | str = "defaults",
    file: str | Path | None = None,
    progress: bool = False,
) -> ScoredTable:
    """Validate ``frame`` (columns in the module docstring) and score every row.

    ``normalizer``: a :class:`Normalizer`, ``"defaults"`` (published ranges) or ``"table"``
    (2.5/97.5 percentiles of all texts of the table).
    """
    dims = check_dims(dims)
    if len(frame) == 0:
        raise InputError("table has no rows", file=file)
    source = _check_text(frame, "source_text", file)
    output = _check_text(frame, "output_text", file)
    goal_cols = [f"goal_{d}" for d in dims]
    have = [c for c in goal_cols if c in frame.columns]
    if have:
        missing = sorted(set(goal_cols) - set(have))
        if missing:
            raise InputError("goal vector columns must cover every scored dimension; add it or drop it from --dims", file=file, column=missing[0])
        goal_kind, goal_text = "vector", None
        z_goal = np.column_stack([_parse_goal(frame, c, file) for c in goal_cols])  # fail before mapping
    elif "goal_text" in frame.columns:
        goal_kind, goal_text = "text", _check_text(frame, "goal_text", file)
    else:
        raise InputError(f"no goal: give a 'goal_text' column or goal vector columns {goal_cols}", file=file, column="goal_text")

    texts = source + output + (goal_text or [])
    raw = map_texts(texts, dims, progress=progress)
    n = len(frame)
    for col, block in (("source_text", raw[:n]), ("output_text", raw[n : 2 * n]), ("goal_text", raw[2 * n :])):
        bad = np.flatnonzero(np.isnan(block).any(axis=1)) if block.size else []
        if len(bad):
            raise InputError("text has no words to measure", file=file, row=int(bad[0]) + 1, column=col)
    if isinstance(normalizer, str):
        if normalizer == "defaults":
            normalizer = Normalizer.from_defaults(dims)
        elif normalizer == "table":
            normalizer = Normalizer.from_reference(raw, dims, source=f"texts of {file or 'the table'}")
        else:
            raise InputError(f"unknown normalisation {normalizer!r}: 'defaults', 'table' or a Normalizer")
    z0, z_out = normalizer.transform(raw[:n]), normalizer.transform(raw[n : 2 * n])
    if goal_kind == "text":
        z_goal = normalizer.transform(raw[2 * n :])

    metrics = steerability_metrics(z0, z_goal, z_out, mode=mode).frame()
    rows = frame.reset_index(drop=True).copy()
    if "model" not in rows.columns:
        rows["model"] = "all"
    for k, d in enumerate(dims):
        rows[f"raw_source_{d}"], rows[f"raw_output_{d}"] = raw[:n, k], raw[n : 2 * n, k]
        rows[f"z0_{d}"], rows[f"zgoal_{d}"], rows[f"zout_{d}"] = z0[:, k], np.where(np.isnan(z_goal[:, k]), z0[:, k], z_goal[:, k]), z_out[:, k]
    rows = pd.concat([rows, metrics], axis=1)
    return ScoredTable(rows, summarize(rows, by="model"), dims, normalizer, mode, goal_kind, z0, z_goal, z_out)


def median_iqr_table(summary: pd.DataFrame, by: str | list[str] = "model",
                     metrics: Sequence[str] = ("steering_error", "miscalibration", "orthogonality"),
                     digits: int = 3) -> pd.DataFrame:
    """Display table: one 'median (q25-q75)' cell per metric."""
    keys = [by] if isinstance(by, str) else list(by)
    out = summary[[*keys, "n"]].copy()
    for m in metrics:
        med, lo, hi = summary[f"{m}_median"], summary[f"{m}_q25"], summary[f"{m}_q75"]
        out[m] = [
            "" if np.isnan(a) else f"{a:.{digits}f} ({b:.{digits}f}-{c:.{digits}f})"
            for a, b, c in zip(med, lo, hi, strict=True)
        ]
    return out


def reference_normalizer(spec: str | Path, dims: Sequence[str]) -> Normalizer | str:
    """``"defaults"`` / ``"table"`` as they are, else the 2.5/97.5 percentiles of the goal measures
    of a reference corpus (a CSV/parquet with a ``text`` column; an empty text is an InputError
    naming its row)."""
    if str(spec) in ("defaults", "table"):
        return str(spec)
    frame = read_table(spec)
    if "text" not in frame.columns:
        raise InputError("reference corpus needs a 'text' column", file=spec, column="text")
    texts = [str(t).strip() for t in frame["text"]]
    empty = [i for i, t in enumerate(texts) if not t]
    if empty:
        raise InputError("empty text", file=spec, row=empty[0] + 1, column="text")
    return Normalizer.from_reference(map_texts(texts, dims), dims, source=Path(spec).name)


def score_table(
    path: str | Path,
    *,
    dims: Sequence[str] | None = None,
    mode: Mode = "continuous",
    norm: str | Path = "defaults",
    progress: bool = False,
) -> ScoredTable:
    """Read the table at ``path`` and score every row (:func:`score_frame`; ``norm``: see
    :func:`reference_normalizer`)."""
    dims = check_dims(dims)
    return score_frame(read_table(path), dims=dims, mode=mode, normalizer=reference_normalizer(norm, dims),
                       file=path, progress=progress)
