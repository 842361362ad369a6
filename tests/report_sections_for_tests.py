"""Report sections importable by spawned worker processes (tests/test_report.py)."""

from __future__ import annotations

from steerstats.errors import InputError


def fails_with_input_error(study, context):
    raise InputError("bad cell", file="x.csv", row=3, column="c")
