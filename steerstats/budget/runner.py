"""The budget sweep: reward models x training sizes x seeds, resumable run by run.

Split (fixed for the whole sweep): a share ``test_fraction`` of the *groups* is held out
(``GroupShuffleSplit(random_state=data.seed)``). For seed s the training groups are shuffled with
``default_rng(s)`` and the first N rows taken, so sizes are nested within a seed and every arm of a
(N, s) cell sees the same examples (paired comparisons). Each run reports the held-out ROC-AUC with
a cluster-bootstrap interval over test groups; the bootstrap draws are the same for every run (seed
``data.seed``), so replicates of different runs are paired too.

Every finished run is appended at once to ``results.jsonl`` (one JSON line, written with a single
``write`` + ``fsync``). Re-running the same config skips runs whose key and fingerprint are already
there; a line torn by a kill is dropped on the next start. A CBM run also records its
test-time intervention curves (held-out AUC with k = 0..M attributes set to their labels, most
uncertain first and in random order).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import GroupShuffleSplit

from steerstats._io import append_jsonl, check_output_dir, mark_output_dir, read_jsonl
from steerstats.budget.auc import auc_with_ci
from steerstats.budget.config import Arm, BudgetConfig, attribute_set
from steerstats.budget.costs import run_cost
from steerstats.data.feedback_io import FeedbackData, feedback_from_sample, load_feedback
from steerstats.data.loaders import FEEDBACK_DATASETS
from steerstats.data.simulate.feedback import FeedbackWorld, feedback_world_config
from steerstats.errors import ConfigError, InputError
from steerstats.models.interventions import ORDERS, intervention_curve
from steerstats.models.persistence import KINDS, make_model
from steerstats.models.training import training_capacity

RESULTS = "results.jsonl"


@dataclass(frozen=True)
class Split:
    train: FeedbackData
    test: FeedbackData


def load_data(config: BudgetConfig) -> FeedbackData:
    """The sweep's data: a synthetic world's sample, a feedback dataset (``tifa160``: see
    :func:`steerstats.feedback.tifa160_feedback`) or a user's feedback table."""
    d = config.data
    if d["source"] == "synthetic":
        world = FeedbackWorld(feedback_world_config(d.get("world", {})))
        return feedback_from_sample(world.sample(int(d.get("n", 10000)), int(d.get("seed", 0))))
    if d["source"] in FEEDBACK_DATASETS:
        from steerstats.data import load_study
        from steerstats.feedback import tifa160_feedback

        return tifa160_feedback(load_study(d["source"], d.get("data_dir")), threshold=float(d.get("threshold", 4.0)),
                                embedder=str(d.get("embedder", "minilm")), seed=int(d.get("seed", 0)),
                                cache_dir=d.get("cache_dir"))
    labels = {"aggregate": d.get("aggregate"), "rules": d.get("attributes"), "ratings": d.get("ratings"),
              "aggregation": d.get("aggregation", "mean")}
    if "text" not in d:
        return load_feedback(d["source"], embeddings=d.get("embeddings"), **labels)
    # labels first (cheap, every error located), then the embedding of the text column
    from dataclasses import replace

    from steerstats.data.user_table import read_user_table

    frame = read_user_table(d["source"], what="feedback table", empty_as_missing=True)
    data = load_feedback(d["source"], embeddings=np.zeros((len(frame), 1)), exclude=(d["text"],), **labels)
    return replace(data, embeddings=_embed_text_column(frame, d).astype(np.float32))


def _embed_text_column(frame, d: dict[str, Any]) -> np.ndarray:
    """The user table's ``text`` column embedded by ``embedder`` (default minilm; cached in cache_dir)."""
    from steerstats.features.cache import fit_and_embed

    column = d["text"]
    if column not in frame.columns:
        raise InputError("text column missing", file=d["source"], column=column)
    empty = frame[column].isna().to_numpy() | (frame[column].astype(str).str.strip() == "").to_numpy()
    if empty.any():
        raise InputError("empty text", file=d["source"], row=int(np.argmax(empty)) + 1, column=column)
    return fit_and_embed(str(d.get("embedder", "minilm")), frame[column].astype(str).tolist(),
                         seed=int(d.get("seed", 0)), cache_dir=d.get("cache_dir"))


def make_split(data: FeedbackData, config: BudgetConfig) -> Split:
    """Fixed grouped train/test split of the data (see the module docstring)."""
    frac = float(config.data.get("test_fraction", 0.25))
    splitter = GroupShuffleSplit(n_splits=1, test_size=frac, random_state=int(config.data.get("seed", 0)))
    tr, te = next(splitter.split(np.zeros(len(data)), groups=data.group))
    return Split(data.take(np.sort(tr)), data.take(np.sort(te)))


def training_rows(train: FeedbackData, n: int, seed: int) -> np.ndarray:
    """The first ``n`` rows after shuffling whole groups with ``default_rng(seed)``."""
    if n > len(train):
        raise ConfigError(f"training size {n} exceeds the {len(train)} training rows")
    groups, codes = np.unique(train.group, return_inverse=True)
    rank = np.random.default_rng(seed).permutation(len(groups))[codes]
    order = np.lexsort((np.arange(len(train)), rank))
    return order[:n]


def run_key(arm: Arm, n: int, seed: int) -> str:
    return f"{arm.name}|n={n}|seed={seed}"


def planned_runs(config: BudgetConfig) -> list[tuple[Arm, int, int]]:
    """All (arm, N, seed) runs, small N first so early results cover the whole curve."""
    return [(arm, n, s) for n in sorted(config.sizes) for s in config.seeds for arm in config.arms]


def read_results(path: Path) -> list[dict[str, Any]]:
    """Finished runs in ``results.jsonl``; a torn last line (killed mid-write) is removed."""
    return read_jsonl(path)


def append_result(path: Path, record: dict[str, Any]) -> None:
    """Append one run's record to ``results.jsonl`` (one write, flushed to disk)."""
    append_jsonl(path, record)


def attribute_design(values: np.ndarray) -> np.ndarray:
    """Features of the attributes-only arm: each attribute with missing (not elicited) set to 0, next
    to a 0/1 indicator that it is missing (the stated imputation; no row is dropped)."""
    values = np.asarray(values, float)
    missing = np.isnan(values)
    return np.hstack([np.where(missing, 0.0, values), missing.astype(float)])


def _attributes_only(train, test, attrs: tuple[str, ...], weight_boot: int, seed: int,
                     levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, np.ndarray | None]:
    """Stage 2 alone on the OBSERVED attributes (no inputs, no stage 1): L2 logistic regression of the
    aggregate; how much of the human judgement the attributes carry at all. Returns the test scores,
    the attributes' weights, the fit's seconds and (``weight_boot`` > 0) the weights' cluster-bootstrap
    replicates over training groups."""
    from sklearn.linear_model import LogisticRegression

    from steerstats.models.concept_bottleneck import logistic_weight_bootstrap

    t0 = time.perf_counter()
    design = attribute_design(train.columns(attrs))
    model = LogisticRegression(C=1.0, max_iter=2000).fit(design, train.aggregate)
    seconds = time.perf_counter() - t0
    reps = None
    if weight_boot:
        reps = logistic_weight_bootstrap(model, design, train.aggregate, train.group, n_boot=weight_boot,
                                         seed=seed, levels=levels)[:, : len(attrs)]
    return model.decision_function(attribute_design(test.columns(attrs))), model.coef_[0][: len(attrs)], seconds, reps


def fit_one(
    config: BudgetConfig, split: Split, arm: Arm, n: int, seed: int
) -> dict[str, Any]:
    """Train one arm on N examples (seed) and score it on the held-out split."""
    attrs = attribute_set(arm.attributes, split.train.attribute_names) if arm.kind in ("cbm", "cem", "attributes") else ()
    rows = training_rows(split.train, n, seed)
    train = split.train.take(rows)
    # the weights' bootstrap draws over the whole training pool's groups with the data seed, so runs
    # of every training seed share their draws (their replicate-wise mean keeps the shared data's
    # variability, as the AUC's shared test-group draws do)
    pool, weight_seed = np.unique(split.train.group), int(config.data.get("seed", 0))
    if arm.kind == "attributes":
        if not attrs:
            raise ConfigError(f"arm {arm.name!r}: kind 'attributes' needs attributes")
        score, weights, fit_seconds, reps = _attributes_only(train, split.test, attrs, config.weight_boot,
                                                             weight_seed, pool)
        return _record(config, split, arm, n, seed, attrs, score, best_epoch=-1, fit_seconds=fit_seconds,
                       weights=dict(zip(attrs, map(float, weights), strict=True)), weight_replicates=reps)
    accepted = KINDS[arm.kind]().get_params()
    shared = {k: v for k, v in config.model.items() if k in accepted}
    params = {**shared, **arm.params, "random_state": int(seed)}
    if arm.kind in ("cbm", "cem"):
        params.setdefault("attribute_names", attrs)
    model = make_model(arm.kind, **params)
    t0 = time.perf_counter()
    # every size of the sweep pads to the largest one's capacity: one compiled program per network
    # shape for the whole sweep (padding does not change a result: steerstats.models.training)
    with training_capacity(max(config.sizes)):
        model.fit(
            train.embeddings,
            train.aggregate,
            train.columns(attrs) if attrs else None,
            groups=train.group,
        )
    fit_seconds = time.perf_counter() - t0
    test = split.test
    score = model.decision_function(test.embeddings)
    weights = dict(zip(attrs, (float(w) for w in model.aggregator_weights_), strict=True)) if arm.kind == "cbm" else None
    reps = None
    if arm.kind == "cbm" and model.mode != "joint" and config.weight_boot:
        reps = model.aggregator_bootstrap(train.embeddings, train.aggregate, train.columns(attrs), train.group,
                                          n_boot=config.weight_boot, seed=weight_seed, levels=pool)
    record = _record(config, split, arm, n, seed, attrs, score, best_epoch=int(model.best_epoch_),
                     fit_seconds=fit_seconds, weights=weights, weight_replicates=reps)
    if arm.kind in ("cbm", "cem"):
        # test-time interventions: the held-out AUC with k of the attributes set to their labels
        record["interventions"] = {
            order: [
                float(a)
                for a in intervention_curve(
                    model, test.embeddings, test.aggregate, test.columns(attrs),
                    order=order, n_repeats=3, seed=int(seed),
                )["auc"]
            ]
            for order in ORDERS
        }
    return record


def _record(config: BudgetConfig, split: Split, arm: Arm, n: int, seed: int, attrs: tuple[str, ...],
            score: np.ndarray, *, best_epoch: int, fit_seconds: float, weights: dict[str, float] | None,
            weight_replicates: np.ndarray | None = None) -> dict[str, Any]:
    """One run's results.jsonl record: held-out AUC with its cluster-bootstrap replicates."""
    test = split.test
    boot = auc_with_ci(
        score,
        test.aggregate,
        test.group,
        n_boot=config.n_boot,
        seed=int(config.data.get("seed", 0)),
        level=config.level,
    )
    record = {
        "key": run_key(arm, n, seed),
        "fingerprint": config.fingerprint(arm),
        "arm": arm.name,
        "kind": arm.kind,
        "attributes": list(attrs),
        "n_attributes": len(attrs),
        "n": int(n),
        "seed": int(seed),
        "cost": run_cost(n, attrs, config.cost, config.costs),
        "auc": float(boot.estimate[0]),
        "ci_low": float(boot.ci_low[0]),
        "ci_high": float(boot.ci_high[0]),
        "replicates": [round(float(r), 6) for r in boot.replicates[:, 0]],
        "best_epoch": best_epoch,
        "fit_seconds": round(fit_seconds, 3),
    }
    if weights is not None:
        record["aggregator_weights"] = weights
    if weight_replicates is not None:  # (B, M), columns in "attributes" order: stage 2 refit on resampled groups
        record["aggregator_weight_replicates"] = [None if np.isnan(r).any() else np.round(r, 6).tolist()
                                                  for r in weight_replicates]  # null: a one-class resample
    return record


def iter_pending(config: BudgetConfig, done: set[str]) -> Iterator[tuple[Arm, int, int]]:
    for arm, n, s in planned_runs(config):
        if f"{run_key(arm, n, s)}#{config.fingerprint(arm)}" not in done:
            yield arm, n, s


def run_budget(
    config: BudgetConfig,
    out: str | Path,
    *,
    max_runs: int | None = None,
    progress: bool = True,
    executor: Any = None,
    on_record: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every pending (arm, N, seed) of ``config``; returns the finished runs of this config.

    ``max_runs`` stops after that many new runs (what a kill does, but clean) — re-running picks up
    from there. ``executor`` (:mod:`steerstats._executor`; default: in this process) runs the runs,
    each a pure :func:`fit_one`; this driver alone appends their records, as they finish.
    ``on_record`` is called after each record is written.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    inputs = [config.source_file, config.data["source"] if config.data["source"] != "synthetic" else None,
              config.data.get("embeddings")]
    check_output_dir(out, "budget", inputs=inputs)
    path = out / RESULTS
    done = {f"{r['key']}#{r['fingerprint']}" for r in read_results(path)}
    pending = list(iter_pending(config, done))
    if max_runs is not None:
        pending = pending[: max(0, int(max_runs))]
    if pending:
        split = make_split(load_data(config), config)
        if max(config.sizes) > len(split.train):
            raise ConfigError(
                f"largest training size {max(config.sizes)} exceeds the {len(split.train)} rows "
                "of the training split"
            )
        mark_output_dir(out, "budget")  # only once the inputs are known to be good
        from steerstats._executor import LocalExecutor

        executor = executor or LocalExecutor()
        bar = tqdm(total=len(pending), desc=f"budget {config.name} ({executor.name})", unit="run", disable=not progress)
        for _, record in executor.map(_fit_task, pending, shared={"config": config, "split": split}, label="budget"):
            append_result(path, record)
            bar.set_postfix_str(f"{record['arm']} N={record['n']} seed={record['seed']}")
            bar.update()
            if on_record is not None:
                on_record(record)
        bar.close()
    return finished_runs(config, out)


def _fit_task(task: tuple[Arm, int, int], *, config: BudgetConfig, split: Split) -> dict[str, Any]:
    arm, n, seed = task
    return fit_one(config, split, arm, n, seed)


def finished_runs(config: BudgetConfig, out: str | Path) -> list[dict[str, Any]]:
    """The runs in ``out/results.jsonl`` that belong to ``config`` (key and fingerprint match)."""
    wanted = {f"{run_key(a, n, s)}#{config.fingerprint(a)}" for a, n, s in planned_runs(config)}
    return [
        r for r in read_results(Path(out) / RESULTS) if f"{r['key']}#{r['fingerprint']}" in wanted
    ]
