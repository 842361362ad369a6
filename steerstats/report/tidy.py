"""The tidy (long) form of a result table: one row per (quantity, group) with its estimate and
uncertainty, derived from the paper-shaped table's column conventions so users can plot and join
without parsing column names.

Columns: ``quantity``, the table's key columns (its non-numeric columns, e.g. ``model``),
``estimate``, ``se`` (the headline SE: ``<stem>_se_cluster`` when the table has it, else
``<stem>_se``), ``se_column`` (which one), ``ci_low`` / ``ci_high`` (``<quantity>_ci_low`` /
``_ci_high`` when the table has them), ``level`` (of the interval), ``n`` (the row's ``n``),
``method`` and ``cluster`` (the table's, or each row's from its ``method`` column where the table says
``method_from_column``; any other ``method`` column is a key, renamed ``method_key``), and ``se_note`` (its statement of estimand, cluster and
method). Simulation truth (``truth_<quantity>`` or ``<quantity>_true``) is one more method: a row
per known value with ``method = "truth"``.
A numeric column is a quantity when it has an SE or an interval; tables with none give one row
per numeric cell (``se`` empty). A table that is already long (a key column named ``quantity``)
keeps its quantities: ``quantity`` is that column's value (``value:column`` when the table has
several estimate columns).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.report.artifacts import Table, se_stem

COLUMNS = ("quantity", "estimate", "se", "se_column", "ci_low", "ci_high", "level", "n", "method", "cluster", "se_note")


def _is_derived(column: str) -> bool:
    return ("_se" in column and (column.endswith("_se") or "_se_" in column)) or column.endswith(
        ("_ci_low", "_ci_high")) or column.startswith("truth_") or column.endswith("_true")


def long_table(table: Table) -> pd.DataFrame:
    """The tidy form of ``table`` (module docstring)."""
    frame = table.frame.reset_index(drop=True)
    keys = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c])]
    numeric = [c for c in frame.columns if c not in keys and not _is_derived(c)]
    cols = set(frame.columns)

    def has_uncertainty(c: str) -> bool:
        stem = se_stem(c, table.se_stems)
        return any(x in cols for x in (f"{stem}_se", f"{stem}_se_cluster", f"{c}_ci_low", f"{c}_ci_high"))

    quantities = [c for c in numeric if has_uncertainty(c)] or numeric
    parts = []
    for c in quantities:
        stem = se_stem(c, table.se_stems)
        se_column = next((x for x in (f"{stem}_se_cluster", f"{stem}_se") if x in cols), None)
        part = frame[[k for k in keys if k != "quantity"]].rename(columns={"method": "method_key"})
        if table.method_from_column:
            part = part.drop(columns="method_key")
        if "quantity" in keys:
            named = frame["quantity"].astype(str)
            part.insert(0, "quantity", named if len(quantities) == 1 else named + ":" + c)
        else:
            part.insert(0, "quantity", c)
        part["estimate"] = frame[c].to_numpy(dtype=float)
        part["se"] = frame[se_column].to_numpy(dtype=float) if se_column else np.nan
        part["se_column"] = se_column or ""
        part["ci_low"] = frame[f"{c}_ci_low"].to_numpy(dtype=float) if f"{c}_ci_low" in cols else np.nan
        part["ci_high"] = frame[f"{c}_ci_high"].to_numpy(dtype=float) if f"{c}_ci_high" in cols else np.nan
        has_ci = f"{c}_ci_low" in cols or se_column is not None
        part["level"] = table.level if has_ci else np.nan
        part["n"] = frame["n"].to_numpy(dtype=float) if "n" in cols and "n" not in keys and c != "n" else np.nan
        # a table whose rows differ in method (the decomposition) says so; any other "method" is a key
        part["method"] = frame["method"].astype(str).to_numpy() if table.method_from_column else table.method
        part["cluster"] = table.cluster
        part["se_note"] = table.se_note
        parts.append(part)
        truth = next((x for x in (f"truth_{c}", f"{c}_true") if x in cols), None)
        if truth:
            known = part.assign(estimate=frame[truth].to_numpy(dtype=float), se=np.nan, se_column="", ci_low=np.nan,
                                ci_high=np.nan, level=np.nan, method="truth", cluster="", se_note="simulation truth")
            parts.append(known[known["estimate"].notna()])
    keys = [("method_key" if k == "method" else k) for k in keys
            if k != "quantity" and not (k == "method" and table.method_from_column)]
    if not parts:
        return pd.DataFrame(columns=["quantity", *keys, *COLUMNS[1:]])
    out = pd.concat(parts, ignore_index=True)
    return out[["quantity", *keys, *COLUMNS[1:]]]
