"""Budget-sweep configuration (TOML in ``analyses/budget_*.toml``).

::

    [budget]
    name = "experiment2"
    sizes = [100, 300, 1000]      # training sizes N
    seeds = [0, 1, 2]             # training subsample + initialisation seeds
    cost = "count"                # "count": N (1 + #attributes); "seconds": N (c_agg + sum c_j)
    n_boot = 500                  # cluster bootstrap replicates of the held-out ROC-AUC
    level = 0.95
    costs = { blurry = 20.0 }     # seconds per judgement, overriding/adding to paper Table 2

    [data]                        # synthetic world ...
    source = "synthetic"
    n = 12000                     # items drawn (train pool + test)
    test_fraction = 0.25          # share of groups held out (fixed split, grouped by group id)
    seed = 0
    world = { dim = 768, target = "tree", attributes = [...] }
    # ... or a user's table: source = "path/to/table.parquet", embeddings = "x.npy" (optional)

    [model]                       # hyper-parameters shared by every arm (constructor arguments)
    epochs = 100

    [[arm]]                       # one reward model per arm
    name = "cbm_tree"
    kind = "cbm"                  # "coarse" | "cbm"
    attributes = "tree"           # a named set (see ATTRIBUTE_SETS) or a list of columns
    params = { mode = "sequential" }

    [[contrast]]                  # paired AUC differences reported per N
    a = "cbm_tree"
    b = "coarse"

    [selection]                   # optional: cost-aware greedy attribute selection
    candidates = "quality"
    budget = 60.0                 # cost units per example, on top of the aggregate label
    pilot_n = 1000
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steerstats.data.simulate_feedback import (
    ALIGNMENT_ATTRIBUTES,
    QUALITY_ATTRIBUTES,
    TREE_ATTRIBUTES,
)
from steerstats.errors import ConfigError, DataNotFoundError


def attribute_set(spec: str | list[str], available: tuple[str, ...]) -> tuple[str, ...]:
    """Resolve a named attribute set against the attributes the data has.

    Named sets: ``tree`` (photorealistic, visually compelling, chaotic), ``tree+others`` (tree first,
    then every other available attribute), ``non_tree``, ``quality``, ``alignment``, ``all``/``both``,
    ``none``. A list is taken as given.
    """
    if isinstance(spec, list | tuple):
        names = tuple(spec)
    elif spec == "none":
        names = ()
    elif spec == "tree":
        names = TREE_ATTRIBUTES
    elif spec == "tree+others":
        names = TREE_ATTRIBUTES + tuple(a for a in available if a not in TREE_ATTRIBUTES)
    elif spec == "non_tree":
        names = tuple(a for a in available if a not in TREE_ATTRIBUTES)
    elif spec == "quality":
        names = tuple(a for a in QUALITY_ATTRIBUTES if a in available)
    elif spec == "alignment":
        names = tuple(a for a in ALIGNMENT_ATTRIBUTES if a in available)
    elif spec in ("all", "both"):
        names = tuple(available)
    else:
        raise ConfigError(f"unknown attribute set {spec!r}")
    missing = [a for a in names if a not in available]
    if missing:
        raise ConfigError(f"attribute set {spec!r} needs {missing}, not in the data")
    return names


@dataclass(frozen=True)
class Arm:
    name: str
    kind: str
    attributes: str | tuple[str, ...] = "none"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BudgetConfig:
    name: str
    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    arms: tuple[Arm, ...]
    data: dict[str, Any]
    model: dict[str, Any] = field(default_factory=dict)
    cost: str = "count"
    costs: dict[str, float] = field(default_factory=dict)
    n_boot: int = 500
    level: float = 0.95
    contrasts: tuple[tuple[str, str], ...] = ()
    selection: dict[str, Any] | None = None
    source_file: str | None = None

    def fingerprint(self, arm: Arm) -> str:
        """Hash of everything a run of ``arm`` depends on except its N and seed."""
        blob = json.dumps(
            {"data": self.data, "model": self.model, "arm": arm.__dict__, "level": self.level,
             "n_boot": self.n_boot},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _ints(values: Any, name: str) -> tuple[int, ...]:
    if not isinstance(values, list) or not values or not all(isinstance(v, int) for v in values):
        raise ConfigError(f"[budget] {name} must be a non-empty list of integers")
    return tuple(values)


def parse_config(table: dict[str, Any], source: str | None = None) -> BudgetConfig:
    """A :class:`BudgetConfig` from a parsed TOML table (see the module docstring)."""
    where = f"{source}: " if source else ""
    budget = table.get("budget", {})
    arms_raw = table.get("arm", [])
    if not arms_raw:
        raise ConfigError(f"{where}needs at least one [[arm]]")
    arms = []
    for raw in arms_raw:
        if "name" not in raw or "kind" not in raw:
            raise ConfigError(f"{where}every [[arm]] needs name and kind")
        if raw["kind"] not in ("coarse", "cbm"):
            raise ConfigError(f"{where}arm {raw['name']!r}: kind must be 'coarse' or 'cbm'")
        attrs = raw.get("attributes", "none")
        attrs = tuple(attrs) if isinstance(attrs, list) else attrs
        if raw["kind"] == "cbm" and attrs in ("none", ()):
            raise ConfigError(f"{where}arm {raw['name']!r}: a cbm arm needs attributes")
        arms.append(Arm(raw["name"], raw["kind"], attrs, dict(raw.get("params", {}))))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}arm names must be distinct")
    contrasts = []
    for raw in table.get("contrast", []):
        if raw.get("a") not in names or raw.get("b") not in names:
            raise ConfigError(f"{where}contrast {raw} must name two arms")
        contrasts.append((raw["a"], raw["b"]))
    cost = budget.get("cost", "count")
    if cost not in ("count", "seconds"):
        raise ConfigError(f"{where}[budget] cost must be 'count' or 'seconds'")
    data = dict(table.get("data", {}))
    if "source" not in data:
        raise ConfigError(f"{where}[data] needs source ('synthetic' or a table path)")
    return BudgetConfig(
        name=str(budget.get("name", "budget")),
        sizes=_ints(budget.get("sizes"), "sizes"),
        seeds=_ints(budget.get("seeds", [0]), "seeds"),
        arms=tuple(arms),
        data=data,
        model=dict(table.get("model", {})),
        cost=cost,
        costs={k: float(v) for k, v in budget.get("costs", {}).items()},
        n_boot=int(budget.get("n_boot", 500)),
        level=float(budget.get("level", 0.95)),
        contrasts=tuple(contrasts),
        selection=table.get("selection"),
        source_file=source,
    )


def load_config(path: str | Path) -> BudgetConfig:
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"budget config not found: {path}")
    try:
        table = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from err
    return parse_config(table, str(path))
