"""The built-in sections of the steerability report (SPEC section 1, Vafa et al. 2025).

Each section turns a :class:`~steerstats.data.study.Study` into tables (and figures): point
estimates with n and the plain row SEM from :mod:`steerstats.metrics`, cluster-bootstrap SEs from
:mod:`steerstats.report.estimates`, and, for a simulated study, the true values next to them
(``{column}_true``, from ``study.truth``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from steerstats import metrics as M
from steerstats.data.study import Study
from steerstats.report.artifacts import Figure, Table
from steerstats.report.estimates import add_design_se, design_note, order_columns
from steerstats.report.figures import (
    blind_steering_figure,
    similarity_by_attempt_figure,
    similarity_by_model_figure,
)
from steerstats.report.sections import ReportContext

SE_ROW = "`_se` is the plain row SEM (sd/sqrt(n), as printed in the paper); "


def _se_note(context: ReportContext, heads: Mapping, first: str = SE_ROW) -> str:
    return first + design_note(heads, n_boot=context.n_boot, seed=context.seed)


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


def truth_line(table: pd.DataFrame, column: str, se: str) -> str:
    """How many estimates lie within 1.96 SE of the simulation's truth (a synthetic study)."""
    ok = table[[column, se, f"{column}_true"]].dropna()
    inside = int((abs(ok[column] - ok[f"{column}_true"]) <= 1.96 * ok[se]).sum())
    return f"Simulation truth: {inside} of {len(ok)} estimates lie within 1.96 `{se}` of the true value."


def _sem_to_se(frame: pd.DataFrame) -> pd.DataFrame:
    """Metrics call the plain SEM ``*_sem``; report tables call it ``*_se``."""
    return frame.rename(columns={c: c.removesuffix("_mean_sem").removesuffix("_sem") + "_se"
                                 for c in frame.columns if c.endswith("_sem")})


def _cluster_label(head) -> str:
    """Short label of a headline SE for figure legends ('steering-user cluster bootstrap')."""
    from steerstats.report.estimates import ID_NAMES

    who = " x ".join(ID_NAMES.get(f, f) for f in head.factors)
    return f"{who}, CGM two-way" if len(head.factors) == 2 else f"{who} cluster bootstrap"


def _range_line(frame: pd.DataFrame, label: str, column: str, what: str, pooled: str) -> str:
    rows = frame[frame[label] != pooled]
    best, worst = rows.loc[rows[column].idxmax()], rows.loc[rows[column].idxmin()]
    return (
        f"{best[label]} has the highest {what} ({best[column]:.3f}) and {worst[label]} the lowest "
        f"({worst[column]:.3f}), a gap of {best[column] - worst[column]:.3f}"
    )


# ------------------------------------------------------------------------------------ similarity


def similarity_tables(study: Study, context: ReportContext) -> tuple[pd.DataFrame, pd.DataFrame, object]:
    """(similarity_by_model, similarity_by_attempt, the headline SE's design)."""
    s = study.require("steering")
    models = M.cells.levels_of(s["model"])
    by_model = M.similarity_summary(s, column="dreamsim", models=models).rename(
        columns={"mean": "dreamsim_mean", "mean_sem": "dreamsim_sem"}
    )
    clip = M.similarity_summary(s, column="clip_similarity", models=models)
    by_model["clip_mean"], by_model["clip_sem"] = clip["mean"], clip["mean_sem"]
    x = s["dreamsim"].to_numpy(float)
    cells = M.model_cells(s, models)
    for name, attempt in (("dreamsim_first", 1), ("dreamsim_last", 5)):
        masked = cells.mask(s["attempt"].to_numpy() == attempt)
        by_model[f"{name}_mean"] = masked.mean(x)
        by_model[f"{name}_sem"] = M.weighted.row_sem(x, masked.membership)
    by_model = _sem_to_se(by_model)

    def stat(frame: pd.DataFrame, w: np.ndarray | None) -> np.ndarray:
        return np.concatenate(
            [
                M.similarity_by_model(frame, w, column="dreamsim", models=models),
                M.similarity_by_model(frame, w, column="clip_similarity", models=models),
                M.similarity_first_last(frame, w, column="dreamsim", models=models),
            ],
            axis=-1,
        )

    cols = ["dreamsim_mean", "clip_mean", "dreamsim_first_mean", "dreamsim_last_mean"]
    by_model, head = add_design_se(by_model, stat, s, cols, n_boot=context.n_boot, seed=context.seed)
    by_model = add_truth(
        by_model, study, {"dreamsim_mean": "dreamsim_mean_by_model", "clip_mean": "clip_mean_by_model"}, "model"
    )
    by_model = order_columns(by_model, ["model", "n", *cols])

    cells = M.model_attempt_cells(s, models)
    by_attempt = cells.labels.copy()
    by_attempt["n"] = cells.n
    for col, name in (("dreamsim", "dreamsim"), ("clip_similarity", "clip")):
        v = s[col].to_numpy(float)
        by_attempt[f"{name}_mean"] = cells.mean(v)
        by_attempt[f"{name}_se"] = M.weighted.row_sem(v, cells.membership)

    def stat_attempt(frame: pd.DataFrame, w: np.ndarray | None) -> np.ndarray:
        return np.concatenate(
            [
                M.similarity_by_attempt(frame, w, column="dreamsim", models=models),
                M.similarity_by_attempt(frame, w, column="clip_similarity", models=models),
            ],
            axis=-1,
        )

    by_attempt, _ = add_design_se(
        by_attempt, stat_attempt, s, ["dreamsim_mean", "clip_mean"], n_boot=context.n_boot, seed=context.seed
    )
    by_attempt = add_truth(by_attempt, study, {"dreamsim_mean": "dreamsim_mean_by_attempt"}, ["model", "attempt"])
    by_attempt = order_columns(by_attempt, ["model", "attempt", "n", "dreamsim_mean", "clip_mean"])
    return by_model, by_attempt, head


def similarity_section(study: Study, context: ReportContext) -> list:
    by_model, by_attempt, head = similarity_tables(study, context)
    avg = by_model[by_model["model"] == M.AVERAGE].iloc[0]
    line = _range_line(by_model, "model", "dreamsim_mean", "mean DreamSim similarity to the goal", M.AVERAGE)
    line += (
        f"; pooled over all {int(avg['n'])} attempts the mean is {avg['dreamsim_mean']:.3f} "
        f"(row SEM {avg['dreamsim_se']:.4f}, headline SE {avg['dreamsim_se_cluster']:.4f} ({_cluster_label(head)}), "
        f"{avg['dreamsim_se_cluster'] / avg['dreamsim_se']:.1f}x larger; "
        f"goal-cluster SE {avg['dreamsim_se_goal']:.4f})."
    )
    if "dreamsim_mean_true" in by_model.columns:
        line += " " + truth_line(by_model, "dreamsim_mean", "dreamsim_se_cluster")
    first = by_attempt[(by_attempt["model"] == M.AVERAGE) & (by_attempt["attempt"] == 1)].iloc[0]
    last = by_attempt[(by_attempt["model"] == M.AVERAGE) & (by_attempt["attempt"] == 5)].iloc[0]
    line2 = (
        f"Pooled over models, mean DreamSim rises from {first['dreamsim_mean']:.3f} at attempt 1 to "
        f"{last['dreamsim_mean']:.3f} at attempt 5 (+{last['dreamsim_mean'] - first['dreamsim_mean']:.3f})."
    )
    return [
        Table("similarity_by_model", by_model, "Similarity to the goal by model", line, _se_note(context, {"all": head})),
        Table("similarity_by_attempt", by_attempt, "Similarity to the goal by attempt", line2, _se_note(context, {"all": head})),
        Figure("similarity_by_attempt", similarity_by_attempt_figure(by_attempt, _cluster_label(head)), "Similarity per attempt",
               f"Mean DreamSim per attempt and model; the pooled Average with ±1 headline SE ({_cluster_label(head)})."),
        Figure("similarity_by_model", similarity_by_model_figure(by_model, _cluster_label(head)), "Similarity by model",
               f"Mean DreamSim per model with 95% bars from the row SEM and from the headline SE ({_cluster_label(head)})."),
    ]


# ---------------------------------------------------------------------------------- satisfaction


def satisfaction_table(study: Study, context: ReportContext) -> tuple[pd.DataFrame, dict]:
    r = study.require("sat_ratings")
    models = M.cells.levels_of(r["model"])
    table = _sem_to_se(M.satisfaction_summary(r, models=models))
    table = table.rename(columns={"rating_max_mean_se": "rating_max_se"})
    cols = [*M.RATING_STATS, "rating_max_mean"]

    # rating_max: a goal's best rating is no rater-level mean, so raters are not its clusters
    table, head_max = add_design_se(table, lambda f, w: M.rating_max_by_model(f, w, models=models), r,
                                    ["rating_max_mean"], n_boot=context.n_boot, seed=context.seed,
                                    ids=("goal_image", "steering_user_id"))
    table, head = add_design_se(table, lambda f, w: M.satisfaction_by_model(f, w, models=models), r,
                                list(M.RATING_STATS), n_boot=context.n_boot, seed=context.seed)
    table = add_truth(
        table,
        study,
        {
            "rating_mean": "rating_mean_by_model",
            "share_unsatisfied": "share_unsatisfied_by_model",
            "share_very_satisfied": "share_very_satisfied_by_model",
        },
        "model",
    )
    return order_columns(table, ["model", "n", "n_goals", *cols]), {"rating statistics": head, "rating_max_mean": head_max}


def satisfaction_section(study: Study, context: ReportContext) -> list:
    table, heads = satisfaction_table(study, context)
    overall = table[table["model"] == M.OVERALL].iloc[0]
    line = _range_line(table, "model", "rating_mean", "mean 4-point rating", M.OVERALL)
    line += (
        f"; overall {overall['share_unsatisfied']:.0%} of ratings are unsatisfied (<= 2) and "
        f"{overall['share_very_satisfied']:.0%} very satisfied (4); the mean rating moves from "
        f"{overall['first_attempt_mean']:.2f} (first attempt) to {overall['last_attempt_mean']:.2f} (last)."
    )
    note = _se_note(context, heads)
    return [Table("satisfaction_by_model", table, "Satisfaction ratings (4-point) by model", line, note,
                  notes=("rating_max_mean: best rating per (model, goal) over attempts and raters, averaged over goals; its `_se` is over goals.",))]


# ------------------------------------------------------------------------------------ judgements

JUDGEMENTS = {
    "improvement_rate": ("improvement", "last_chosen"),
    "pom1": ("pom1", "ref_chosen"),
    "pom5": ("pom5", "ref_chosen"),
}


def judgement_table(study: Study, context: ReportContext) -> tuple[pd.DataFrame, dict]:
    frames = {name: study.require(attr) for name, (attr, _) in JUDGEMENTS.items()}
    models = sorted(set().union(*(set(f["model"]) for f in frames.values())))
    table = pd.DataFrame({"model": [*models, M.OVERALL]})
    heads: dict = {}
    for name, (_, column) in JUDGEMENTS.items():
        f = frames[name]
        exact = M.majority_rate_exact_summary(f, column=column, models=models)
        part = pd.DataFrame({
            "model": exact["model"],
            f"{name}_n": exact["n"],
            f"{name}_votes": exact["n_votes"],
            name: exact["rate"],
            f"{name}_se": exact["rate_sem"],
        })

        def stat(frame: pd.DataFrame, w: np.ndarray | None, column: str = column) -> np.ndarray:
            return M.majority_rate_exact(frame, w, column=column, models=models)

        # the majority procedure aggregates a goal's raters into votes: goals/users are its clusters
        part, heads[name] = add_design_se(part, stat, f, [name], n_boot=context.n_boot, seed=context.seed,
                                          stems={name: name}, ids=("goal_image", "steering_user_id"))
        part[f"{name}_seeded"] = M.majority_rate_seeded(f, column, seed=context.seed, models=models)["rate"]
        part[f"{name}_share"] = M.judgement_share(f, column=column, models=models)
        part, heads[f"{name}_share"] = add_design_se(
            part, lambda fr, w, column=column: M.judgement_share(fr, w, column=column, models=models), f,
            [f"{name}_share"], n_boot=context.n_boot, seed=context.seed, stems={f"{name}_share": f"{name}_share"},
        )
        table = table.merge(part, on="model", how="left", validate="one_to_one")
    # the simulation's truth is the per-judgement probability: the estimand of the plain share
    truth = {f"{n}_share": f"{n.removesuffix('_rate')}_prob_by_model" for n in JUDGEMENTS}
    table = add_truth(table, study, truth, "model")
    leading = [c for n in JUDGEMENTS for c in (n, f"{n}_seeded", f"{n}_share")]
    stems = {n: n for n in JUDGEMENTS} | {f"{n}_share": f"{n}_share" for n in JUDGEMENTS}
    return order_columns(table, ["model", *leading], stems=stems), heads


def judgements_section(study: Study, context: ReportContext) -> list:
    table, heads = judgement_table(study, context)
    overall = table[table["model"] == M.OVERALL].iloc[0]
    line = _range_line(table, "model", "improvement_rate", "improvement rate", M.OVERALL)
    line += (
        f"; overall the last attempt beats the first in {overall['improvement_rate']:.1%} of majority "
        f"votes, and the goal is preferred to the user's own image for the 1st/5th prompt in "
        f"{overall['pom1']:.1%} / {overall['pom5']:.1%} (prompt-output misalignment)."
    )
    notes = (
        "Rates are the exact expectation of the release's shuffle / chunks-of-3 / majority procedure "
        "(a 1-1 tie counts as False); `_seeded` is one run of that procedure with the report seed; "
        "`_share` is the plain share of yes judgements; `_votes` the number of chunks.",
    )
    note = _se_note(context, heads, "`_se` is the release's SEM over 0/1 votes, sqrt(r(1-r)/(votes-1)) at the exact rate; ")
    note += (" The majority rates' headline leaves raters out: the release's procedure turns a goal's "
             "judgements into chunk votes, so it is not a rater-level mean; the `_share` columns are, and "
             "their headline is two-way when raters cross steering users.")
    return [Table("judgement_rates", table, "Improvement rate and prompt-output misalignment", line, note,
                  notes=notes, se_stems={n: n for n in JUDGEMENTS})]


# -------------------------------------------------------------------------------- blind steering


def blind_steering_table(study: Study, context: ReportContext) -> tuple[pd.DataFrame, object]:
    steering = study.require("steering")
    rows = []
    for k, blind in sorted(study.require("blind_steering").items()):
        goals = M.blind_steering_goals(steering, blind)
        # the blind file's user_score should be the user's first-attempt similarity in steering.csv
        matches = int(np.isclose(goals["user_score"], goals["first"], rtol=0, atol=1e-6).sum())
        est = M.blind_steering_ratio(goals)
        row = {
            "k": k,
            "n_goals": len(goals),
            "n_goals_blind": blind.groupby(["goal_url", "steering_user_id"]).ngroups,
            "n_user_score_matches": matches,
            "human_improvement": est[0],
            "human_improvement_se": goals["human_improvement"].std(ddof=1) / np.sqrt(len(goals)),
            "llm_improvement": est[1],
            "llm_improvement_se": goals["llm_improvement"].std(ddof=1) / np.sqrt(len(goals)),
            "ratio": est[2],
        }
        part = pd.DataFrame([row])
        part, head = add_design_se(
            part, lambda f, w: M.blind_steering_ratio(f, w)[..., 2:], goals, ["ratio"],
            n_boot=context.n_boot, seed=context.seed, stems={"ratio": "ratio"},
        )
        part["ratio_se"] = part["ratio_se_cluster"]  # the ratio has no row SEM: its SE is the headline
        rows.append(part)
    table = pd.concat(rows, ignore_index=True)
    table = add_truth(
        table,
        study,
        {c: ("blind_steering", c) for c in ("human_improvement", "llm_improvement", "ratio")},
        "k",
    )
    table = order_columns(table, ["k", "n_goals", "n_goals_blind", "human_improvement", "llm_improvement", "ratio"],
                          stems={"ratio": "ratio", "human_improvement": "human_improvement",
                                 "llm_improvement": "llm_improvement"})
    return table, head  # the same goals-in-users design for every k


def blind_steering_section(study: Study, context: ReportContext) -> list:
    table, head = blind_steering_table(study, context)
    lo, hi = table.iloc[0], table.iloc[-1]
    line = (
        f"With k = {int(lo['k'])} blind LLM rewrites of the first prompt the best rewrite recovers "
        f"{lo['ratio']:.0%} (SE {lo['ratio_se']:.2f}) of the improvement users reached by steering; with "
        f"k = {int(hi['k'])} it recovers {hi['ratio']:.0%} (SE {hi['ratio_se']:.2f})."
    )
    note = ("`human_improvement_se` / `llm_improvement_se` are plain SEMs over goals; `ratio_se` = the headline "
            "`ratio_se_cluster`. " + design_note({"ratio": head}, n_boot=context.n_boot, seed=context.seed))
    notes = ("human improvement = best - first attempt DreamSim; LLM improvement = max(0, best of k "
             "rewrites' DreamSim - the user's first-attempt DreamSim); ratio = mean LLM / mean human; "
             "goals in both steering.csv and blind_steering_k.csv (joined on goal image and steering user); "
             "`n_user_score_matches` counts goals whose `user_score` equals the first-attempt DreamSim in "
             "steering.csv (to 1e-6).",)
    return [
        Table("blind_steering", table, "Blind steering: LLM rewrites vs human steering", line, note,
              notes=notes, se_stems={"ratio": "ratio", "human_improvement": "human_improvement",
                                     "llm_improvement": "llm_improvement"}),
        Figure("blind_steering_ratio", blind_steering_figure(table), "Blind-steering ratio vs k",
               "Mean LLM improvement / mean human improvement with 95% bars (bootstrap over goals)."),
    ]


# ------------------------------------------------------------------------------------------ seeds


def seed_constraint_table(study: Study, context: ReportContext) -> tuple[pd.DataFrame, object]:
    frame = M.seed_constraint_frame(study.require("seed_constraint"), study.require("steering"))
    levels = M.condition_levels(frame)
    cells = M.group_cells(frame, "condition", levels)
    table = _sem_to_se(cells.summary(frame["dreamsim"].to_numpy(float), "dreamsim_mean"))
    table["n_goals"] = [frame.loc[frame["condition"] == c, "goal_image"].nunique() for c in levels]
    table, head = add_design_se(table, lambda f, w: M.seed_constraint_means(f, w), frame, ["dreamsim_mean"],
                                n_boot=context.n_boot, seed=context.seed)
    table = add_truth(table, study, {"dreamsim_mean": "seed_constraint"}, "condition")
    return order_columns(table, ["condition", "n", "n_goals", "dreamsim_mean"]), head


def seed_choice_table(study: Study, context: ReportContext) -> tuple[pd.DataFrame, object]:
    frame = M.seed_choice_frame(study.require("choosing_seed"), study.require("steering"))
    table = M.seed_choice_summary(frame).rename(columns={"chosen_sem": "chosen_se", "not_chosen_sem": "not_chosen_se"})
    est = M.seed_choice_means(frame)
    k = len(table)
    table["difference"] = est[2 * k : 3 * k]
    table["difference_se"] = np.sqrt(table["chosen_se"] ** 2 + table["not_chosen_se"] ** 2)
    table["not_chosen_standardized"] = est[3 * k :]
    stems = {"chosen_mean": "chosen", "not_chosen_mean": "not_chosen", "difference": "difference",
             "not_chosen_standardized": "not_chosen_standardized"}
    table, head = add_design_se(table, M.seed_choice_means, frame, list(stems), n_boot=context.n_boot,
                                seed=context.seed, stems=stems)
    table = add_truth(
        table,
        study,
        {"chosen_mean": ("choosing_seed", "chosen_mean"), "not_chosen_mean": ("choosing_seed", "not_chosen_mean")},
        "attempt",
    )
    return order_columns(table, ["attempt", "chosen_n", "chosen_mean", "not_chosen_n", "not_chosen_mean",
                                 "difference", "not_chosen_standardized"], stems=stems), head


def seeds_section(study: Study, context: ReportContext) -> list:
    out: list = []
    if study.seed_constraint:
        table, head = seed_constraint_table(study, context)
        default = table[table["condition"] == M.seeds.DEFAULT]
        parts = [f"{r.condition} seed(s): {r.dreamsim_mean:.3f}" for r in table.itertuples() if r.condition != M.seeds.DEFAULT]
        line = "Mean DreamSim with seeds constrained: " + ", ".join(parts)
        if len(default):
            line += f"; unconstrained ({M.DEFAULT_SEED_MODEL} in the main study): {default['dreamsim_mean'].iloc[0]:.3f}."
        notes = (f"'default' = the {M.DEFAULT_SEED_MODEL} sequences of steering.csv (a fresh seed per image), "
                 "the model the seed files use; their goals differ from the seed files' goals.",)
        out.append(Table("seed_constraint", table, "Constraining the seed", line, _se_note(context, {"all": head}), notes=notes,
                         se_stems={"dreamsim_mean": "dreamsim"}))
    if study.choosing_seed is not None:
        table, head = seed_choice_table(study, context)
        avg = table[table["attempt"] == M.AVERAGE].iloc[0]
        line = (
            f"Averaged over attempts, mean DreamSim is {avg['chosen_mean']:.3f} when users choose the seed and "
            f"{avg['not_chosen_mean']:.3f} without (same models; difference {avg['difference']:+.3f}, headline "
            f"SE {avg['difference_se_cluster']:.3f} ({_cluster_label(head)}); {avg['not_chosen_standardized']:.3f} when the main study is "
            "reweighted to the chosen-seed model mix)."
        )
        notes = ("not chosen = steering.csv restricted to the models in choosing_seed.csv; "
                 "`not_chosen_standardized` reweights its per-model means to the chosen side's model mix.",)
        out.append(Table("seed_choice", table, "Choosing the seed", line, _se_note(context, {"all": head}), notes=notes,
                         se_stems={"chosen_mean": "chosen", "not_chosen_mean": "not_chosen"}))
    if not out:
        study.require("seed_constraint")
    return out


# -------------------------------------------------------------------------------------------- LLM


def headline_key(values: pd.Series) -> pd.Series:
    """A headline normalised for matching: surrounding whitespace and quotes removed."""
    return values.astype(str).str.strip().str.strip('"').str.strip()


def llm_table(study: Study, context: ReportContext) -> tuple[pd.DataFrame, dict]:
    ratings = study.require("llm_sat_ratings")
    improvement = study.require("llm_improvement")
    ratings = ratings.assign(goal_key=headline_key(ratings[M.LLM_GOAL]))
    improvement = improvement.assign(goal_key=headline_key(improvement[M.LLM_GOAL]))
    models = sorted(set(ratings["model"]) | set(improvement["model"]))
    ids = ("goal_key", "steering_user_id", "user_id")
    table = M.llm_ratings_summary(ratings, models=models).rename(columns={"very_satisfied_sem": "very_satisfied_se"})
    table = table.rename(columns={"rating_sem": "rating_se"})
    table, head_ratings = add_design_se(table, lambda f, w: M.llm_ratings(f, w, models=models), ratings,
                                        ["rating_mean", "very_satisfied"], n_boot=context.n_boot, seed=context.seed,
                                        ids=ids, stems={"very_satisfied": "very_satisfied"})
    exact = M.majority_rate_exact_summary(improvement, column="last_chosen", models=models, goal="goal_key")
    table["improvement_n"] = exact["n"].to_numpy()
    table["improvement_rate"] = exact["rate"].to_numpy()
    table["improvement_se"] = exact["rate_sem"].to_numpy()
    table, head_improvement = add_design_se(
        table,
        lambda f, w: M.majority_rate_exact(f, w, column="last_chosen", models=models, goal="goal_key"),
        improvement, ["improvement_rate"], n_boot=context.n_boot, seed=context.seed, ids=ids[:2],
        stems={"improvement_rate": "improvement"},
    )
    table["improvement_share"] = M.judgement_share(improvement, column="last_chosen", models=models)
    table = add_truth(
        table,
        study,
        {
            "rating_mean": "llm_rating_mean_by_model",
            "very_satisfied": "llm_very_satisfied_by_model",
            "improvement_share": "llm_improvement_prob_by_model",
        },
        "model",
    )
    stems = {"very_satisfied": "very_satisfied", "improvement_rate": "improvement"}
    table = order_columns(table, ["model", "n", "rating_mean", "very_satisfied", "improvement_n", "improvement_rate"],
                          stems=stems)
    return table, {"ratings": head_ratings, "improvement_rate": head_improvement}


def llm_section(study: Study, context: ReportContext) -> list:
    table, heads = llm_table(study, context)
    overall = table[table["model"] == M.OVERALL].iloc[0]
    line = _range_line(table, "model", "rating_mean", "mean rating", M.OVERALL)
    line += (
        f"; overall {overall['very_satisfied']:.0%} of ratings are very satisfied and the last attempt "
        f"beats the first in {overall['improvement_rate']:.0%} of majority votes."
    )
    note = _se_note(context, heads, "`rating_se` is the row SEM, `very_satisfied_se` the binomial sqrt(p(1-p)/n) "
                    "and `improvement_se` the SEM over votes, as in the release; ")
    return [Table("llm_steerability", table, "Steering LLMs: satisfaction and improvement", line, note,
                  se_stems={"very_satisfied": "very_satisfied", "improvement_rate": "improvement"})]


# -------------------------------------------------------------------------------- image steering


def image_steering_section(study: Study, context: ReportContext) -> list:
    table = M.image_steering_traces(study.require("image_steering"))
    table = add_truth(
        table,
        study,
        {
            "mixture_scale_mean": ("image_steering", "mixture_scale_mean"),
            "share_kept_current": ("image_steering", "keep_current_prob"),
        },
        ["condition", "round"],
    )
    parts = []
    for cond, rows in table.groupby("condition", sort=False):
        first, last = rows.iloc[0], rows.iloc[-1]
        parts.append(
            f"{cond}: mean mixture scale {first['mixture_scale_mean']:.2f} -> {last['mixture_scale_mean']:.2f}, "
            f"kept current {first['share_kept_current']:.0%} -> {last['share_kept_current']:.0%}"
        )
    line = "From the first to the last round, " + "; ".join(parts) + "."
    return [Table("image_steering_traces", table, "Image-steering traces by condition and round", line,
                  "Descriptive counts, means and ranges; no standard errors (the traces carry no outcome).")]


__all__ = [
    "blind_steering_section",
    "image_steering_section",
    "judgements_section",
    "llm_section",
    "satisfaction_section",
    "seeds_section",
    "similarity_section",
]
