"""Read one CSV file and validate it against its card schema.

Parsing goes through the standard :mod:`csv` module (strict quoting) rather than
``pandas.read_csv`` so that every problem can be located exactly: the 1-based data record (header
excluded, a quoted field with newlines counts as one record) and the column. Problems that would
make a number wrong raise :class:`~steerstats.errors.InputError`; quirks become
:class:`~steerstats.data.study.DataWarning` s.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from steerstats.data.card import ColumnSpec, FileSpec, SequenceSpec
from steerstats.data.study import DataWarning
from steerstats.errors import InputError

csv.field_size_limit(1 << 28)  # the image-steering literals are long single fields

_TRUE = {"true"}
_FALSE = {"false"}


def read_table(
    path: str | Path,
    spec: FileSpec,
    models: dict[str, tuple[str, ...]] | None = None,
    *,
    label: str | None = None,
) -> tuple[pd.DataFrame, list[DataWarning]]:
    """Parse ``path`` with ``spec``'s schema into a typed frame, plus the quirks found.

    ``label`` names the file in messages (default: the path as given).
    """
    return parse_table(Path(path).read_bytes(), spec, models, label=label or str(path))


def parse_table(
    raw: bytes,
    spec: FileSpec,
    models: dict[str, tuple[str, ...]] | None = None,
    *,
    label: str,
) -> tuple[pd.DataFrame, list[DataWarning]]:
    """:func:`read_table` on the bytes of a CSV file; ``label`` names it in messages."""
    name = label
    text = _decode(raw, name)
    records = _records(text, name)
    header, rows = records[0], records[1:]
    if not rows:
        raise InputError("file has a header but no data rows", file=name)
    _check_header(header, spec, name)
    _check_duplicates(rows, name)
    for i, rec in enumerate(rows, start=1):
        if len(rec) != len(header):
            hint = " (truncated line?)" if i == len(rows) else ""
            raise InputError(
                f"record has {len(rec)} fields, header has {len(header)}{hint}",
                file=name,
                row=i,
                column=header[min(len(rec), len(header)) - 1],
            )
    warnings: list[DataWarning] = []
    known = {c.name: c for c in spec.columns}
    data: dict[str, pd.Series] = {}
    for j, col in enumerate(header):
        values = [rec[j] for rec in rows]
        cspec = known.get(col)
        if cspec is None:
            warnings.append(DataWarning(name, f"column '{col}' is not in the card; kept as text"))
            data[col] = pd.Series(values, dtype="str")
            continue
        series = _convert(values, cspec, models or {}, name)
        if cspec.drop:
            label_col = f"'{col}'" if col else "with an empty name"
            warnings.append(
                DataWarning(name, f"column {label_col} ({cspec.description}) dropped at load")
            )
            continue
        data[col] = series.rename(col)
    frame = pd.DataFrame(data)
    quirks = [c.name for c in spec.columns if c.text_quirks and c.name in frame.columns]
    if quirks:
        warnings.extend(_text_quirks(frame, quirks, name))
    if spec.sequence is not None:
        warnings.extend(check_sequences(frame, spec.sequence, name))
    return frame, warnings


def json_object_to_csv(raw: bytes, spec: FileSpec, name: str) -> bytes:
    """A JSON object ``{key: {field: value}}`` as CSV bytes, one row per key (in file order): the
    key in ``spec.key_column``, lists as Python literals, so :func:`parse_table` validates it like
    any file (rows are the objects' positions)."""
    import json

    text = _decode(raw, name)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not valid JSON ({err.msg} at line {err.lineno}, column {err.colno})", file=name) from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object keyed by record", file=name)
    columns = [c.name for c in spec.columns if c.name != spec.key_column]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([spec.key_column, *columns])
    for i, (key, record) in enumerate(data.items(), start=1):
        if not isinstance(record, dict):
            raise InputError(f"record {key!r} is not an object", file=name, row=i)
        missing = [c for c in columns if c not in record]
        if missing:
            raise InputError(f"record {key!r} has no field '{missing[0]}'", file=name, row=i, column=missing[0])
        writer.writerow([key, *(repr(record[c]) if isinstance(record[c], list) else
                               "" if record[c] is None else str(record[c]) for c in columns)])
    return out.getvalue().encode("utf-8")


def _check_duplicates(rows: list[list[str]], name: str) -> None:
    """An exact duplicate record would be counted twice: an error naming both records."""
    first: dict[tuple[str, ...], int] = {}
    for i, rec in enumerate(rows, start=1):
        key = tuple(rec)
        if key in first:
            raise InputError(f"exact duplicate of row {first[key]} (a record counted twice)", file=name, row=i)
        first[key] = i


def _decode(raw: bytes, name: str) -> str:
    if not raw.strip():
        raise InputError("file is empty", file=name)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        prefix = raw[: err.start].decode("utf-8")
        row, column = _locate_end(prefix)
        raise InputError(
            f"invalid UTF-8 byte 0x{raw[err.start]:02x} at byte offset {err.start}",
            file=name,
            row=row,
            column=column,
        ) from None


def _locate_end(prefix: str) -> tuple[int | None, str | None]:
    """(data row, column) of the position just after ``prefix`` in a CSV text."""
    recs = [r for r in csv.reader(io.StringIO(prefix, newline="")) if r]  # as _records: skip blanks
    if not recs:
        return None, None
    header = recs[0]
    if len(recs) == 1:
        return None, header[-1] if header else None
    if prefix.endswith(("\n", "\r")) and _balanced_quotes(prefix):
        return len(recs), header[0]  # at the start of the next record
    last = recs[-1]
    return len(recs) - 1, header[min(max(len(last), 1), len(header)) - 1]


def _balanced_quotes(text: str) -> bool:
    return text.count('"') % 2 == 0


def _records(text: str, name: str, delimiter: str = ",") -> list[list[str]]:
    """Every non-blank CSV record; a malformed one is an error at the record where it starts
    (where its stray quote opens), not where the parser gave up."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    recs: list[list[str]] = []
    start_line = 1  # physical line where the next record starts
    while True:
        try:
            rec = next(reader)
        except StopIteration:
            break
        except csv.Error as err:
            header = recs[0] if recs else []
            lines = text.splitlines()
            column = _quoted_field(lines[start_line - 1] if start_line <= len(lines) else "", header, delimiter)
            truncated = "end of data" in str(err)
            raise InputError(
                f"malformed CSV ({err}): "
                + ("a quote opens in this record and is never closed" if truncated
                   else "a stray quote in this record (a quote inside a field must be doubled)"),
                file=name,
                row=len(recs) if recs else None,
                column=column,
            ) from None
        start_line = reader.line_num + 1
        if rec:  # csv yields [] for blank lines
            recs.append(rec)
    if not recs:
        raise InputError("file is empty", file=name)
    return recs


def _quoted_field(line: str, header: Sequence[str], delimiter: str = ",") -> str | None:
    """The header name of the first field of ``line`` that opens a quote (the likeliest stray)."""
    field, i, in_quote, opened = 0, 0, False, None
    while i < len(line):
        c = line[i]
        if in_quote:
            if c == '"':
                if i + 1 < len(line) and line[i + 1] == '"':
                    i += 1
                else:
                    in_quote = False
        elif c == '"':
            in_quote = True
            opened = field if opened is None else opened  # the first quote is the suspect
        elif c == delimiter:
            field += 1
        i += 1
    return None if opened is None or opened >= len(header) else header[opened]


def _check_header(header: Sequence[str], spec: FileSpec, name: str) -> None:
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise InputError("column name appears twice in the header", file=name, column=col)
        seen.add(col)
    for cspec in spec.columns:
        if cspec.name not in seen and not cspec.drop:
            raise InputError(
                f"missing required column (header has: {', '.join(header)})",
                file=name,
                column=cspec.name,
            )


def _convert(
    values: list[str], spec: ColumnSpec, models: dict[str, tuple[str, ...]], name: str
) -> pd.Series:
    col = spec.name
    missing = np.array([v.strip() == "" for v in values])
    if missing.any() and not spec.nullable:
        row = int(np.argmax(missing)) + 1
        raise InputError("missing value (NaN / empty) in a required column", file=name, row=row, column=col)
    if spec.dtype in ("string", "literal"):
        series = pd.Series([None if m else v for v, m in zip(values, missing, strict=True)], dtype="str")
        if spec.dtype == "literal":
            _check_literals(values, missing, name, col, spec.literal)
    elif spec.dtype == "bool":
        series = _to_bool(values, missing, name, col)
    else:
        series = _to_number(values, missing, spec.dtype, name, col)
    _check_range(series, spec, name)
    _check_values(series, spec, models, name)
    return series


def _to_number(values: list[str], missing: np.ndarray, dtype: str, name: str, col: str) -> pd.Series:
    raw = pd.Series(values, dtype="str").str.strip()
    num = pd.to_numeric(raw.where(~missing), errors="coerce")
    bad = np.isnan(num.to_numpy(dtype=float)) & ~missing
    # the literal strings "nan"/"NaN" parse as NaN: a missing value in disguise
    if bad.any() or (~missing & raw.str.lower().isin(["nan", "inf", "-inf"]).to_numpy()).any():
        lower = raw.str.lower().isin(["nan", "inf", "-inf"]).to_numpy()
        idx = int(np.argmax(bad | (lower & ~missing)))
        raise InputError(
            f"expected {'an integer' if dtype == 'int' else 'a number'}, found {values[idx]!r}",
            file=name,
            row=idx + 1,
            column=col,
        )
    if dtype == "float":
        return num.astype("float64")
    if num.dtype.kind not in "iu":  # floats (or beyond int64): must be integral and in range
        arr = num.to_numpy(dtype=float, na_value=0.0)
        bad = ~np.isfinite(arr) | (arr != np.floor(arr)) | (np.abs(arr) >= 2.0**63)
        if bad.any():
            idx = int(np.argmax(bad))
            raise InputError(f"expected an integer, found {values[idx]!r}", file=name, row=idx + 1, column=col)
    elif num.dtype.kind == "u" and (num.to_numpy() >= 2**63).any():
        idx = int(np.argmax(num.to_numpy() >= 2**63))
        raise InputError(f"integer {values[idx]} beyond the int64 range", file=name, row=idx + 1, column=col)
    return num.astype("Int64" if missing.any() else "int64")


def _to_bool(values: list[str], missing: np.ndarray, name: str, col: str) -> pd.Series:
    out: list[bool | None] = []
    for i, (v, m) in enumerate(zip(values, missing, strict=True)):
        low = v.strip().lower()
        if m:
            out.append(None)
        elif low in _TRUE:
            out.append(True)
        elif low in _FALSE:
            out.append(False)
        else:
            raise InputError(f"expected True or False, found {v!r}", file=name, row=i + 1, column=col)
    return pd.Series(out, dtype="boolean" if missing.any() else "bool")


def _check_literals(values: list[str], missing: np.ndarray, name: str, col: str, kind: str | None) -> None:
    """Every field parses safely; ``kind`` ``"list[str]"`` also checks its type."""
    from steerstats.data.image_steering import safe_literal

    for i, (v, m) in enumerate(zip(values, missing, strict=True)):
        if m:
            continue
        try:
            value = safe_literal(v)
        except ValueError as err:
            raise InputError(f"not a valid Python literal ({err})", file=name, row=i + 1, column=col) from None
        if kind == "list[str]" and not (
            isinstance(value, list) and all(isinstance(x, str) and "\x00" not in x for x in value)
        ):
            raise InputError(f"expected a list of strings, got {v[:80]!r}", file=name, row=i + 1, column=col)
        if kind == "list[int]" and not (
            isinstance(value, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in value)
        ):
            raise InputError(f"expected a list of integers, got {v[:80]!r}", file=name, row=i + 1, column=col)


def _check_range(series: pd.Series, spec: ColumnSpec, name: str) -> None:
    if spec.min is None and spec.max is None:
        return
    arr = series.to_numpy(dtype=float, na_value=np.nan)
    lo = -np.inf if spec.min is None else spec.min
    hi = np.inf if spec.max is None else spec.max
    out = ~np.isnan(arr) & ((arr < lo) | (arr > hi))
    if out.any():
        idx = int(np.argmax(out))
        raise InputError(
            f"value {arr[idx]:g} outside the allowed range [{lo:g}, {hi:g}]",
            file=name,
            row=idx + 1,
            column=spec.name,
        )


def _check_values(
    series: pd.Series, spec: ColumnSpec, models: dict[str, tuple[str, ...]], name: str
) -> None:
    allowed: tuple[object, ...] | None = spec.values
    what = "value"
    if spec.models is not None:
        allowed, what = models[spec.models], "model name"
    if allowed is None:
        return
    bad = ~series.isin(allowed) & series.notna()
    if bad.any():
        idx = int(np.argmax(bad.to_numpy()))
        raise InputError(
            f"unknown {what} {series.iloc[idx]!r} (allowed: {', '.join(map(str, allowed))})",
            file=name,
            row=idx + 1,
            column=spec.name,
        )


def _text_quirks(frame: pd.DataFrame, columns: Sequence[str], name: str) -> list[DataWarning]:
    """One warning listing, per column, values with surrounding whitespace or wrapping quotes."""
    parts, rows = [], np.zeros(len(frame), dtype=bool)
    for col in columns:
        s = frame[col].fillna("")
        stripped = s.str.strip()
        ws = (s != stripped).to_numpy()
        quoted = stripped.str.match(r'^["\'“].*["\'”]$').to_numpy()
        if ws.any() or quoted.any():
            parts.append(f"{col}: {int(ws.sum())} with leading/trailing whitespace, {int(quoted.sum())} wrapped in quotes")
            rows |= ws | quoted
    if not parts:
        return []
    return [
        DataWarning(
            name,
            f"text quirks in {int(rows.sum())} of {len(frame)} rows, kept as released "
            f"(normalise before matching text across files): {'; '.join(parts)}",
            _rows(np.flatnonzero(rows)),
        )
    ]


def _rows(index: Iterable[int]) -> tuple[int, ...]:
    return tuple(int(i) + 1 for i in index)


def check_sequences(frame: pd.DataFrame, seq: SequenceSpec, name: str) -> list[DataWarning]:
    """Warn about (by...) groups that repeat an attempt or miss some of ``seq.attempts``."""
    key = list(seq.by)
    expected = np.asarray(seq.attempts)
    codes = frame.groupby(key, sort=False).ngroup().to_numpy()
    n_groups = int(codes.max()) + 1 if codes.size else 0
    attempt = frame[seq.attempt].to_numpy()
    pairs = pd.DataFrame({"g": codes, "a": attempt})
    out = []
    dup_rows = np.flatnonzero(pairs.duplicated(keep=False).to_numpy())
    if dup_rows.size:
        msgs = []
        for g in np.unique(codes[dup_rows]):
            rows = np.flatnonzero(codes == g)
            ident = ", ".join(f"{k}={frame[k].iloc[rows[0]]}" for k in key)
            msgs.append(f"{ident} has {rows.size} rows (attempts {sorted(attempt[rows].tolist())})")
        out.append(
            DataWarning(
                name,
                f"{len(msgs)} duplicate ({', '.join(key)}) sequence(s): the same user steered "
                f"the same goal more than once: {'; '.join(msgs)}",
                _rows(sorted(np.flatnonzero(np.isin(codes, codes[dup_rows])))),
            )
        )
    present = pairs[np.isin(attempt, expected)].drop_duplicates().groupby("g").size()
    present = present.reindex(range(n_groups), fill_value=0).to_numpy()
    incomplete = present < expected.size
    if incomplete.any():
        sizes = pd.Series(present[incomplete]).value_counts().sort_index(ascending=False)
        out.append(
            DataWarning(
                name,
                f"{int(incomplete.sum())} of {n_groups} ({', '.join(key)}) sequences do not hold "
                f"attempts {expected.min()}..{expected.max()} (missing attempts: "
                + ", ".join(f"{v} with {k} of {expected.size}" for k, v in sizes.items())
                + ")",
                _rows(np.flatnonzero(incomplete[codes])),
            )
        )
    return out
