"""Simulation truth next to the estimates: ``{column}_true`` columns looked up in ``study.truth``
(:meth:`steerstats.data.simulate.truth.SimulationTruth.lookup`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from steerstats.data.simulate.truth import truth_label
from steerstats.data.study import Study


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
    labels = [truth_label(v) for v in (out[label].astype(str).itertuples(index=False, name=None)
                                if isinstance(label, list) else out[label])]
    for column, spec in columns.items():
        key, field = spec if isinstance(spec, tuple) else (spec, None)
        values = None if study.truth is None else study.truth.lookup(key, field)
        if values is not None:
            out[f"{column}_true"] = [values.get(v, np.nan) for v in labels]
    return out
