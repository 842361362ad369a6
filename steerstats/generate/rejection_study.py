"""The rejection-sampling (best-of-N) evaluation of reward models as one analysis (Collins et al.
2024, Table 1): a config (TOML, ``analyses/rejection_*.toml``; schema :data:`SCHEMA`) in, a
:class:`RejectionResult` out, no files (presentation and writing: :mod:`steerstats.report.rejection`).

Per prompt N candidates; each model's top pick; side-by-side judgements of the two picks with an
"unsure" option (oracle, simulated raters, or a human judgement table); where the candidates'
true reward is known, the true reward of the picks, best-of-N curves and tie-aware pairwise
accuracy. CIs: one-way cluster bootstrap over prompts (percentile), as all votes/pairs of a prompt
share its candidates.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats.config import (
    OPTIONAL,
    REQUIRED,
    Field,
    build_config,
    config_source,
    config_table,
    config_type,
    validate,
)
from steerstats.errors import ConfigError
from steerstats.generate.candidates import Candidates
from steerstats.generate.judgements import check_models, read_judgements
from steerstats.generate.rejection import (
    AGGREGATE,
    best_of_n,
    oracle_judgements,
    orient_votes,
    pair_frame,
    random_scorer,
    score_candidates,
    simulated_judgements,
    tie_aware_accuracy,
    top_picks,
    vote_shares,
)
from steerstats.uncertainty import cluster_bootstrap, grouped_mean_bootstrap


def _schema() -> dict[str, Field]:
    from steerstats.data.simulate.feedback import FEEDBACK_WORLD_FIELDS
    from steerstats.models.schema import model_fields

    world = {**FEEDBACK_WORLD_FIELDS, "dim": replace(FEEDBACK_WORLD_FIELDS["dim"], default=64),
             "target": replace(FEEDBACK_WORLD_FIELDS["target"], default="tree")}
    model = {
        "kind": Field("str", REQUIRED, "reward model: coarse / cbm (aggregate labels) or bradley_terry (pairwise "
                      "preferences between the training items of one prompt)", choices=("coarse", "cbm", "bradley_terry")),
        "attributes": Field("list[str]", OPTIONAL, "attributes of a cbm", min_items=1),
        "ties": Field("str", OPTIONAL, "bradley_terry: davidson / half / drop (pairs of equal aggregate)",
                      choices=("davidson", "half", "drop")),
        **model_fields(),
    }
    tree = ["photorealistic", "visually_compelling", "chaotic"]
    mismatch = ["blurry", "distorted", "bright", "captivating", "disturbing", "funny"]
    nonneg = {"ge": 0.0}
    return {
        "seed": Field("int", 0, "seed of the scorers, judges and bootstrap", ge=0),
        "n_boot": Field("int", 2000, "cluster-bootstrap replicates (prompts as clusters)", ge=2, le=1_000_000),
        "level": Field("float", 0.95, "confidence level", gt=0, lt=1),
        "world": Field("table", {}, "FeedbackWorldConfig fields of the synthetic world", fields=world),
        "train": Field("table", {}, "fresh training items from the same world", fields={
            "n": Field("int", 1000, "training items", ge=4, le=10_000_000),
            "seed": Field("int", 1, "seed of the training sample", ge=0),
        }),
        "models": Field("table", {
            "coarse": {"kind": "coarse", "epochs": 100},
            "cbm": {"kind": "cbm", "mode": "sequential", "epochs": 100, "attributes": tree},
            "cbm_mismatch": {"kind": "cbm", "mode": "sequential", "epochs": 100, "attributes": mismatch},
        }, "reward models to train, [models.NAME] (replaces the default set as a whole)",
            values=Field("table", REQUIRED, "one reward model", fields=model)),
        "generate": Field("table", {}, "candidates per prompt", fields={
            "backend": Field("str", "synthetic", "candidate source", choices=("synthetic", "pool")),
            "n_prompts": Field("int", 400, "prompts (synthetic backend)", ge=1, le=1_000_000),
            "n_per_prompt": Field("int", 64, "candidates per prompt", ge=1, le=100_000),
            "seed": Field("int", 2, "seed of the candidates", ge=0),
            "path": Field("str", "", "pool table (backend 'pool')"),
            "attributes": Field("list[str]", [], "attribute columns of the pool"),
        }),
        "compare": Field("table", {}, "the side-by-side comparison", fields={
            "a": Field("str", "coarse", "model A"),
            "b": Field("str", "cbm", "model B"),
            "n": Field("int", 16, "best of n candidates per prompt (<= generate.n_per_prompt)", ge=1),
            "attributes": Field("list[str]", [], "attribute dimensions judged (default: all)"),
        }),
        "judges": Field("table", {}, "who judges the pairs", fields={
            "kinds": Field("list[str]", ["oracle", "simulated"], "judges", choices=("oracle", "simulated", "human"), min_items=1),
            "oracle_band": Field("float", 0.0, "oracle's 'unsure' band on the aggregate", **nonneg),
            "n_raters": Field("int", 3, "simulated raters per pair", ge=1, le=1_000),
            "noise_sd_aggregate": Field("float", 0.1, "simulated rater noise on the aggregate", **nonneg),
            "band_aggregate": Field("float", 0.1, "simulated 'unsure' band on the aggregate", **nonneg),
            "noise_sd_attribute": Field("float", 0.3, "simulated rater noise on attributes", **nonneg),
            "band_attribute": Field("float", 0.3, "simulated 'unsure' band on attributes", **nonneg),
            "human": Field("str", "", "table of human judgements"),
        }),
        "best_of_n": Field("table", {}, "best-of-N curves", fields={
            "ns": Field("list[int]", [1, 2, 4, 8, 16, 32, 64], "N values (<= generate.n_per_prompt)", ge=1, min_items=1),
            "baselines": Field("list[str]", ["oracle", "random"], "reference scorers", choices=("oracle", "random")),
        }),
        "accuracy": Field("table", {}, "tie-aware pairwise accuracy", fields={
            "score_epsilon": Field(("str", "float"), "calibrate", "score tie threshold, or 'calibrate'"),
            "truth_band": Field("float", 0.0, "truth tie band", **nonneg),
        }),
    }


SCHEMA: dict[str, Field] = _schema()
#: the typed config of :func:`run_rejection` (attributes as in :data:`SCHEMA`)
RejectionConfig = config_type("RejectionConfig", SCHEMA, module=__name__)


def check_config(table: Mapping[str, Any], *, where: str = "") -> RejectionConfig:
    """``table`` checked by the strict config layer against the rejection schema, defaults filled,
    as a :data:`RejectionConfig`."""
    cfg = validate(table, SCHEMA, where=where)
    prefix = f"{where}: " if where else ""
    eps = cfg["accuracy"]["score_epsilon"]
    if (isinstance(eps, str) and eps != "calibrate") or (not isinstance(eps, str) and eps < 0):
        raise ConfigError(f"{prefix}accuracy.score_epsilon: must be 'calibrate' or a number >= 0, got {eps!r}")
    g = cfg["generate"]
    if g["backend"] == "synthetic" and g["n_prompts"] * g["n_per_prompt"] > 20_000_000:
        raise ConfigError(f"{prefix}generate: n_prompts x n_per_prompt must be <= 20,000,000 candidates")
    for name, spec in cfg["models"].items():
        if spec["kind"] == "cbm" and "attributes" not in spec:
            raise ConfigError(f"{prefix}models.{name}.attributes: a cbm needs attributes")
        if spec["kind"] in ("coarse", "bradley_terry"):
            bad = [k for k in ("attributes", "mode", "concept_weight", "C") if k in spec]
            if bad:
                raise ConfigError(f"{prefix}models.{name}.{bad[0]}: only a cbm takes this key")
        if spec["kind"] != "bradley_terry" and "ties" in spec:
            raise ConfigError(f"{prefix}models.{name}.ties: only a bradley_terry model takes this key")
    config = build_config(RejectionConfig, cfg)
    if config.generate.backend == "synthetic":
        check_pool_size(config, config.generate.n_per_prompt, where=where)
    return config


def check_pool_size(cfg: RejectionConfig, smallest: int, *, where: str = "", best_of_n: bool = True) -> None:
    """compare.n (and every best_of_n.ns, where best-of-N runs) must not exceed the smallest
    prompt's candidate count."""
    prefix = f"{where}: " if where else ""
    checks = [("compare.n", cfg.compare.n)] + [("best_of_n.ns", max(cfg.best_of_n.ns))] * best_of_n
    for name, value in checks:
        if value > smallest:
            raise ConfigError(f"{prefix}{name}: {value} is more than the {smallest} candidates of the smallest prompt")


def load_config(path: str | Path | None, overrides: Mapping[str, Any] | None = None) -> RejectionConfig:
    """The effective config of a UTF-8 TOML file, a shipped one by name (``mismatch``), or the
    built-in one for ``None``; ``overrides`` (e.g. CLI options; None values ignored) are merged in
    before the table is checked."""
    table, where = config_source(path, overrides)
    return check_config(table, where=where)


def build_world(cfg: RejectionConfig):
    from steerstats.data.simulate.feedback import FeedbackWorld, feedback_world_config

    return FeedbackWorld(feedback_world_config(config_table(cfg.world)))


def within_group_pairs(score: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of items of one group (prompt) with the preference their scores imply: 1 when
    the first scores higher, 0 when lower, 0.5 when equal (a tie); and the group of each pair."""
    pairs, groups = [], []
    for g in np.unique(group):
        idx = np.flatnonzero(group == g)
        a, b = np.triu_indices(len(idx), k=1)
        pairs.append(np.column_stack([idx[a], idx[b]]))
        groups.append(np.full(len(a), g))
    pairs_ = np.vstack(pairs)
    sa, sb = score[pairs_[:, 0]], score[pairs_[:, 1]]
    return pairs_, np.where(sa > sb, 1.0, np.where(sa < sb, 0.0, 0.5)), np.concatenate(groups)


def train_models(cfg: RejectionConfig, world) -> dict[str, Any]:
    """Fit each ``[models.NAME]`` on a fresh training sample of the world (AI attribute labels)."""
    from steerstats.models import make_model

    sample = world.sample(cfg.train.n, cfg.train.seed)
    models = {}
    for name, model_spec in cfg.models.items():
        spec = config_table(model_spec)  # the keys given: the constructor's own defaults apply to the rest
        kind = spec.pop("kind", None)
        attrs = tuple(spec.pop("attributes", ()))
        spec.setdefault("random_state", cfg.seed)
        if "hidden" in spec:
            spec["hidden"] = tuple(spec["hidden"])
        if kind == "coarse":
            model = make_model(kind, **spec).fit(sample.embeddings, sample.aggregate, groups=sample.group)
        elif kind == "bradley_terry":
            from steerstats.models.pairwise import BradleyTerryRewardModel

            pairs, outcome, groups = within_group_pairs(np.asarray(sample.aggregate, float), np.asarray(sample.group))
            model = BradleyTerryRewardModel(**spec).fit(sample.embeddings, pairs, outcome, groups=groups)
        elif kind == "cbm":
            if not attrs:
                raise ConfigError(f"[models.{name}] a cbm needs 'attributes'")
            unknown = [a for a in attrs if a not in world.attribute_names]
            if unknown:
                raise ConfigError(f"[models.{name}] unknown attributes {unknown}")
            model = make_model(kind, attribute_names=attrs, **spec).fit(
                sample.embeddings, sample.aggregate, concepts=sample.attributes(attrs), groups=sample.group
            )
        else:
            raise ConfigError(f"[models.{name}] kind must be 'coarse', 'cbm' or 'bradley_terry', got {kind!r}")
        models[name] = model
    return models


def make_candidates(cfg: RejectionConfig, world) -> Candidates:
    g = cfg.generate
    if g.backend == "synthetic":
        from steerstats.generate.synthetic import SyntheticBackend

        prompts = [f"p{i:04d}" for i in range(g.n_prompts)]
        return SyntheticBackend(world).generate(prompts, g.n_per_prompt, g.seed)
    if g.backend == "pool":
        from steerstats.generate.pool import PoolBackend

        if not g.path:
            raise ConfigError("[generate] backend 'pool' needs 'path'")
        pool = PoolBackend.from_file(g.path, attributes=list(g.attributes))
        return pool.generate(pool.prompts, g.n_per_prompt, g.seed)
    raise ConfigError(f"[generate] backend must be 'synthetic' or 'pool', got {g.backend!r}")


def truth_tables(candidates: Candidates, attributes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(oracle truth, graded truth) per candidate: aggregate = expected aggregate; attributes as
    known binary values (oracle) and as latent strengths (simulated raters) when there is a latent."""
    if candidates.aggregate is None:
        raise ConfigError("oracle/simulated judges and best-of-N need candidates with a known aggregate")
    oracle = pd.DataFrame({AGGREGATE: candidates.aggregate})
    graded = oracle.copy()
    for a in attributes:
        oracle[a] = candidates.attributes[a].to_numpy(dtype=float)
        graded[a] = oracle[a]
    if candidates.latent is not None and candidates.attributes is not None and candidates.latent.ndim == 2:
        names = list(candidates.attributes.columns)
        for a in attributes:
            graded[a] = candidates.latent[:, names.index(a)]
    return oracle, graded


def side_by_side_table(votes: pd.DataFrame, a: str, b: str, dims: list[str], *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    """Collins et al. Table 1 with cluster-bootstrap CIs over prompts."""
    votes = orient_votes(votes, a, b)
    dims = [d for d in dims if (votes["dimension"] == d).any()]
    res = cluster_bootstrap(vote_shares(votes, dims), votes, "prompt", n_boot=n_boot, seed=seed, level=level)
    k = 4
    names = [f"pct_prefer_{a}", f"pct_prefer_{b}", "pct_unsure", f"{a}_minus_{b}"]
    rows = []
    for i, d in enumerate(dims):
        sub = votes[votes["dimension"] == d]
        row: dict[str, Any] = {"dimension": d}
        for j, name in enumerate(names):
            row[name] = res.estimate[i * k + j]
            row[f"{name}_se"] = res.se[i * k + j]
            row[f"{name}_ci_low"] = res.ci_low[i * k + j]
            row[f"{name}_ci_high"] = res.ci_high[i * k + j]
        row["n_votes"] = len(sub)
        row["n_prompts"] = sub["prompt"].nunique()
        rows.append(row)
    return pd.DataFrame(rows)


def _mean_table(data: pd.DataFrame, value: str, group: str, *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    res, levels = grouped_mean_bootstrap(data, value, group, "prompt", n_boot=n_boot, seed=seed, level=level)
    return pd.DataFrame(
        {group: levels, "mean": res.estimate, "mean_se": res.se, "mean_ci_low": res.ci_low, "mean_ci_high": res.ci_high}
    )


def best_of_n_table(curves: pd.DataFrame, *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    data = curves.assign(key=curves["scorer"] + "|" + curves["n"].astype(str).str.zfill(4))
    out = _mean_table(data, "expected_truth", "key", n_boot=n_boot, seed=seed, level=level)
    parts = out.pop("key").str.split("|", expand=True)
    out.insert(0, "scorer", parts[0])
    out.insert(1, "n", parts[1].astype(int))
    order = {s: i for i, s in enumerate(pd.unique(curves["scorer"]))}
    return out.sort_values(["scorer", "n"], key=lambda c: c.map(order) if c.name == "scorer" else c).reset_index(drop=True)


def pick_truth_table(pairs: pd.DataFrame, truth: np.ndarray, a: str, b: str, *, n_boot: int, seed: int, level: float) -> pd.DataFrame:
    """Mean true reward of each model's picks and the paired difference A - B, per prompt."""
    ta, tb = truth[pairs["pos_a"].to_numpy()], truth[pairs["pos_b"].to_numpy()]
    long = pd.concat(
        [
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": f"truth_{a}", "v": ta}),
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": f"truth_{b}", "v": tb}),
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": f"{a}_minus_{b}", "v": ta - tb}),
            pd.DataFrame({"prompt": pairs["prompt"], "quantity": "same_pick", "v": pairs["same"].astype(float)}),
        ],
        ignore_index=True,
    )
    out = _mean_table(long, "v", "quantity", n_boot=n_boot, seed=seed, level=level)
    order = [f"truth_{a}", f"truth_{b}", f"{a}_minus_{b}", "same_pick"]
    return out.set_index("quantity").loc[order].reset_index()


def accuracy_table(candidates: Candidates, scores: pd.DataFrame, truth: np.ndarray, cfg, *, n_boot: int, seed: int,
                   level: float) -> pd.DataFrame:
    """Tie-aware pairwise accuracy of every scorer (``cfg``: the config's ``accuracy`` section)."""
    frames, eps = [], {}
    eps_cfg = cfg.score_epsilon
    for name in scores.columns:
        pairs, e = tie_aware_accuracy(
            candidates, scores[name].to_numpy(), truth,
            truth_band=float(cfg.truth_band), score_epsilon=eps_cfg if eps_cfg == "calibrate" else float(eps_cfg),
        )
        frames.append(pairs.assign(scorer=name))
        eps[name] = e
    data = pd.concat(frames, ignore_index=True)
    out = _mean_table(data, "correct", "scorer", n_boot=n_boot, seed=seed, level=level)
    out = out.set_index("scorer").loc[list(scores.columns)].reset_index()
    out.insert(1, "score_epsilon", out["scorer"].map(eps))
    return out.rename(columns={"mean": "accuracy", "mean_se": "accuracy_se"})


@dataclass
class RejectionResult:
    """What :func:`run_rejection` computed: the tables as frames (None where the candidates have no
    known truth), with the effective config."""

    config: RejectionConfig
    a: str
    b: str
    side_by_side: dict[str, pd.DataFrame]  # judge -> Collins et al. Table 1
    pick_truth: pd.DataFrame | None
    best_of_n: pd.DataFrame | None
    pairwise_accuracy: pd.DataFrame | None
    n_candidates: int
    n_prompts: int
    n_same_pick: int
    seconds: float

    def inputs(self) -> list[str]:
        """The files the analysis read (a candidate pool, human judgements)."""
        return [p for p in (self.config.generate.path, self.config.judges.human) if p]


def run_rejection(cfg: RejectionConfig | Mapping[str, Any], *, scorers: Mapping[str, Any] | None = None) -> RejectionResult:
    """Run the configured analysis (nothing is written: :mod:`steerstats.report.rejection`).

    ``cfg``: a :data:`RejectionConfig` (:func:`load_config`) or a TOML-like table (checked here).
    ``scorers``: extra callables ``Candidates -> scores`` (or fitted reward models) to evaluate
    next to the configured models.
    """
    t0 = time.perf_counter()
    if isinstance(cfg, Mapping):
        cfg = check_config(cfg)
    seed, n_boot, level = cfg.seed, cfg.n_boot, cfg.level
    world = build_world(cfg)
    models = train_models(cfg, world) if cfg.models else {}
    all_scorers: dict[str, Any] = {**models, **(scorers or {})}
    candidates = make_candidates(cfg, world)
    check_pool_size(cfg, int(pd.Series(candidates.prompt).value_counts().min()), best_of_n=candidates.aggregate is not None)
    a, b = cfg.compare.a, cfg.compare.b
    for m in (a, b):
        if m not in all_scorers:
            raise ConfigError(f"[compare] model '{m}' is not among the scorers {sorted(all_scorers)}")
    attributes = list(cfg.compare.attributes) or _default_attributes(candidates)
    scores = score_candidates(candidates, all_scorers)
    side_by_side: dict[str, pd.DataFrame] = {}
    pick_truth = bon = acc = None
    has_truth = candidates.aggregate is not None

    # side by side
    picks = top_picks(candidates, scores, cfg.compare.n)
    pairs = pair_frame(picks, a, b)
    distinct = pairs[~pairs["same"]].reset_index(drop=True)
    judges = cfg.judges
    dims = [AGGREGATE, *attributes]
    sources: dict[str, pd.DataFrame] = {}
    needs_truth = sorted({"oracle", "simulated"} & set(judges.kinds))
    if needs_truth and not has_truth:
        raise ConfigError(
            f"judges {needs_truth} need candidates with a known aggregate, and these have none "
            "(a pool without an 'aggregate' column?): set [judges] kinds = [\"human\"]"
        )
    if has_truth:
        oracle_truth, graded = truth_tables(candidates, attributes)
        if "oracle" in judges.kinds:
            sources["oracle"] = oracle_judgements(distinct, oracle_truth, a, b, band={AGGREGATE: float(judges.oracle_band)})
        if "simulated" in judges.kinds:
            noise = {d: float(judges.noise_sd_attribute) for d in attributes} | {AGGREGATE: float(judges.noise_sd_aggregate)}
            band = {d: float(judges.band_attribute) for d in attributes} | {AGGREGATE: float(judges.band_aggregate)}
            sources["simulated"] = simulated_judgements(
                distinct, graded, a, b, n_raters=judges.n_raters, noise_sd=noise, band=band, seed=seed
            )
    if "human" in judges.kinds or judges.human:
        if not judges.human:
            raise ConfigError("[judges] kind 'human' needs 'human = \"path/to/judgements.csv\"'")
        votes = read_judgements(judges.human)
        check_models(votes, a, b, judges.human)
        sources["human"] = votes
        dims += [d for d in pd.unique(votes["dimension"]) if d not in dims]
    for judge, votes in sources.items():
        if not votes.empty:
            side_by_side[judge] = side_by_side_table(votes, a, b, dims, n_boot=n_boot, seed=seed, level=level)

    if has_truth:
        truth = candidates.aggregate
        pick_truth = pick_truth_table(pairs, truth, a, b, n_boot=n_boot, seed=seed, level=level)
        curve_scorers = dict(all_scorers)
        baselines = list(cfg.best_of_n.baselines)
        if "oracle" in baselines:
            curve_scorers["oracle"] = lambda c: np.asarray(c.aggregate, dtype=float)
        if "random" in baselines:
            curve_scorers["random"] = random_scorer(seed)
        curve_scores = score_candidates(candidates, curve_scorers)
        curves = best_of_n(candidates, curve_scores, truth, list(cfg.best_of_n.ns))
        bon = best_of_n_table(curves, n_boot=n_boot, seed=seed, level=level)
        acc = accuracy_table(candidates, scores, truth, cfg.accuracy, n_boot=n_boot, seed=seed, level=level)

    return RejectionResult(
        config=cfg, a=a, b=b, side_by_side=side_by_side, pick_truth=pick_truth, best_of_n=bon,
        pairwise_accuracy=acc, n_candidates=len(candidates), n_prompts=int(pairs.shape[0]),
        n_same_pick=int(pairs["same"].sum()), seconds=time.perf_counter() - t0,
    )


def _default_attributes(candidates: Candidates) -> list[str]:
    if candidates.attributes is None:
        return []
    from steerstats.data.simulate.feedback import QUALITY_ATTRIBUTES

    cols = list(candidates.attributes.columns)
    quality = [a for a in cols if a in QUALITY_ATTRIBUTES]
    return quality or cols
