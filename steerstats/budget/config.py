"""Budget-sweep configuration (TOML in ``analyses/budget_*.toml``).

::

    [budget]
    name = "experiment2"
    sizes = [100, 300, 1000]      # training sizes N
    seeds = [0, 1, 2]             # training subsample + initialisation seeds
    cost = "count"                # "count": N (1 + #attributes); "seconds": N (c_agg + sum c_j)
    n_boot = 500                  # cluster bootstrap replicates of the held-out ROC-AUC
    level = 0.95
    weight_boot = 200             # cluster bootstrap replicates of the stage-2 aggregator weights (0: none)
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
    kind = "cbm"                  # "coarse" | "cbm" | "cem" | "attributes" (stage 2 alone on the observed attributes)
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from steerstats.config import OPTIONAL, REQUIRED, Field, read_toml, resolve_config, validate
from steerstats.data.simulate.feedback import (
    ALIGNMENT_ATTRIBUTES,
    QUALITY_ATTRIBUTES,
    TREE_ATTRIBUTES,
)
from steerstats.errors import ConfigError
from steerstats.models.schema import NOT_FOR


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


#: arm kinds whose stage-2 aggregator weights get a bootstrap interval (the joint CBM's do not)
WEIGHT_BOOT_KINDS = ("cbm", "attributes")


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
    weight_boot: int = 200
    contrasts: tuple[tuple[str, str], ...] = ()
    selection: dict[str, Any] | None = None
    source_file: str | None = None

    def fingerprint(self, arm: Arm) -> str:
        """Hash of everything a run of ``arm`` depends on except its N and seed."""
        deps = {"data": self.data, "model": self.model, "arm": arm.__dict__, "level": self.level, "n_boot": self.n_boot}
        if arm.kind in WEIGHT_BOOT_KINDS:
            deps["weight_boot"] = self.weight_boot
        blob = json.dumps(
            deps,
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def budget_schema() -> dict[str, Field]:
    from steerstats.data.simulate.feedback import FEEDBACK_WORLD_FIELDS
    from steerstats.models.schema import model_fields

    names = ("str", "list[str]")
    return {
        "budget": Field("table", {}, "the sweep", fields={
            "name": Field("str", "budget", "name of the sweep (default output: out/budget/NAME)"),
            "sizes": Field("list[int]", REQUIRED, "training sizes N", ge=1, min_items=1),
            "seeds": Field("list[int]", [0], "training subsample + initialisation seeds", ge=0, min_items=1),
            "cost": Field("str", "count", "'count': N (1 + #attributes); 'seconds': N (c_agg + sum c_j)",
                          choices=("count", "seconds")),
            "n_boot": Field("int", 500, "cluster-bootstrap replicates of the held-out ROC-AUC", ge=2, le=1_000_000),
            "level": Field("float", 0.95, "confidence level of the intervals", gt=0, lt=1),
            "weight_boot": Field("int", 200, "cluster-bootstrap replicates of the stage-2 aggregator weights over "
                                 "training groups (sequential/independent CBM and attributes arms; 0: none)",
                                 ge=0, le=100_000),
            "costs": Field("table", {}, "seconds per judgement, overriding/adding to paper Table 2",
                           values=Field("float", REQUIRED, "seconds per judgement", ge=0)),
        }),
        "data": Field("table", REQUIRED, "the data", fields={
            "source": Field("str", REQUIRED, "'synthetic', a feedback dataset ('tifa160') or the path of a feedback "
                            "table (.csv / .parquet)"),
            "embeddings": Field("str", OPTIONAL, "a side .npy of shape (n_rows, dim) for a user table"),
            "data_dir": Field("str", OPTIONAL, "the dataset's directory (feedback datasets)"),
            "threshold": Field("float", OPTIONAL, "the aggregate: mean human rating >= threshold (feedback datasets; "
                               "default 4)"),
            "embedder": Field("str", OPTIONAL, "text embedder of the prompts (feedback datasets; default minilm)",
                              choices=("minilm", "tfidf", "clip")),
            "cache_dir": Field("str", OPTIONAL, "embedding cache (feedback datasets, text columns)"),
            "text": Field("str", OPTIONAL, "a user table's text column embedded by `embedder` (cached) as the inputs"),
            "aggregate": Field("table", OPTIONAL, "a user table's aggregate from a numeric column, binarised", fields={
                "column": Field("str", REQUIRED, "the numeric column"),
                "threshold": Field("float", REQUIRED, "value >= threshold -> 1"),
            }),
            "ratings": Field("str", OPTIONAL, "a rater-level long table (example_id, rater_id, attribute, value) whose "
                             "labels are aggregated into the user table"),
            "aggregation": Field("str", OPTIONAL, "how ratings are aggregated (default mean)", choices=("mean", "majority", "soft")),
            "attributes": Field("table", OPTIONAL, "label rules of a user table's numeric attributes",
                                values=Field("table", REQUIRED, "one attribute's rule", fields={
                                    "scale": Field("list[float]", OPTIONAL, "[lo, hi] -> soft label (v - lo) / (hi - lo)",
                                                   min_items=2, max_items=2),
                                    "threshold": Field("float", OPTIONAL, "value >= threshold -> 1"),
                                })),
            "n": Field("int", 10_000, "items drawn from the synthetic world (train pool + test)", ge=4, le=10_000_000),
            "test_fraction": Field("float", 0.25, "share of groups held out as the test set", gt=0, lt=1),
            "seed": Field("int", 0, "seed of the synthetic sample and of the train/test split", ge=0),
            "world": Field("table", {}, "FeedbackWorldConfig fields (synthetic only)", fields=FEEDBACK_WORLD_FIELDS),
        }),
        "model": Field("table", {}, "hyper-parameters shared by every arm", fields=model_fields()),
        "arm": Field("tables", REQUIRED, "one reward model per arm", min_items=1, fields={
            "name": Field("str", REQUIRED, "the arm's name in tables and figures"),
            "kind": Field("str", REQUIRED, "reward model: coarse, cbm, cem (concept embeddings), or attributes (stage 2 "
                          "alone on the observed attributes, missing = 0 plus a missing indicator)",
                          choices=("coarse", "cbm", "cem", "attributes")),
            "attributes": Field(names, "none", "a named set (tree, tree+others, non_tree, quality, alignment, "
                                "all, none) or a list of attribute columns"),
            "params": Field("table", {}, "hyper-parameters of this arm (override [model])", fields=model_fields()),
        }),
        "contrast": Field("tables", [], "paired AUC differences reported per N", fields={
            "a": Field("str", REQUIRED, "arm name"),
            "b": Field("str", REQUIRED, "arm name (the reference)"),
        }),
        "selection": Field("table", OPTIONAL, "cost-aware greedy attribute selection", fields={
            "candidates": Field(names, "all", "attribute set to choose from"),
            "budget": Field("float", REQUIRED, "cost units per example on top of the aggregate label", gt=0),
            "pilot_n": Field("int", 1000, "pilot training size", ge=2),
            "seed": Field("int", 0, "seed of the pilot runs", ge=0),
            "validation_fraction": Field("float", 0.5, "pilot rows held out to score each choice", gt=0, lt=1),
            "params": Field("table", {}, "hyper-parameters of the pilot models", fields=model_fields()),
        }),
    }


def parse_config(table: dict[str, Any], source: str | None = None) -> BudgetConfig:
    """A :class:`BudgetConfig` from a parsed TOML table (see the module docstring); every key is
    checked by the strict config layer (:mod:`steerstats.config`)."""
    where = source or "budget config"
    cfg = validate(table, budget_schema(), where=where)
    budget, arms = cfg["budget"], []
    for i, raw in enumerate(cfg["arm"]):
        attrs = tuple(raw["attributes"]) if isinstance(raw["attributes"], list) else raw["attributes"]
        if raw["kind"] in ("cbm", "cem", "attributes") and attrs in ("none", ()):
            raise ConfigError(f"{where}: arm[{i}].attributes: a {raw['kind']} arm needs attributes")
        if raw["kind"] == "attributes" and raw["params"]:
            raise ConfigError(f"{where}: arm[{i}].params: an attributes arm takes no parameters "
                              "(L2 logistic regression, C = 1)")
        bad = [k for k in raw["params"] if k in NOT_FOR.get(raw["kind"], ())]
        if bad:
            raise ConfigError(f"{where}: arm[{i}].params.{bad[0]}: a {raw['kind']} arm does not take this key")
        arms.append(Arm(raw["name"], raw["kind"], attrs, dict(raw["params"])))
    names = [a.name for a in arms]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where}: arm: names must be distinct, got {names}")
    contrasts = []
    for i, raw in enumerate(cfg["contrast"]):
        for side in ("a", "b"):
            if raw[side] not in names:
                raise ConfigError(f"{where}: contrast[{i}].{side}: {raw[side]!r} is not an arm (arms: {', '.join(names)})")
        if raw["a"] == raw["b"]:
            raise ConfigError(f"{where}: contrast[{i}]: a and b are the same arm")
        contrasts.append((raw["a"], raw["b"]))
    data = dict(cfg["data"])
    from steerstats.data.loaders import FEEDBACK_DATASETS

    user_table = data["source"] not in FEEDBACK_DATASETS and data["source"] != "synthetic"
    if data["source"] not in FEEDBACK_DATASETS:
        for key in ("data_dir", "threshold"):
            if key in table.get("data", {}):
                raise ConfigError(f"{where}: data.{key}: only for a feedback dataset ({', '.join(FEEDBACK_DATASETS)})")
    if not user_table:
        for key in ("text", "aggregate", "attributes", "embeddings", "ratings", "aggregation"):
            if key in table.get("data", {}):
                raise ConfigError(f"{where}: data.{key}: only for a user table (source = a .csv / .parquet path)")
    if "embedder" in table.get("data", {}) and user_table and "text" not in data:
        raise ConfigError(f"{where}: data.embedder: embeds the text column: set data.text")
    if "aggregation" in data and "ratings" not in data:
        raise ConfigError(f"{where}: data.aggregation: aggregates data.ratings: set it")
    if "text" in data and "embeddings" in data:
        raise ConfigError(f"{where}: data.text and data.embeddings: the inputs come from one of them")
    for name, rule in data.get("attributes", {}).items():
        if ("scale" in rule) == ("threshold" in rule):
            raise ConfigError(f"{where}: data.attributes.{name}: give exactly one of scale or threshold")
    if data["source"] != "synthetic":
        for key in ("n", "world"):
            if key in table.get("data", {}):
                raise ConfigError(f"{where}: data.{key}: only for source = 'synthetic'")
        del data["world"], data["n"]
    if len(set(budget["sizes"])) != len(budget["sizes"]) or len(set(budget["seeds"])) != len(budget["seeds"]):
        raise ConfigError(f"{where}: budget.sizes and budget.seeds must not repeat a value")
    return BudgetConfig(
        name=budget["name"],
        sizes=tuple(budget["sizes"]),
        seeds=tuple(budget["seeds"]),
        arms=tuple(arms),
        data=data,
        model=dict(cfg["model"]),
        cost=budget["cost"],
        costs=dict(budget["costs"]),
        n_boot=budget["n_boot"],
        level=budget["level"],
        weight_boot=budget["weight_boot"],
        contrasts=tuple(contrasts),
        selection=cfg.get("selection"),
        source_file=source,
    )


def effective_config(table: dict[str, Any], source: str | None = None) -> dict[str, Any]:
    """The checked table with every default filled in (what a sweep of ``table`` runs with)."""
    parse_config(table, source)  # every semantic check
    return validate(table, budget_schema(), where=source or "budget config")


def load_config(path: str | Path) -> BudgetConfig:
    """Read (UTF-8 TOML) and check a budget config file, or a shipped one by name (``experiment2``)."""
    path = resolve_config(path)
    return parse_config(read_toml(path, "budget config"), str(path))
