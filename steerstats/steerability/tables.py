"""The steerability tables of Vafa et al. (2025; SPEC section 1), one function per table: point
estimates with n and the plain row SEM from :mod:`steerstats.metrics`, the design-based SEs of
:mod:`steerstats.steerability.design` (headline ``_se_cluster`` chosen from the id columns'
nesting/crossing), and on a simulated study the true values (``{column}_true``). Each returns its
frame(s) and the headline SE's design; nothing is written (sentences, tables and figures:
:mod:`steerstats.report.steerability`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats import metrics as M
from steerstats.data.study import Study
from steerstats.steerability.design import add_design_se, add_jackknife_se, order_columns
from steerstats.steerability.truth import add_truth


def _sem_to_se(frame: pd.DataFrame) -> pd.DataFrame:
    """Metrics call the plain SEM ``*_sem``; the tables call it ``*_se``."""
    return frame.rename(columns={c: c.removesuffix("_mean_sem").removesuffix("_sem") + "_se"
                                 for c in frame.columns if c.endswith("_sem")})


def similarity_tables(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, object]:
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
    by_model, head = add_design_se(by_model, stat, s, cols, n_boot=n_boot, seed=seed)
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
        by_attempt, stat_attempt, s, ["dreamsim_mean", "clip_mean"], n_boot=n_boot, seed=seed
    )
    by_attempt = add_truth(by_attempt, study, {"dreamsim_mean": "dreamsim_mean_by_attempt"}, ["model", "attempt"])
    by_attempt = order_columns(by_attempt, ["model", "attempt", "n", "dreamsim_mean", "clip_mean"])
    return by_model, by_attempt, head


def satisfaction_table(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, dict]:
    r = study.require("sat_ratings")
    models = M.cells.levels_of(r["model"])
    table = _sem_to_se(M.satisfaction_summary(r, models=models))
    table = table.rename(columns={"rating_max_mean_se": "rating_max_se"})
    cols = [*M.RATING_STATS, "rating_max_mean"]

    # rating_max: a goal's best rating is no rater-level mean, so raters are not its clusters
    table, head_max = add_design_se(table, lambda f, w: M.rating_max_by_model(f, w, models=models), r,
                                    ["rating_max_mean"], n_boot=n_boot, seed=seed,
                                    ids=("goal_image", "steering_user_id"))
    table, head = add_design_se(table, lambda f, w: M.satisfaction_by_model(f, w, models=models), r,
                                list(M.RATING_STATS), n_boot=n_boot, seed=seed)
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


JUDGEMENTS = {
    "improvement_rate": ("improvement", "last_chosen"),
    "pom1": ("pom1", "ref_chosen"),
    "pom5": ("pom5", "ref_chosen"),
}


def judgement_table(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, dict]:
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

        # the majority procedure aggregates a goal's raters into votes: a row-weight bootstrap can
        # resample goals and users only; raters enter through the two-way leave-one-cluster-out jackknife
        part, _ = add_design_se(part, stat, f, [name], n_boot=n_boot, seed=seed,
                                stems={name: name}, ids=("goal_image", "steering_user_id"))

        def leave_out(codes: np.ndarray, frame: pd.DataFrame = f, column: str = column) -> tuple:
            return M.majority_rate_leave_out(frame, codes, column=column, models=models)

        part, heads[name] = add_jackknife_se(part, leave_out, f, [name], stems={name: name})
        part[f"{name}_seeded"] = M.majority_rate_seeded(f, column, seed=seed, models=models)["rate"]
        part[f"{name}_share"] = M.judgement_share(f, column=column, models=models)
        part, heads[f"{name}_share"] = add_design_se(
            part, lambda fr, w, column=column: M.judgement_share(fr, w, column=column, models=models), f,
            [f"{name}_share"], n_boot=n_boot, seed=seed, stems={f"{name}_share": f"{name}_share"},
        )
        if "n_clusters" in part.columns:  # each file's own number of headline clusters
            part = part.rename(columns={"n_clusters": f"{name}_n_clusters"})
        table = table.merge(part, on="model", how="left", validate="one_to_one")
    # the simulation's truth is the per-judgement probability: the estimand of the plain share
    truth = {f"{n}_share": f"{n.removesuffix('_rate')}_prob_by_model" for n in JUDGEMENTS}
    table = add_truth(table, study, truth, "model")
    leading = [c for n in JUDGEMENTS for c in (n, f"{n}_seeded", f"{n}_share")]
    stems = {n: n for n in JUDGEMENTS} | {f"{n}_share": f"{n}_share" for n in JUDGEMENTS}
    return order_columns(table, ["model", *leading], stems=stems), heads


def blind_steering_table(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, object]:
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
            n_boot=n_boot, seed=seed, stems={"ratio": "ratio"},
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


def seed_constraint_table(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, object]:
    frame = M.seed_constraint_frame(study.require("seed_constraint"), study.require("steering"))
    levels = M.condition_levels(frame)
    cells = M.group_cells(frame, "condition", levels)
    table = _sem_to_se(cells.summary(frame["dreamsim"].to_numpy(float), "dreamsim_mean"))
    table["n_goals"] = [frame.loc[frame["condition"] == c, "goal_image"].nunique() for c in levels]
    table, head = add_design_se(table, lambda f, w: M.seed_constraint_means(f, w), frame, ["dreamsim_mean"],
                                n_boot=n_boot, seed=seed)
    table = add_truth(table, study, {"dreamsim_mean": "seed_constraint"}, "condition")
    return order_columns(table, ["condition", "n", "n_goals", "dreamsim_mean"]), head


def seed_choice_table(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, object]:
    frame = M.seed_choice_frame(study.require("choosing_seed"), study.require("steering"))
    table = M.seed_choice_summary(frame).rename(columns={"chosen_sem": "chosen_se", "not_chosen_sem": "not_chosen_se"})
    est = M.seed_choice_means(frame)
    k = len(table)
    table["difference"] = est[2 * k : 3 * k]
    table["difference_se"] = np.sqrt(table["chosen_se"] ** 2 + table["not_chosen_se"] ** 2)
    table["not_chosen_standardized"] = est[3 * k :]
    stems = {"chosen_mean": "chosen", "not_chosen_mean": "not_chosen", "difference": "difference",
             "not_chosen_standardized": "not_chosen_standardized"}
    table, head = add_design_se(table, M.seed_choice_means, frame, list(stems), n_boot=n_boot,
                                seed=seed, stems=stems)
    table = add_truth(
        table,
        study,
        {"chosen_mean": ("choosing_seed", "chosen_mean"), "not_chosen_mean": ("choosing_seed", "not_chosen_mean")},
        "attempt",
    )
    return order_columns(table, ["attempt", "chosen_n", "chosen_mean", "not_chosen_n", "not_chosen_mean",
                                 "difference", "not_chosen_standardized"], stems=stems), head


def llm_table(study: Study, *, n_boot: int, seed: int) -> tuple[pd.DataFrame, dict]:
    ratings = study.require("llm_sat_ratings")
    improvement = study.require("llm_improvement")
    ratings = ratings.assign(goal_key=M.clean_headline(ratings[M.LLM_GOAL]))
    improvement = improvement.assign(goal_key=M.clean_headline(improvement[M.LLM_GOAL]))
    models = sorted(set(ratings["model"]) | set(improvement["model"]))
    ids = ("goal_key", "steering_user_id", "user_id")
    table = M.llm_ratings_summary(ratings, models=models).rename(columns={"very_satisfied_sem": "very_satisfied_se"})
    table = table.rename(columns={"rating_sem": "rating_se"})
    table, head_ratings = add_design_se(table, lambda f, w: M.llm_ratings(f, w, models=models), ratings,
                                        ["rating_mean", "very_satisfied"], n_boot=n_boot, seed=seed,
                                        ids=ids, stems={"very_satisfied": "very_satisfied"})
    exact = M.majority_rate_exact_summary(improvement, column="last_chosen", models=models, goal="goal_key")
    table["improvement_n"] = exact["n"].to_numpy()
    table["improvement_rate"] = exact["rate"].to_numpy()
    table["improvement_se"] = exact["rate_sem"].to_numpy()
    table, head_improvement = add_design_se(
        table,
        lambda f, w: M.majority_rate_exact(f, w, column="last_chosen", models=models, goal="goal_key"),
        improvement, ["improvement_rate"], n_boot=n_boot, seed=seed, ids=ids[:2],
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


def image_steering_table(study: Study) -> pd.DataFrame:
    """Counts, means and ranges of the image-steering traces by condition and round (no SEs)."""
    table = M.image_steering_traces(study.require("image_steering"))
    return add_truth(
        table,
        study,
        {
            "mixture_scale_mean": ("image_steering", "mixture_scale_mean"),
            "share_kept_current": ("image_steering", "keep_current_prob"),
        },
        ["condition", "round"],
    )


#: attempt subsets of the rating distribution (Vafa et al. Fig. 2): name -> attempts kept (None: all)
RATING_SUBSETS = {"all attempts": None, "first attempt": 1, "last attempt": 5}


def rating_distribution_table(study: Study) -> pd.DataFrame:
    """Share of each rating 1..4 per model (+ Overall) and attempt subset, with the row counts:
    the distribution behind the satisfaction means (descriptive; the means' SEs are in
    ``satisfaction_by_model``)."""
    r = study.require("sat_ratings")
    rows = []
    for subset, attempt in RATING_SUBSETS.items():
        part = r if attempt is None else r[r["attempt"] == attempt]
        for model, g in [*part.groupby("model", sort=True), (M.OVERALL, part)]:
            ratings = g["rating"].to_numpy(float)
            row = {"subset": subset, "model": model, "n": len(ratings)}
            for level in (1, 2, 3, 4):
                row[f"share_{level}"] = float(np.mean(ratings == level)) if len(ratings) else np.nan
            rows.append(row)
    return pd.DataFrame(rows)
