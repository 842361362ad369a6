"""A user's own table (CSV, TSV or parquet), read strictly: the one reader behind every command
that takes ``--in TABLE`` or a table path in a config.

CSV/TSV files are parsed by :mod:`csv` like the release's files (:mod:`steerstats.data.table`):
UTF-8 only, every record with as many fields as the header (a short or long record is an error
naming its row, never padded with missing values), no repeated header names, no NUL bytes.
Cells come back as text (``"NA"`` stays the text ``NA``); empty cells are ``""`` or, with
``empty_as_missing``, missing (``None``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from steerstats.errors import DataNotFoundError, InputError

SUFFIXES = (".csv", ".tsv", ".parquet", ".pq")


def read_user_table(path: str | Path, *, what: str = "table", empty_as_missing: bool = False) -> pd.DataFrame:
    """The table at ``path`` (see the module docstring); problems name file, row and column."""
    from steerstats.data.table import _decode, _locate_end, _records

    path = Path(path)
    if path.is_dir():
        raise InputError(f"{what} is a directory, not a file", file=path)
    if not path.is_file():
        raise DataNotFoundError(f"{what} not found: {path}")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise InputError(f"{what} must be {', '.join(SUFFIXES)}", file=path)
    if suffix in (".parquet", ".pq"):
        import pyarrow as pa

        try:
            return pd.read_parquet(path)
        except (OSError, ValueError, pa.ArrowException) as err:
            raise InputError(f"not a readable parquet {what} ({' '.join(str(err).split())[:160]})", file=path) from None
    text = _decode(path.read_bytes(), str(path))
    if "\x00" in text:
        row, column = _locate_end(text[: text.index("\x00")])
        raise InputError("NUL byte in the file (not a text table?)", file=path, row=row, column=column)
    delimiter = "\t" if suffix == ".tsv" else ","
    if not text.strip():
        raise InputError(f"{what} is empty", file=path)
    records = _records(text, str(path), delimiter)
    header, rows = records[0], records[1:]
    seen: set[str] = set()
    for col in header:
        if col in seen:
            raise InputError("column name appears twice in the header", file=path, column=col)
        seen.add(col)
    for i, rec in enumerate(rows, start=1):
        if len(rec) != len(header):
            hint = " (truncated last line?)" if i == len(rows) else ""
            raise InputError(f"record has {len(rec)} fields, the header has {len(header)}{hint}", file=path, row=i)
    data = {
        col: pd.Series([(None if empty_as_missing and not rec[j].strip() else rec[j]) for rec in rows], dtype=object)
        for j, col in enumerate(header)
    }
    return pd.DataFrame(data, columns=header)


def parse_numbers(values: pd.Series, *, what: str, file: str | Path, column: str,
                  rows: np.ndarray | None = None, missing: tuple[str, ...] = ()) -> pd.Series:
    """Floats from a column that may arrive as text (a csv read as text): blanks and the
    ``missing`` tokens become NaN, anything else that is not a number is an InputError
    "``what``, got 'x'" naming its row (``rows``: the file's row of each value; default 1..n)."""
    text = values.astype(str).str.strip()
    blank = values.isna().to_numpy() | text.eq("").to_numpy() | text.isin(missing).to_numpy()
    parsed = pd.to_numeric(values.where(~blank), errors="coerce")
    words = parsed.isna().to_numpy() & ~blank
    if words.any():
        first = int(np.flatnonzero(words)[0])
        row = int(rows[first]) if rows is not None else first + 1
        raise InputError(f"{what}, got {str(values.iloc[first])[:40]!r}", file=file, row=row, column=column)
    return parsed.astype(float)
