"""The built-in sections of the steerability report (SPEC section 1, Vafa et al. 2025): the tables
of :mod:`steerstats.steerability` with one line of interpretation each, their SE notes and figures.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from steerstats import metrics as M
from steerstats.data.study import Study
from steerstats.report.artifacts import Figure, Table
from steerstats.report.figures import (
    blind_steering_figure,
    judgement_rates_figure,
    rankings_figure,
    rating_distribution_figure,
    seed_frontier_figure,
    similarity_by_attempt_figure,
    similarity_by_model_figure,
)
from steerstats.report.sections import ReportContext
from steerstats.steerability import (
    ID_NAMES,
    JUDGEMENTS,
    blind_steering_table,
    image_steering_table,
    judgement_table,
    llm_table,
    rating_distribution_table,
    satisfaction_table,
    seed_choice_table,
    seed_constraint_table,
    similarity_tables,
)
from steerstats.uncertainty.clusters import HeadlineCluster

SE_ROW = "`_se` is the plain row SEM (sd/sqrt(n), as printed in the paper); "


def design_note(heads: Mapping[str, HeadlineCluster], *, n_boot: int, seed: int) -> str:
    """One sentence per distinct headline design: which SE is the headline, and why."""
    groups: dict[tuple, list[str]] = {}
    for name, head in heads.items():
        groups.setdefault((head.factors, head.method, head.reason), []).append(name)
    parts = []
    for (factors, method, reason), names in groups.items():
        who = " x ".join(ID_NAMES.get(f, f) for f in factors)
        what = {"CGM two-way": f"the CGM two-way cluster-robust SE over {who} (CR1 factors per term)",
                "CGM two-way jackknife": f"the CGM two-way SE over {who} from delete-one-cluster jackknife variances"
                                         " (each factor and their intersection)"}.get(method, f"the cluster-bootstrap SE over {who}")
        scope = "" if len(heads) == 1 else f" for {', '.join(f'`{n}`' for n in names)}"
        for column, words in ID_NAMES.items():
            reason = reason.replace(column, words)
        parts.append(f"`_se_cluster` (headline{scope}) is {what}, as the design has {reason}")
    return ("; ".join(parts) + f". `_se_goal` / `_se_user` / `_se_rater` are one-way cluster-bootstrap SEs over "
            f"goals / steering users / raters, `_se_twoway` the CGM two-way SE (B = {n_boot}, seed {seed}).")


def _design(heads: Mapping[str, HeadlineCluster]) -> dict[str, str]:
    """The headline SE's method and clusters, for the tidy form (several designs joined by '; ')."""
    methods = dict.fromkeys(h.method for h in heads.values())
    clusters = dict.fromkeys(" x ".join(ID_NAMES.get(f, f) for f in h.factors) for h in heads.values())
    return {"method": "; ".join(methods), "cluster": "; ".join(clusters)}


def _se_note(context: ReportContext, heads: Mapping, first: str = SE_ROW) -> str:
    return first + design_note(heads, n_boot=context.n_boot, seed=context.seed)


def truth_line(table: pd.DataFrame, column: str, se: str) -> str:
    """How many estimates lie within 1.96 SE of the simulation's truth (a synthetic study)."""
    ok = table[[column, se, f"{column}_true"]].dropna()
    inside = int((abs(ok[column] - ok[f"{column}_true"]) <= 1.96 * ok[se]).sum())
    return f"Simulation truth: {inside} of {len(ok)} estimates lie within 1.96 `{se}` of the true value."


def _cluster_label(head) -> str:
    """Short label of a headline SE for figure legends ('steering-user cluster bootstrap')."""
    who = " x ".join(ID_NAMES.get(f, f) for f in head.factors)
    return f"{who}, {head.method}" if len(head.factors) == 2 else f"{who} cluster bootstrap"


def _range_line(frame: pd.DataFrame, label: str, column: str, what: str, pooled: str) -> str:
    rows = frame[frame[label] != pooled]
    best, worst = rows.loc[rows[column].idxmax()], rows.loc[rows[column].idxmin()]
    return (
        f"{best[label]} has the highest {what} ({best[column]:.3f}) and {worst[label]} the lowest "
        f"({worst[column]:.3f}), a gap of {best[column] - worst[column]:.3f}"
    )


def similarity_section(study: Study, context: ReportContext) -> list:
    by_model, by_attempt, head = similarity_tables(study, n_boot=context.n_boot, seed=context.seed)
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
        Table("similarity_by_model", by_model, "Similarity to the goal by model", line, _se_note(context, {"all": head}),
              **_design({"all": head})),
        Table("similarity_by_attempt", by_attempt, "Similarity to the goal by attempt", line2, _se_note(context, {"all": head}),
              **_design({"all": head})),
        Figure("similarity_by_attempt", similarity_by_attempt_figure(by_attempt, _cluster_label(head)), "Similarity per attempt",
               f"Mean DreamSim per attempt and model; the pooled Average with ±1 headline SE ({_cluster_label(head)})."),
        Figure("similarity_by_model", similarity_by_model_figure(by_model, _cluster_label(head)), "Similarity by model",
               f"Mean DreamSim per model with 95% bars from the row SEM and from the headline SE ({_cluster_label(head)})."),
    ]


def satisfaction_section(study: Study, context: ReportContext) -> list:
    table, heads = satisfaction_table(study, n_boot=context.n_boot, seed=context.seed)
    overall = table[table["model"] == M.OVERALL].iloc[0]
    line = _range_line(table, "model", "rating_mean", "mean 4-point rating", M.OVERALL)
    line += (
        f"; overall {overall['share_unsatisfied']:.0%} of ratings are unsatisfied (<= 2) and "
        f"{overall['share_very_satisfied']:.0%} very satisfied (4); the mean rating moves from "
        f"{overall['first_attempt_mean']:.2f} (first attempt) to {overall['last_attempt_mean']:.2f} (last)."
    )
    note = _se_note(context, heads)
    dist = rating_distribution_table(study)
    return [Table("satisfaction_by_model", table, "Satisfaction ratings (4-point) by model", line, note,
                  notes=("rating_max_mean: best rating per (model, goal) over attempts and raters, averaged over goals; its `_se` is over goals.",),
                  **_design(heads)),
            Table("rating_distribution", dist, "Distribution of the 4-point ratings by model",
                  "Share of ratings 1 (worst) to 4 (best) per model, over all attempts and at the first and last attempt.",
                  "descriptive shares (no SEs; the means' SEs are in satisfaction_by_model)"),
            Figure("ratings_by_model", rating_distribution_figure(dist), "Ratings by model (Vafa et al. Fig. 2)",
                   "Share of each 4-point rating per model; panels: all attempts, first attempt, last attempt.")]


def judgements_section(study: Study, context: ReportContext) -> list:
    table, heads = judgement_table(study, n_boot=context.n_boot, seed=context.seed)
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
    note += (" The release's procedure turns a goal's judgements into chunk votes, so the majority rates are "
             "not rater-level means and a row-weight bootstrap cannot resample raters: their one-way `_se_goal` / "
             "`_se_user` are cluster bootstraps, and where raters cross steering users their headline is the CGM "
             "two-way jackknife (each rater, user and rater-user cell left out in turn); the `_share` columns are "
             "rater-level means with the analytic CGM headline.")
    label = _cluster_label(heads[next(iter(JUDGEMENTS))])
    return [Table("judgement_rates", table, "Improvement rate and prompt-output misalignment", line, note,
                  notes=notes, se_stems={n: n for n in JUDGEMENTS}, **_design(heads)),
            Figure("judgement_rates_by_model", judgement_rates_figure(table, tuple(JUDGEMENTS), label),
                   "Judgement rates by model (Vafa et al. Fig. 3, left)",
                   f"Improvement rate, POM-1 and POM-5 per model (exact majority-vote rates) with 95% bars from the headline SE ({label}).")]


def blind_steering_section(study: Study, context: ReportContext) -> list:
    table, head = blind_steering_table(study, n_boot=context.n_boot, seed=context.seed)
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
                                     "llm_improvement": "llm_improvement"}, **_design({"ratio": head})),
        Figure("blind_steering_ratio", blind_steering_figure(table), "Blind-steering ratio vs k",
               "Mean LLM improvement / mean human improvement with 95% bars (bootstrap over goals)."),
    ]


def seeds_section(study: Study, context: ReportContext) -> list:
    out: list = []
    if study.seed_constraint:
        table, head = seed_constraint_table(study, n_boot=context.n_boot, seed=context.seed)
        default = table[table["condition"] == M.seeds.DEFAULT]
        parts = [f"{r.condition} seed(s): {r.dreamsim_mean:.3f}" for r in table.itertuples() if r.condition != M.seeds.DEFAULT]
        line = "Mean DreamSim with seeds constrained: " + ", ".join(parts)
        if len(default):
            line += f"; unconstrained ({M.DEFAULT_SEED_MODEL} in the main study): {default['dreamsim_mean'].iloc[0]:.3f}."
        notes = (f"'default' = the {M.DEFAULT_SEED_MODEL} sequences of steering.csv (a fresh seed per image), "
                 "the model the seed files use; their goals differ from the seed files' goals.",)
        out.append(Table("seed_constraint", table, "Constraining the seed", line, _se_note(context, {"all": head}), notes=notes,
                         se_stems={"dreamsim_mean": "dreamsim"}, **_design({"all": head})))
        out.append(Figure("seed_frontier", seed_frontier_figure(table, context.options.get("seed_producibility"),
                                                                _cluster_label(head)),
                          "Steerability by seed condition (Vafa et al. Fig. 7)",
                          "Mean DreamSim per seed condition with 95% bars from the headline SE "
                          f"({_cluster_label(head)}); against producibility when one is given per condition."))
    if study.choosing_seed is not None:
        table, head = seed_choice_table(study, n_boot=context.n_boot, seed=context.seed)
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
                         se_stems={"chosen_mean": "chosen", "not_chosen_mean": "not_chosen"}, **_design({"all": head})))
    if not out:
        study.require("seed_constraint")
    return out


def llm_section(study: Study, context: ReportContext) -> list:
    table, heads = llm_table(study, n_boot=context.n_boot, seed=context.seed)
    overall = table[table["model"] == M.OVERALL].iloc[0]
    line = _range_line(table, "model", "rating_mean", "mean rating", M.OVERALL)
    line += (
        f"; overall {overall['very_satisfied']:.0%} of ratings are very satisfied and the last attempt "
        f"beats the first in {overall['improvement_rate']:.0%} of majority votes."
    )
    note = _se_note(context, heads, "`rating_se` is the row SEM, `very_satisfied_se` the binomial sqrt(p(1-p)/n) "
                    "and `improvement_se` the SEM over votes, as in the release; ")
    return [Table("llm_steerability", table, "Steering LLMs: satisfaction and improvement", line, note,
                  se_stems={"very_satisfied": "very_satisfied", "improvement_rate": "improvement"}, **_design(heads))]


def image_steering_section(study: Study, context: ReportContext) -> list:
    table = image_steering_table(study)
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


def rankings_section(study: Study, context: ReportContext) -> list:
    from steerstats.steerability.rankings import model_rankings, rank_agreement

    ranks = model_rankings(study, n_boot=context.n_boot, seed=context.seed)
    if ranks.empty:
        study.require("steering")
    agree = rank_agreement(ranks)
    top = ranks[ranks["rank"] == ranks.groupby("metric")["rank"].transform("min")]
    line = "Most steerable model per metric: " + "; ".join(
        f"{r.label}: {r.model} (rank interval {r.rank_ci_low:g}-{r.rank_ci_high:g})" for r in top.itertuples()) + "."
    if len(agree):
        line += " Spearman correlation of the rankings: " + ", ".join(
            f"{r.metric_a}/{r.metric_b} {r.spearman:.2f}" for r in agree.itertuples()) + "."
    note = (f"estimand: each model's rank by its mean per metric; 95% percentile rank intervals from a cluster bootstrap "
            f"over steering users ({context.n_boot} replicates, one bootstrap per metric); boot_share_rank_1 is the share "
            "of replicates ranking the model first")
    return [Table("model_rankings", ranks, "Model rankings across metrics", line, note,
                  se_stems={"mean": "mean"}, method="cluster bootstrap (percentile rank interval)",
                  cluster="steering_user_id"),
            Table("ranking_agreement", agree, "Agreement of the metric rankings",
                  "Spearman correlation between the models' ranks under each pair of metrics.", "descriptive (no SEs)"),
            Figure("model_rankings", rankings_figure(ranks), "Model rankings across metrics (Vafa et al. Fig. 5)",
                   "Rank per metric (1 = most steerable) with 95% bootstrap rank intervals over steering users.")]


def agreement_section(study: Study, context: ReportContext) -> list:
    from steerstats.steerability.agreement import agreement_table

    table = agreement_table(study, n_boot=context.n_boot, seed=context.seed)
    if table.empty:
        study.require("improvement")
    line = "Cohen's kappa between two random raters of the same sequence: " + "; ".join(
        f"{r.judgement} {r.kappa:.2f} [{r.kappa_ci_low:.2f}, {r.kappa_ci_high:.2f}]" for r in table.itertuples()) + "."
    note = ("estimand: the expected Cohen's kappa of two judgements drawn at random per (model, goal) item (the release's "
            "random rater split made an expectation: mean over n_splits seeded splits; kappa_split_sd is the split's own "
            f"noise); 95% percentile intervals from a cluster bootstrap over the `cluster` column ({context.n_boot} "
            "replicates, each averaging 20 fresh splits)")
    return [Table("interrater_agreement", table, "Inter-rater agreement of the judgements", line, note,
                  method="cluster bootstrap (percentile), random rater splits",
                  cluster=", ".join(dict.fromkeys(table["cluster"])))]
