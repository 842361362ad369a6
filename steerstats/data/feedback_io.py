"""Reward-model data: the table format for a user's own fine-grained feedback, and its validation.

One row per rated example (image, image-prompt pair, response), as parquet or CSV:

==================  =========================================================================
column              meaning
==================  =========================================================================
``example_id``      unique id of the example (string or integer)
``group_id``        group for splits, e.g. the prompt: train/test splits keep groups whole
``aggregate``       the coarse label, 0 or 1 (e.g. thumbs up/down; a binarised mean rating)
attribute columns   one per fine-grained attribute, in [0, 1]: 0/1 judgements or soft labels
                    (the share of annotators who said yes); empty = not elicited (masked)
``embedding``       (parquet only) a list column of floats, every row the same length
==================  =========================================================================

Embeddings may instead come from a side ``.npy`` file of shape (n_rows, dim), row i belonging to
data record i, or (``steerstats budget``'s ``[data] text = "prompt"``) from a text column embedded
by a named embedder. Numeric labels on their own scale are mapped by a stated rule:
``aggregate = {column = "quality", threshold = 5}`` binarises (value >= threshold -> 1), and
``attributes = {informativeness = {scale = [1, 6]}}`` maps to the soft label (v - lo) / (hi - lo)
(or ``{threshold = t}`` binarises); a value outside its scale is an error, an empty cell is missing. Attribute columns are every column that is not one of the named ones (or the
``attributes`` argument). Any problem raises :class:`~steerstats.errors.InputError` naming the
file, the 1-based data record and the column; nothing is dropped silently.

:class:`FeedbackData` is the validated in-memory form used by the models and ``steerstats.budget``;
:func:`feedback_from_sample` turns a :class:`~steerstats.data.simulate.feedback.FeedbackSample`
into one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from steerstats._io import load_array
from steerstats.data.simulate.feedback import FeedbackSample
from steerstats.errors import InputError

ID, GROUP, AGGREGATE, EMBEDDING = "example_id", "group_id", "aggregate", "embedding"


@dataclass(frozen=True)
class FeedbackData:
    """Validated reward-model data; arrays share the first axis."""

    embeddings: np.ndarray  # (n, dim) float32
    aggregate: np.ndarray  # (n,) int 0/1
    attributes: np.ndarray  # (n, M) float in [0, 1], NaN = missing
    attribute_names: tuple[str, ...]
    group: np.ndarray  # (n,) group labels
    example_id: np.ndarray  # (n,)
    source: str = "memory"

    def __len__(self) -> int:
        return int(self.aggregate.shape[0])

    def columns(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """Attribute columns by name, (n, len(names))."""
        missing = [a for a in names if a not in self.attribute_names]
        if missing:
            raise InputError(f"attributes {missing} are not in the data", file=self.source)
        return self.attributes[:, [self.attribute_names.index(a) for a in names]]

    def take(self, rows: np.ndarray) -> FeedbackData:
        return FeedbackData(
            self.embeddings[rows],
            self.aggregate[rows],
            self.attributes[rows],
            self.attribute_names,
            self.group[rows],
            self.example_id[rows],
            self.source,
        )


def feedback_from_sample(sample: FeedbackSample, *, source: str = "synthetic") -> FeedbackData:
    """The AI-labelled attributes and aggregate of a synthetic sample as :class:`FeedbackData`."""
    return FeedbackData(
        sample.embeddings,
        sample.aggregate.astype(int),
        sample.ai_attributes.astype(float),
        tuple(sample.attribute_names),
        sample.group,
        sample.example_id,
        source,
    )


def _read_table(path: Path) -> pd.DataFrame:
    from steerstats.data.user_table import read_user_table

    return read_user_table(path, what="feedback table", empty_as_missing=True)


def _embeddings_from_column(frame: pd.DataFrame, path: Path) -> np.ndarray:
    dim = None
    rows = []
    for i, value in enumerate(frame[EMBEDDING], start=1):
        try:
            vec = np.asarray(value, dtype=np.float32).reshape(-1)
        except (TypeError, ValueError) as err:
            raise InputError(
                f"not a list of numbers ({err})", file=path, row=i, column=EMBEDDING
            ) from err
        if vec.size == 0 or (dim is not None and vec.size != dim):
            raise InputError(
                f"embedding has length {vec.size}, expected {dim or '> 0'}",
                file=path,
                row=i,
                column=EMBEDDING,
            )
        dim = vec.size
        rows.append(vec)
    return np.stack(rows) if rows else np.zeros((0, 0), np.float32)


def label_rule(values: pd.Series, rule: dict, path: Path, column: str) -> np.ndarray:
    """A numeric column mapped to [0, 1] by ``rule`` (``{"threshold": t}`` or ``{"scale": [lo, hi]}``);
    empty stays NaN; a non-number or a value outside the scale is an InputError naming the row."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    bad = np.isnan(numbers) & values.notna().to_numpy()
    if "scale" in rule:
        lo, hi = (float(v) for v in rule["scale"])
        if not hi > lo:
            raise InputError(f"scale {rule['scale']} needs lo < hi", file=path, column=column)
        bad |= (numbers < lo) | (numbers > hi)
        mapped = (numbers - lo) / (hi - lo)
        what = f"a number in [{lo:g}, {hi:g}] or empty"
    elif "threshold" in rule:
        mapped = np.where(np.isnan(numbers), np.nan, (numbers >= float(rule["threshold"])).astype(float))
        what = "a number or empty"
    else:
        raise InputError(f"label rule needs 'scale' or 'threshold', got {sorted(rule)}", file=path, column=column)
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise InputError(f"must be {what}, got {values.iloc[row - 1]!r}", file=path, row=row, column=column)
    return mapped


RATER, ATTRIBUTE, VALUE = "rater_id", "attribute", "value"
AGGREGATIONS = ("mean", "majority", "soft")


def aggregate_ratings(path: str | Path, *, how: str = "mean", rules: dict[str, dict] | None = None) -> pd.DataFrame:
    """A rater-level long table (``example_id, rater_id, attribute, value``; ``attribute`` may be
    ``aggregate``) as one row per example, one column per attribute.

    Each rating is first mapped by its attribute's rule (:func:`label_rule`; without one it must
    lie in [0, 1]). Then per (example, attribute): ``mean`` = the mean of the mapped ratings;
    ``soft`` = the share of raters at or above 0.5 (a soft label); ``majority`` = 1 if more than
    half are, 0 if fewer, and a tie is missing (not an invented vote). The aggregate must end 0/1:
    with ``mean`` / ``soft`` it is binarised at 0.5, and a majority tie on it is an error."""
    if how not in AGGREGATIONS:
        raise InputError(f"aggregation must be one of {', '.join(AGGREGATIONS)}, got {how!r}", file=path)
    path = Path(path)
    long = _read_table(path)
    for col in (ID, RATER, ATTRIBUTE, VALUE):
        if col not in long.columns:
            raise InputError("required column missing", file=path, column=col)
    empty = long[[ID, RATER, ATTRIBUTE, VALUE]].isna().any(axis=1).to_numpy()
    if empty.any():
        row = int(np.argmax(empty)) + 1
        col = next(c for c in (ID, RATER, ATTRIBUTE, VALUE) if pd.isna(long.iloc[row - 1][c]))
        raise InputError("empty cell in a rating", file=path, row=row, column=col)
    dup = long.duplicated([ID, RATER, ATTRIBUTE]).to_numpy()
    if dup.any():
        row = int(np.argmax(dup)) + 1
        raise InputError("a rater rated the same attribute of the same example twice", file=path, row=row, column=RATER)
    mapped = np.empty(len(long))
    rules = dict(rules or {})
    for name, idx in long.groupby(ATTRIBUTE, sort=False).indices.items():
        values = long[VALUE].iloc[idx].reset_index(drop=True)
        if name in rules:
            part = label_rule(values, rules[name], path, VALUE)
        else:
            part = pd.to_numeric(values, errors="coerce").to_numpy(float)
            bad = np.isnan(part) | (part < 0) | (part > 1)
            if bad.any():
                raise InputError(f"rating of {name!r} must be in [0, 1] (or give it a scale / threshold rule), got "
                                 f"{values.iloc[int(np.argmax(bad))]!r}", file=path, row=int(idx[np.argmax(bad)]) + 1,
                                 column=VALUE)
        mapped[idx] = part
    long = long.assign(_v=mapped, **{ID: long[ID].astype(str)})
    grouped = long.groupby([ID, ATTRIBUTE], sort=False)["_v"]
    if how == "mean":
        value = grouped.mean()
    else:
        share = grouped.apply(lambda v: float(np.mean(v >= 0.5)))
        value = share if how == "soft" else share.map(lambda p: 1.0 if p > 0.5 else 0.0 if p < 0.5 else np.nan)
    wide = value.unstack(ATTRIBUTE).reset_index()
    wide.columns.name = None
    if AGGREGATE in wide.columns:
        agg = wide[AGGREGATE]
        tie = agg.isna() & wide[ID].isin(long.loc[long[ATTRIBUTE] == AGGREGATE, ID])
        if tie.any():
            raise InputError(f"the raters of example {wide[ID][tie].iloc[0]!r} split evenly on the aggregate "
                             "(majority has no answer; use mean or soft)", file=path, column=AGGREGATE)
        wide[AGGREGATE] = (agg >= 0.5).astype(float).where(agg.notna())
    return wide


def load_feedback(
    path: str | Path,
    *,
    embeddings: str | Path | np.ndarray | None = None,
    attributes: list[str] | tuple[str, ...] | None = None,
    aggregate: dict | None = None,
    rules: dict[str, dict] | None = None,
    exclude: tuple[str, ...] = (),
    ratings: str | Path | None = None,
    aggregation: str = "mean",
) -> FeedbackData:
    """Read and validate a feedback table (see the module docstring for the format).

    ``aggregate``: ``{"column": c, "threshold": t}`` takes the aggregate from column c binarised at
    t; ``rules``: attribute -> label rule (:func:`label_rule`); ``exclude``: columns that are not
    attributes (e.g. an embedded text column); ``embeddings``: a .npy path or an (n, dim) array;
    ``ratings``: a rater-level long table whose labels are aggregated into the examples table
    (:func:`aggregate_ratings`; ``rules`` then apply to each rating)."""
    path = Path(path)
    frame = _read_table(path)
    if ratings is not None:
        wide = aggregate_ratings(ratings, how=aggregation, rules=rules)
        rules = None
        clash = sorted(set(wide.columns) & set(frame.columns) - {ID})
        if clash:
            raise InputError(f"column {clash[0]!r} is both in the examples table and rated in {ratings}", file=path,
                             column=clash[0])
        unknown = sorted(set(wide[ID].astype(str)) - set(frame[ID].astype(str)))
        if unknown:
            raise InputError(f"ratings of example {unknown[0]!r}, which the examples table does not have", file=ratings,
                             column=ID)
        frame = frame.assign(**{ID: frame[ID].astype(str)}).merge(wide, on=ID, how="left")
    if aggregate is not None:
        column = aggregate["column"]
        if column not in frame.columns:
            raise InputError("aggregate column missing", file=path, column=column)
        mapped = label_rule(frame[column], {"threshold": aggregate["threshold"]}, path, column)
        if np.isnan(mapped).any():
            row = int(np.argmax(np.isnan(mapped))) + 1
            raise InputError("the aggregate is required (empty cell)", file=path, row=row, column=column)
        frame = frame.drop(columns=[column]).assign(**{AGGREGATE: mapped.astype(int)})
        exclude = (*exclude, column)
    for col in (ID, GROUP, AGGREGATE):
        if col not in frame.columns:
            raise InputError("required column missing", file=path, column=col)
    if len(frame) == 0:
        raise InputError("the table has no rows", file=path)
    dup = frame[ID].duplicated()
    if dup.any():
        row = int(np.argmax(dup.to_numpy())) + 1
        raise InputError(f"duplicate example id {frame[ID].iloc[row - 1]!r}", file=path, row=row, column=ID)
    missing_group = frame[GROUP].isna().to_numpy()
    if missing_group.any():
        raise InputError("missing group id", file=path, row=int(np.argmax(missing_group)) + 1, column=GROUP)
    agg = pd.to_numeric(frame[AGGREGATE], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(agg, (0.0, 1.0))
    if bad.any():
        row = int(np.argmax(bad)) + 1
        raise InputError(
            f"aggregate must be 0 or 1, got {frame[AGGREGATE].iloc[row - 1]!r}",
            file=path,
            row=row,
            column=AGGREGATE,
        )
    named = {ID, GROUP, AGGREGATE, EMBEDDING, *exclude}
    if attributes is None:
        attributes = [c for c in frame.columns if c not in named]
    rules = dict(rules or {})
    unknown = sorted(set(rules) - set(attributes))
    if unknown:
        raise InputError(f"a label rule names attribute(s) {unknown} that the table does not have", file=path,
                         column=unknown[0])
    for name in attributes:
        if name not in frame.columns:
            raise InputError("attribute column missing", file=path, column=name)
    table = np.empty((len(frame), len(attributes)))
    for j, name in enumerate(attributes):
        raw = frame[name]
        if name in rules:
            table[:, j] = label_rule(raw, rules[name], path, name)
            continue
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = (np.isnan(values) & raw.notna().to_numpy()) | (values < 0) | (values > 1)
        if bad.any():
            row = int(np.argmax(bad)) + 1
            raise InputError(
                f"attribute label must be a number in [0, 1] or empty, got {raw.iloc[row - 1]!r}",
                file=path,
                row=row,
                column=name,
            )
        table[:, j] = values
    if isinstance(embeddings, np.ndarray):
        x = embeddings.astype(np.float32)
        if x.ndim != 2 or x.shape[0] != len(frame):
            raise InputError(f"embeddings have shape {x.shape}; expected ({len(frame)}, dim)", file=path)
        emb_file = path
    elif embeddings is not None:
        npy = Path(embeddings)
        x = load_array(npy, "embeddings").astype(np.float32)
        if not np.isfinite(x).all():
            row = int(np.argwhere(~np.isfinite(x))[0, 0]) + 1
            raise InputError("embeddings contain NaN or infinite values", file=npy, row=row)
        if x.ndim != 2 or x.shape[0] != len(frame):
            raise InputError(
                f"embeddings have shape {x.shape}; expected ({len(frame)}, dim), one row per record",
                file=npy,
            )
        emb_file = npy
    elif EMBEDDING in frame.columns:
        x = _embeddings_from_column(frame, path)
        emb_file = path
    else:
        raise InputError(
            "no embeddings: add a list column 'embedding' (parquet) or pass a side .npy file",
            file=path,
            column=EMBEDDING,
        )
    finite = np.isfinite(x).all(axis=1)
    if not finite.all():
        row = int(np.argmin(finite)) + 1
        raise InputError("embedding has NaN or infinite values", file=emb_file, row=row, column=EMBEDDING)
    return FeedbackData(
        x,
        agg.astype(int),
        table,
        tuple(attributes),
        frame[GROUP].to_numpy(),
        frame[ID].to_numpy(),
        str(path),
    )
