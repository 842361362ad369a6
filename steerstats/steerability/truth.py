"""Simulation truth next to the estimates: ``{column}_true`` columns looked up in ``study.truth``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from steerstats.data.study import Study


def _key(value: object) -> object:
    return tuple(str(v) for v in value) if isinstance(value, tuple) else str(value)


def truth_values(truth: Mapping | None, key: str, field: str | None = None) -> dict | None:
    """``truth[key]`` as {label (str, or tuple of str): value}, or None if absent.

    Accepts a Series (label -> value), a DataFrame (``field`` picks a column; without ``field`` a
    wide frame is stacked to (row, column) labels) or a dict (of dicts, with ``field``).
    """
    if not truth or key not in truth:
        return None
    value = truth[key]
    if isinstance(value, pd.DataFrame):
        if field is not None:
            if field not in value.columns:
                return None
            series = value[field]
        else:
            series = value.stack()
    elif isinstance(value, pd.Series):
        series = value
    elif isinstance(value, Mapping):
        if field is None:
            series = pd.Series(value)
        else:
            series = pd.Series({k: v[field] for k, v in value.items() if isinstance(v, Mapping) and field in v})
    else:
        return None
    return {_key(k): float(v) for k, v in series.items()}


def add_truth(
    frame: pd.DataFrame,
    study: Study,
    columns: Mapping[str, str | tuple[str, str]],
    label: str | list[str],
) -> pd.DataFrame:
    """For each ``column -> truth key`` (or ``(key, field)``) found in ``study.truth``, add
    ``{column}_true`` looked up by the table's ``label`` column(s); rows without a true value
    (e.g. a pooled row the simulation does not define) get NaN."""
    out = frame.copy()
    labels = [_key(v) for v in (out[label].astype(str).itertuples(index=False, name=None)
                                if isinstance(label, list) else out[label])]
    for column, spec in columns.items():
        key, field = spec if isinstance(spec, tuple) else (spec, None)
        values = truth_values(study.truth, key, field)
        if values is not None:
            out[f"{column}_true"] = [values.get(v, np.nan) for v in labels]
    return out
