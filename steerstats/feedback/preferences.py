"""Preference studies (qa-feedback, Wu et al. 2023): what fine-grained errors say about human
preferences, and coarse vs concept-bottleneck Bradley-Terry reward models on held-out questions.

* :func:`error_type_table` - for each annotated attribute of answer 1 (an error type present, a
  kind of missing information), answer 1's win share against answers 2-4 when it is present and
  when absent (a tie counts half), their difference, and the AUC of "attribute absent" as a
  predictor of answer 1 being preferred (non-tied pairs; for a 0/1 attribute
  AUC = 1/2 + (b - a)/2 with a, b the attribute's rate among answer 1's wins and losses). Intervals:
  percentile cluster bootstrap over questions (one annotation and three comparisons per question).
* :func:`run_preference_experiment` - reward models trained on the preferences of a growing number
  of annotated questions and scored on held-out questions' non-tied pairs: ``bt`` (Bradley-Terry on
  the answers' text embeddings) and ``cbm_bt`` (stage 1: one head per error attribute, trained on
  answer 1 of the training questions, the only annotated answer; stage 2: a linear Bradley-Terry
  model on the concept probabilities). Per held-out pair: accuracy (non-tied pairs; a predicted tie
  counts 1/2), tie-aware accuracy (all pairs; the model says "tie" when |d| <= epsilon, epsilon
  chosen on validation questions) and the log-likelihood log sigmoid(+-d) of the observed order;
  each averaged over seeds per pair, then bootstrapped over test questions (paired across arms:
  the same replicates).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steerstats.config import Field, build_config, check_n_boot, config_table, config_type
from steerstats.data.qa_feedback import PreferenceStudy
from steerstats.errors import ConfigError
from steerstats.uncertainty.bootstrap import cluster_counts


def answer1_comparisons(study: PreferenceStudy) -> pd.DataFrame:
    """Answer 1 against answers 2-4: question_id, other, win (1 / 0 / 0.5 tie)."""
    p = study.preferences
    first = p[p["first"] == 1]
    return pd.DataFrame({"question_id": first["question_id"].to_numpy(), "other": first["second"].to_numpy(),
                         "win": first["outcome"].to_numpy()})


def _question_weights(codes: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(B, rows) cluster-bootstrap weights over questions."""
    g = int(codes.max()) + 1
    return cluster_counts(g, n_boot, np.random.default_rng(seed)).astype(float)[:, codes]


def attribute_columns(study: PreferenceStudy) -> list[str]:
    return [c for c in study.attributes.columns if c.startswith(("err_", "miss_"))] + ["any_error"]


def error_type_table(study: PreferenceStudy, *, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """One row per attribute of answer 1 (module docstring)."""
    check_n_boot(n_boot)
    comp = answer1_comparisons(study).merge(study.attributes, on="question_id", validate="many_to_one")
    codes = pd.factorize(comp["question_id"])[0]
    w = np.vstack([np.ones(len(comp)), _question_weights(codes, n_boot, seed)])  # row 0: the estimate
    win = comp["win"].to_numpy()
    decided = (win != 0.5).astype(float)
    alpha = (1 - level) / 2
    rows = []
    for col in attribute_columns(study):
        x = comp[col].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            present = (w * x * win).sum(1) / (w * x).sum(1)
            absent = (w * (1 - x) * win).sum(1) / (w * (1 - x)).sum(1)
            wins, losses = w * decided * (win == 1), w * decided * (win == 0)
            a = (wins * x).sum(1) / wins.sum(1)
            b = (losses * x).sum(1) / losses.sum(1)
        auc = 0.5 + 0.5 * (b - a)
        diff = present - absent
        row = {"attribute": col, "n_questions_present": int(study.attributes[col].sum()),
               "share_present": float(study.attributes[col].mean())}
        for name, values in (("win_share_present", present), ("win_share_absent", absent), ("difference", diff),
                             ("auc_absent_predicts_win", auc)):
            lo, hi = np.nanquantile(values[1:], [alpha, 1 - alpha])
            row |= {name: values[0], f"{name}_ci_low": lo, f"{name}_ci_high": hi}
        rows.append(row)
    out = pd.DataFrame(rows)
    out["cluster"] = "question_id"
    return out


# ------------------------------------------------------------------------------- the experiment

@dataclass(frozen=True)
class PreferenceExperiment:
    curve: pd.DataFrame  # per arm x n_questions: accuracy with CI, cost
    comparison: pd.DataFrame  # at each size: cbm_bt - bt with the paired CI
    per_pair: pd.DataFrame  # every test pair's seed-averaged correctness per arm and size
    config: dict[str, Any] = field(default_factory=dict)


ARMS = ("bt", "cbm_bt")


def pairwise_correct(d: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """1 where the reward difference d = r(first) - r(second) orders a non-tied pair as the humans
    did, 0 where it reverses it, 1/2 where the model ties (d == 0: a coin flip's expectation)."""
    return np.where(d == 0, 0.5, ((d > 0) == (outcome == 1)).astype(float))


def tie_aware_correct(d: np.ndarray, outcome: np.ndarray, epsilon: float) -> np.ndarray:
    """Over all pairs, ties included: the model predicts a tie when |d| <= epsilon, else the order
    of d; 1 where that matches the human outcome (1, 0 or 0.5 = tie), else 0."""
    tie = np.abs(d) <= epsilon
    return np.where(outcome == 0.5, tie, ~tie & ((d > 0) == (outcome == 1))).astype(float)


def tie_threshold(d: np.ndarray, outcome: np.ndarray, grid: int = 41) -> float:
    """The epsilon maximising tie-aware accuracy on validation pairs, over 0 and quantiles of |d|
    (the smallest epsilon among equals)."""
    candidates = np.unique(np.r_[0.0, np.quantile(np.abs(d), np.linspace(0, 0.6, grid))])
    scores = [tie_aware_correct(d, outcome, e).mean() for e in candidates]
    return float(candidates[int(np.argmax(scores))])


def _pairs_of(study: PreferenceStudy, questions: Sequence[str], index: Mapping[str, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    p = study.preferences[study.preferences["question_id"].isin(set(questions))]
    a = np.array([index[f"{q}|{k}"] for q, k in zip(p["question_id"], p["first"], strict=True)])
    b = np.array([index[f"{q}|{k}"] for q, k in zip(p["question_id"], p["second"], strict=True)])
    return np.column_stack([a, b]), p["outcome"].to_numpy(), p["question_id"].to_numpy()


def _fit_arm(arm: str, X: np.ndarray, pairs: np.ndarray, outcome: np.ndarray, concept_rows: np.ndarray,
             concepts: np.ndarray, model: Mapping[str, Any], seed: int):
    """A fitted scorer: items -> reward."""
    import jax

    from steerstats.models.pairwise import BradleyTerryRewardModel
    from steerstats.models.training import TrainSpec, apply, train

    kw = {"epochs": int(model["epochs"]), "learning_rate": float(model["learning_rate"]),
          "batch_size": int(model["batch_size"]), "ties": str(model["ties"]), "random_state": seed}
    if arm == "bt":
        bt = BradleyTerryRewardModel(hidden=tuple(model["hidden"]), **kw).fit(X, pairs, outcome)
        return bt.decision_function
    spec = TrainSpec(hidden=tuple(model["hidden"]), n_out=concepts.shape[1], loss="heads", epochs=int(model["epochs"]),
                     batch_size=int(model["batch_size"]), learning_rate=float(model["learning_rate"]))
    stage1 = train(spec, X[concept_rows], concepts, jax.random.key(seed))

    def probs(items: np.ndarray) -> np.ndarray:
        return 1 / (1 + np.exp(-np.asarray(apply(spec, stage1.params, items), dtype=float)))

    stage2 = BradleyTerryRewardModel(hidden=(), **{**kw, "epochs": int(model["stage2_epochs"]),
                                                   "learning_rate": float(model["stage2_learning_rate"])})
    stage2.fit(probs(X).astype(np.float32), pairs, outcome)
    return lambda items: stage2.decision_function(probs(items).astype(np.float32))


def run_preference_experiment(
    study: PreferenceStudy,
    embeddings: np.ndarray,
    *,
    sizes: Sequence[int],
    seeds: Sequence[int],
    test_fraction: float = 0.2,
    validation_fraction: float = 0.1,
    concepts: Sequence[str] | None = None,
    model: Mapping[str, Any],
    cost_per_pair: float = 1.0,
    cost_fine_grained: float = 5.0,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    progress: bool = True,
) -> PreferenceExperiment:
    """Learning curves of the two arms (module docstring). ``embeddings``: one row per row of
    ``study.answers``. Cost of a training question: 6 pairwise judgements x ``cost_per_pair``, plus
    ``cost_fine_grained`` for the error annotation of answer 1 (the ``cbm_bt`` arm only)."""
    from tqdm.auto import tqdm

    check_n_boot(n_boot)
    answers = study.answers.reset_index(drop=True)
    if len(embeddings) != len(answers):
        raise ConfigError(f"{len(embeddings)} embeddings for {len(answers)} answers")
    index = {aid: i for i, aid in enumerate(answers["answer_id"])}
    questions = study.questions["question_id"].to_numpy()
    order = np.random.default_rng(seed).permutation(len(questions))
    n_test = max(1, round(test_fraction * len(questions)))
    n_val = max(1, round(validation_fraction * len(questions)))
    test_q, val_q, pool = questions[order[:n_test]], questions[order[n_test:n_test + n_val]], questions[order[n_test + n_val:]]
    if max(sizes) > len(pool):
        raise ConfigError(f"sizes: at most {len(pool)} training questions remain after the test and validation "
                          f"splits, asked for {max(sizes)}")
    concept_cols = list(concepts) if concepts else [c for c in study.attributes.columns if c.startswith(("err_", "miss_"))]
    attrs = study.attributes.set_index("question_id")[concept_cols]
    tp, to, tq = _pairs_of(study, test_q, index)
    vp, vo, _ = _pairs_of(study, val_q, index)
    decided = to != 0.5
    X = np.asarray(embeddings, dtype=np.float32)
    metrics: dict[tuple[str, int], dict[str, np.ndarray]] = {}
    bar = tqdm(total=len(ARMS) * len(sizes) * len(seeds), desc="preference models", disable=not progress)
    for n in sizes:
        for arm in ARMS:
            acc, tie_acc, loglik, eps = np.zeros(len(tp)), np.zeros(len(tp)), np.zeros(len(tp)), []
            for s in seeds:
                train_q = pool[np.random.default_rng([seed, int(s)]).permutation(len(pool))[:n]]
                pairs, outcome, _ = _pairs_of(study, train_q, index)
                rows = np.array([index[f"{q}|1"] for q in train_q])
                scorer = _fit_arm(arm, X, pairs, outcome, rows, attrs.loc[train_q].to_numpy(np.float32), model, int(s))
                r = scorer(X)
                d = r[tp[:, 0]] - r[tp[:, 1]]
                e = tie_threshold(r[vp[:, 0]] - r[vp[:, 1]], vo)
                eps.append(e)
                acc += pairwise_correct(d, to)
                tie_acc += tie_aware_correct(d, to, e)
                loglik += -np.logaddexp(0.0, -np.where(to == 1, d, -d))  # log sigmoid of the observed order
                bar.update()
            k = len(seeds)
            metrics[(arm, n)] = {"accuracy": np.where(decided, acc / k, np.nan), "tie_aware_accuracy": tie_acc / k,
                                 "log_lik": np.where(decided, loglik / k, np.nan), "epsilon": np.array(eps)}
    bar.close()
    w = _question_weights(pd.factorize(tq)[0], n_boot, seed + 1)
    alpha = (1 - level) / 2

    def replicates(x: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(x)
        return (w[:, ok] @ x[ok]) / w[:, ok].sum(1)

    rows, comps, per = [], [], []
    names = ("accuracy", "tie_aware_accuracy", "log_lik")
    for n in sizes:
        reps = {(arm, m): replicates(metrics[(arm, n)][m]) for arm in ARMS for m in names}
        for arm in ARMS:
            cost = n * (6 * cost_per_pair + (cost_fine_grained if arm == "cbm_bt" else 0.0))
            row = {"arm": arm, "n_questions": n, "cost": cost}
            for m in names:
                lo, hi = np.nanquantile(reps[(arm, m)], [alpha, 1 - alpha])
                row |= {m: float(np.nanmean(metrics[(arm, n)][m])), f"{m}_ci_low": lo, f"{m}_ci_high": hi}
            row |= {"epsilon_median": float(np.median(metrics[(arm, n)]["epsilon"])), "n_test_pairs": int(decided.sum()),
                    "n_test_pairs_with_ties": len(tp), "n_test_questions": len(set(tq)), "n_seeds": len(seeds),
                    "cluster": "question_id (test)"}
            rows.append(row)
            per.append(pd.DataFrame({"arm": arm, "n_questions": n, "question_id": tq, "first": tp[:, 0], "second": tp[:, 1],
                                     "outcome": to, **{m: metrics[(arm, n)][m] for m in names}}))
        comp = {"n_questions": n, "cluster": "question_id (test)"}
        for m in names:
            diff = reps[("cbm_bt", m)] - reps[("bt", m)]
            lo, hi = np.nanquantile(diff, [alpha, 1 - alpha])
            comp |= {f"{m}_difference": float(np.nanmean(metrics[("cbm_bt", n)][m]) - np.nanmean(metrics[("bt", n)][m])),
                     f"{m}_difference_ci_low": lo, f"{m}_difference_ci_high": hi}
        comps.append(comp)
    return PreferenceExperiment(pd.DataFrame(rows), pd.DataFrame(comps), pd.concat(per, ignore_index=True),
                                {"sizes": list(sizes), "seeds": list(seeds), "test_fraction": test_fraction,
                                 "validation_fraction": validation_fraction, "concepts": concept_cols,
                                 "model": dict(model), "cost_per_pair": cost_per_pair,
                                 "cost_fine_grained": cost_fine_grained, "n_boot": n_boot, "seed": seed})


# ------------------------------------------------------------------------------- config and study

SCHEMA: dict[str, Field] = {
    "seed": Field("int", 0, "seed of the test split, the training subsets and the bootstrap", ge=0),
    "n_boot": Field("int", 2000, "bootstrap replicates over questions", ge=2, le=1_000_000),
    "embedder": Field("str", "minilm", "text embedder of question + answer", choices=("minilm", "tfidf")),
    "cache_dir": Field("str", "", "embedding cache directory (empty: none)"),
    "sizes": Field("list[int]", [50, 100, 200, 350], "numbers of annotated training questions", ge=2, min_items=1),
    "seeds": Field("list[int]", [0, 1, 2], "training seeds per size", ge=0, min_items=1),
    "test_fraction": Field("float", 0.2, "share of questions held out for testing", gt=0, lt=1),
    "validation_fraction": Field("float", 0.1, "share held out to choose the tie threshold epsilon", gt=0, lt=1),
    "concepts": Field("list[str]", [], "attribute columns of stage 1 (empty: every err_ / miss_ column)"),
    "cost": Field("table", {}, "annotation cost per question", fields={
        "per_pair": Field("float", 1.0, "one pairwise judgement (6 per question)", ge=0),
        "fine_grained": Field("float", 5.0, "the error-span annotation of answer 1", ge=0),
    }),
    "model": Field("table", {}, "the reward networks", fields={
        "hidden": Field("list[int]", [64], "hidden widths", ge=1),
        "epochs": Field("int", 30, "epochs", ge=1, le=100_000),
        "learning_rate": Field("float", 1e-3, "Adam learning rate", gt=0),
        "batch_size": Field("int", 64, "minibatch", ge=1),
        "ties": Field("str", "drop", "tie treatment of the Bradley-Terry loss", choices=("drop", "half", "davidson")),
        "stage2_epochs": Field("int", 300, "epochs of the cbm_bt stage 2 (linear Bradley-Terry)", ge=1),
        "stage2_learning_rate": Field("float", 0.05, "its learning rate", gt=0),
    }),
}


#: the typed config of :func:`run_preference_study` (attributes as in :data:`SCHEMA`)
PreferencesConfig = config_type("PreferencesConfig", SCHEMA, module=__name__)


def check_config(table: Mapping[str, Any], *, where: str = "") -> PreferencesConfig:
    """``table`` checked against :data:`SCHEMA`, defaults filled, as a :data:`PreferencesConfig`."""
    from steerstats.config import validate

    return build_config(PreferencesConfig, validate(table, SCHEMA, where=where))


def load_config(path: str | None, overrides: Mapping[str, Any] | None = None) -> PreferencesConfig:
    """The effective config of a TOML file or a shipped one by name (``preferences_qa_feedback``);
    the defaults for ``None``; ``overrides`` (None values ignored) merged in before the check."""
    from steerstats.config import config_source

    table, where = config_source(path, overrides)
    return check_config(table, where=where)


@dataclass(frozen=True)
class PreferenceStudyResult:
    error_types: pd.DataFrame
    experiment: PreferenceExperiment
    config: PreferencesConfig
    n_questions: int


def run_preference_study(study: PreferenceStudy, cfg: PreferencesConfig | Mapping[str, Any], *,
                         progress: bool = True) -> PreferenceStudyResult:
    """Both analyses of the module docstring with the config ``cfg`` (a :data:`PreferencesConfig`, or
    a table checked here)."""
    from steerstats.features.cache import fit_and_embed

    if isinstance(cfg, Mapping):
        cfg = check_config(cfg)
    table = error_type_table(study, n_boot=cfg.n_boot, seed=cfg.seed)
    answers = study.answers.merge(study.questions[["question_id", "question"]], on="question_id", how="left",
                                  validate="many_to_one")
    texts = (answers["question"] + "\n\n" + answers["text"]).tolist()
    embeddings = fit_and_embed(cfg.embedder, texts, seed=cfg.seed, cache_dir=cfg.cache_dir or None)
    experiment = run_preference_experiment(
        study, embeddings, sizes=list(cfg.sizes), seeds=list(cfg.seeds), test_fraction=cfg.test_fraction,
        validation_fraction=cfg.validation_fraction, concepts=list(cfg.concepts) or None,
        model=config_table(cfg.model), cost_per_pair=cfg.cost.per_pair, cost_fine_grained=cfg.cost.fine_grained,
        n_boot=cfg.n_boot, seed=cfg.seed, progress=progress)
    return PreferenceStudyResult(table, experiment, cfg, len(study.questions))
