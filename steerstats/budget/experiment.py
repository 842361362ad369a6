"""One call for a whole budget experiment: the sweep (resumable) and the attribute selection.

Writing the report is presentation: :func:`steerstats.report.budget.budget_run`."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats._io import atomic_write_text
from steerstats.budget.config import BudgetConfig, attribute_set, load_config
from steerstats.budget.runner import load_data, make_split, planned_runs, run_budget
from steerstats.budget.selection import greedy_attribute_selection
from steerstats.data.simulate.feedback import annotation_costs
from steerstats.errors import ConfigError

SELECTION = "selection.json"
SELECTION_VERSION = 2  # bump when the selection algorithm changes: invalidates cached selections


def run_selection(config: BudgetConfig, out: Path) -> pd.DataFrame | None:
    """Greedy attribute selection from ``[selection]`` on a pilot subset of the training split.

    Cached in ``out/selection.json`` keyed by a hash of the config's data, model and selection.
    """
    sel = config.selection
    if not sel:
        return None
    key = hashlib.sha256(
        json.dumps([SELECTION_VERSION, config.data, config.model, sel, config.cost, config.costs],
                   sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    cache = out / SELECTION
    if cache.is_file():
        stored = json.loads(cache.read_text())
        if stored.get("key") == key:
            return pd.DataFrame(stored["steps"])
    data = make_split(load_data(config), config).train
    candidates = attribute_set(sel.get("candidates", "all"), data.attribute_names)
    if config.cost == "count":
        costs = dict.fromkeys(candidates, 1.0)
    else:
        seconds = annotation_costs(candidates, config.costs)
        costs = {a: seconds[a] for a in candidates}
    pilot_n = int(sel.get("pilot_n", 1000))
    if pilot_n > len(data):
        raise ConfigError(f"[selection] pilot_n {pilot_n} exceeds {len(data)} training rows")
    seed = int(sel.get("seed", 0))
    rows = np.sort(np.random.default_rng(seed).permutation(len(data))[:pilot_n])
    steps = greedy_attribute_selection(
        data.take(rows),
        candidates,
        costs,
        float(sel["budget"]),
        model_params={**config.model, **dict(sel.get("params", {}))},
        validation_fraction=float(sel.get("validation_fraction", 0.5)),
        seed=seed,
    )
    atomic_write_text(cache, json.dumps({"key": key, "steps": steps.to_dict("records")}) + "\n")
    return steps


@dataclass
class BudgetExperiment:
    """What :func:`run_experiment` did: the finished runs (``results.jsonl`` rows) of ``planned``,
    and the attribute selection once every run is done."""

    out: Path
    planned: int
    records: list[dict[str, Any]]
    selection: pd.DataFrame | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        return len(self.records)

    @property
    def complete(self) -> bool:
        return len(self.records) >= self.planned


def run_experiment(
    config: BudgetConfig | str | Path,
    out: str | Path | None = None,
    *,
    max_runs: int | None = None,
    progress: bool = True,
    executor: Any = None,
) -> BudgetExperiment:
    """Run (or resume) the sweep into ``out/results.jsonl``; when every run is done, run the
    attribute selection (cached in ``out/selection.json``)."""
    if not isinstance(config, BudgetConfig):
        config = load_config(config)
    out = Path(out) if out is not None else Path("out") / "budget" / config.name
    t0 = time.perf_counter()
    records = run_budget(config, out, max_runs=max_runs, progress=progress, executor=executor)
    result = BudgetExperiment(out=out, planned=len(planned_runs(config)), records=records,
                              seconds={"sweep": time.perf_counter() - t0})
    if result.complete:
        t1 = time.perf_counter()
        result.selection = run_selection(config, out)
        result.seconds["selection"] = time.perf_counter() - t1
    return result
