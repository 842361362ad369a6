"""Errors raised at the edges (bad input, bad configuration).

Every user-facing problem is a :class:`SteerstatsError`; the CLI prints ``str(err)`` on one line and
exits non-zero. :class:`InputError` locates a problem in an input file: ``row`` is the 1-based data
record (header excluded), ``column`` the column name.
"""

from __future__ import annotations

from pathlib import Path


class SteerstatsError(Exception):
    """Base class of every error the CLI reports as a one-line message."""


class InputError(SteerstatsError, ValueError):
    """Bad input data, located by file, row (1-based data record) and column."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.row = row
        self.column = column
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(self.file)
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        text = " ".join(self.message.split())  # always one line
        return f"{prefix}: {text}" if prefix else text


class ConfigError(SteerstatsError, ValueError):
    """A bad configuration file or argument."""


class DataNotFoundError(SteerstatsError, FileNotFoundError):
    """A dataset or file that should be on disk is not."""


class FitFailedError(SteerstatsError, RuntimeError):
    """A fit whose diagnostics say it must not be used (e.g. R-hat > 1.01, divergences)."""
