"""The report of a fine-grained feedback study (``steerstats report --dataset tifa160``): the
tables and figure of :func:`steerstats.feedback.run_feedback_meta`, each with one computed line."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.feedback import (
    INPUTS_NOTE,
    FeedbackMeta,
    RewardComparison,
    feedback_images,
    run_feedback_meta,
    run_reward_comparison,
    tifa160_aggregates,
    tifa160_feedback,
)
from steerstats.feedback.study import DEFAULT_THRESHOLD, THRESHOLDS
from steerstats.report.artifacts import Figure, Table
from steerstats.report.style import pyplot

HUMAN_PANEL = "human_tifa_panel"


def _ci(row: pd.Series, name: str) -> str:
    return f"{row[name]:.3f} [{row[f'{name}_ci_low']:.3f}, {row[f'{name}_ci_high']:.3f}]"


def agreement_figure(table: pd.DataFrame):
    """Spearman with the human mean per scorer (95% bootstrap intervals over prompts), best first."""
    plt = pyplot()
    t = table.sort_values("spearman").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 0.22 * len(t) + 1.2))
    y = np.arange(len(t))
    colors = ["0.3" if s == HUMAN_PANEL else ("C0" if k == "DSG score" else "C1" if k == "TIFA score" else
                                               "C2" if k == "CLIPScore" else "C7") for s, k in zip(t["scorer"], t["kind"], strict=True)]
    ax.errorbar(t["spearman"], y, xerr=[t["spearman"] - t["spearman_ci_low"], t["spearman_ci_high"] - t["spearman"]],
                fmt="none", ecolor="0.6", capsize=2)
    ax.scatter(t["spearman"], y, c=colors, zorder=3, s=14)
    ax.set_yticks(y, t["scorer"], fontsize=6)
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("Spearman with the 5-rater mean (bars: 95% interval, cluster bootstrap over prompts)")
    fig.tight_layout()
    return fig


def _sensitivity_line(table: pd.DataFrame) -> str:
    parts = []
    for scorer, g in table.groupby("scorer", sort=False):
        g = g.dropna(subset=["auc"])
        parts.append(f"{scorer} {g['auc'].min():.3f}-{g['auc'].max():.3f}")
    return ("Across binarisation thresholds " + ", ".join(f"{t:g}" for t in dict.fromkeys(table["threshold"])) +
            " the ROC-AUC ranges over: " + "; ".join(parts) + ".")


def feedback_artifacts(meta: FeedbackMeta) -> list:
    """Tables: reliability, scorer_agreement, scorer_differences, model_ranking, human_thresholds;
    figure: scorer_agreement."""
    ag, rel = meta.agreement, meta.reliability
    boot = f"cluster bootstrap over prompts ({ag.n_boot} replicates, seed {ag.seed}), percentile {ag.level:.0%} intervals"
    r = rel.table.set_index(["panel", "statistic"])
    alpha, icc = r.loc[("dsg", "krippendorff_alpha_ordinal")], r.loc[("dsg", "icc_2_k")]
    between = r.loc[("dsg vs tifa", "spearman_of_panel_means")]
    rel_line = (f"The 5-rater panel's ordinal Krippendorff alpha is {_ci(alpha, 'value')} and the reliability of its "
                f"mean rating (ICC(2,k)) {_ci(icc, 'value')}; the two human panels' mean ratings correlate at "
                f"Spearman {_ci(between, 'value')}, the ceiling for any automatic scorer compared with the panel mean.")
    table = ag.table.sort_values("spearman", ascending=False, kind="stable").reset_index(drop=True)
    automatic = table[table["scorer"] != HUMAN_PANEL]
    best = automatic.iloc[0]
    dsg = automatic[automatic["kind"] == "DSG score"].iloc[0]
    clip = automatic[automatic["scorer"] == "clipscore"].iloc[0]
    ag_line = (f"The automatic scorer closest to the human mean is {best['scorer']} (Spearman {_ci(best, 'spearman')}, "
               f"Kendall {_ci(best, 'kendall')}); the best DSG score is {dsg['scorer']} ({_ci(dsg, 'spearman')}) and "
               f"CLIPScore reaches {_ci(clip, 'spearman')}, against {table.loc[table['scorer'] == HUMAN_PANEL, 'spearman'].iloc[0]:.3f} "
               "between the two human panels.")
    diffs = ag.differences
    n_worse = int(((diffs["statistic"] == "spearman") & (diffs["difference_ci_high"] < 0)).sum())
    diff_line = (f"Paired on the same replicates, {n_worse} of {len(table) - 1} scorers are significantly below "
                 f"{diffs['versus'].iloc[0]} in Spearman (95% interval of the difference below 0).")
    rank = ag.ranking
    humans = rank.iloc[0]["order"]
    top = rank[~rank["scorer"].isin(["humans", HUMAN_PANEL])].sort_values("kendall_models", ascending=False).iloc[0]
    rank_line = (f"Humans rank the text-to-image models {humans}; {top['scorer']} agrees best over the 5 models "
                 f"(Kendall {top['kendall_models']:.2f}).")
    th = meta.thresholds
    th_line = ("Share of images judged good when the mean rating is binarised at " +
               ", ".join(f"{t:g}: {s:.0%}" for t, s in zip(th["threshold"], th["share_good"], strict=True)) +
               f" (the reward-model experiments use {DEFAULT_THRESHOLD:g}).")
    cols = ["scorer", "kind", "n", "n_prompts", "spearman", "spearman_se", "spearman_ci_low", "spearman_ci_high",
            "kendall", "kendall_se", "kendall_ci_low", "kendall_ci_high"]
    return [
        Table("reliability", rel.table, "Inter-rater reliability of the human ratings", rel_line,
              f"estimand: agreement among raters of the same images; {boot}",
              notes=("ICC: two-way random effects, absolute agreement (Shrout & Fleiss case 2) on images with every "
                     "rating; alpha allows missing ratings.", "Panel 'tifa' = TIFA's own 2 ratings per image."),
              se_stems={"value": "value"}, method="cluster bootstrap (percentile)", cluster="prompts", level=rel.level),
        Table("scorer_agreement", table[cols], "Agreement of automatic scorers with the human mean rating", ag_line,
              f"estimand: rank correlation with the 5-rater mean over the images both cover; {boot}",
              notes=("DSG scores: dependency-aware mean of yes-answers (a question whose parent scored 0 scores 0); "
                     "category scores: the same within one DSG category, missing where the prompt has none.",
                     "No image features: every scorer here reads the image through its own model."),
              method="cluster bootstrap (percentile)", cluster="prompts", level=ag.level),
        Table("scorer_differences", diffs, f"Each scorer minus {diffs['versus'].iloc[0]} (paired)", diff_line,
              f"estimand: difference in rank correlation; paired {boot}", method="paired cluster bootstrap (percentile)",
              cluster="prompts", level=ag.level),
        Table("model_ranking", rank, "Ranking the five text-to-image models: humans vs each scorer", rank_line,
              "descriptive (5 models)"),
        Table("human_thresholds", th, "Binarising the mean human rating", th_line, "descriptive"),
        Table("threshold_sensitivity", meta.sensitivity, "ROC-AUC of scorers for the binarised judgement, by threshold",
              _sensitivity_line(meta.sensitivity),
              f"estimand: ROC-AUC for 1[mean rating >= threshold]; {boot}", method="cluster bootstrap (percentile)",
              cluster="prompts", level=ag.level),
        Figure("scorer_agreement", agreement_figure(table), "Scorer agreement with humans", ag_line),
    ]


def section(study, context) -> list:
    """Report section of a :class:`~steerstats.data.tifa160.FeedbackStudy`."""
    study.require("ratings")
    return feedback_artifacts(run_feedback_meta(study, n_boot=context.n_boot, seed=context.seed))


def _verdict(attributes_only: pd.Series, cbm: pd.Series) -> str:
    """What the two paired contrasts say, from their intervals."""
    def sign(row: pd.Series) -> int:
        return 1 if row["diff_ci_low"] > 0 else -1 if row["diff_ci_high"] < 0 else 0

    carry = {1: "The observed AI attributes predict the judgement better than the inputs do",
             0: "The observed AI attributes predict the judgement no better or worse than the inputs (interval includes 0)",
             -1: "The observed AI attributes predict the judgement worse than the inputs"}[sign(attributes_only)]
    bottleneck = {1: "the bottleneck model beats the coarse one.",
                  0: "the bottleneck model is not distinguishable from the coarse one.",
                  -1: "the bottleneck model is worse than the coarse one."}[sign(cbm)]
    return f"{carry}; {bottleneck}"


def _threshold_line(table: pd.DataFrame) -> str:
    """AUC range of each arm across thresholds, and where the bottleneck contrast changes sign."""
    parts = [f"{arm} {g['auc'].min():.3f}-{g['auc'].max():.3f}" for arm, g in table.groupby("arm", sort=False)]
    cbm = table[table["arm"] == "cbm_pali17b"]
    sig = [f"{t:g}" for t, lo, hi in zip(cbm["threshold"], cbm["diff_ci_low"], cbm["diff_ci_high"], strict=True)
           if lo > 0 or hi < 0]
    return ("Binarising the mean rating at " + ", ".join(f"{t:g}" for t in dict.fromkeys(table["threshold"])) +
            " (full training split), held-out ROC-AUC ranges over: " + "; ".join(parts) +
            ". The sequential CBM differs from the coarse model " +
            (f"at threshold(s) {', '.join(sig)}." if sig else "at no threshold (every paired interval includes 0)."))


def _curve_line(contrasts: pd.DataFrame) -> str:
    """Per N, the paired CBM - coarse difference."""
    c = contrasts[contrasts["contrast"] == "cbm_pali17b - coarse"]
    return ("Sequential CBM minus coarse along the learning curve: " +
            "; ".join(f"N = {int(r.n)}: {r.diff:+.3f} [{r.diff_ci_low:+.3f}, {r.diff_ci_high:+.3f}]" for r in c.itertuples()) +
            " (one training seed; the multi-seed curves: steerstats budget --config analyses/budget_tifa160.toml).")


def reward_model_artifacts(result: RewardComparison) -> list:
    """Tables reward_models, reward_model_contrasts, reward_model_curve, reward_threshold_sensitivity,
    reward_aggregator_weights; figures reward_models (the learning curve) and reward_aggregator_weights."""
    from steerstats.report.budget import curve_figure, weights_figure, weights_line

    t = result.table.set_index("arm")
    n = int(t["n_train"].iloc[0])
    full = result.contrasts[result.contrasts["n"] == n].set_index("contrast")
    att = full.loc["attributes_only_pali17b - coarse"]
    cbm = full.loc["cbm_pali17b - coarse"]
    line = (f"Held-out ROC-AUC of the binarised human judgement (N = {n} training images): coarse "
            f"{_ci(t.loc['coarse'], 'auc')}, sequential CBM on PaLI's category scores {_ci(t.loc['cbm_pali17b'], 'auc')} "
            f"(minus coarse {cbm['diff']:+.3f} [{cbm['diff_ci_low']:+.3f}, {cbm['diff_ci_high']:+.3f}]); stage 2 alone on "
            f"the observed PaLI attributes reaches {_ci(t.loc['attributes_only_pali17b'], 'auc')} ({att['diff']:+.3f} "
            f"[{att['diff_ci_low']:+.3f}, {att['diff_ci_high']:+.3f}] over coarse). {_verdict(att, cbm)} {INPUTS_NOTE}.")
    boot = (f"cluster bootstrap over test prompts ({result.n_boot} replicates), percentile {result.level:.0%} intervals; "
            "the same draws for every arm, size and threshold (paired contrasts)")
    aggregate = (f"5-rater mean >= {result.threshold:g}" if result.threshold is not None else "the data's aggregate")
    notes = (INPUTS_NOTE, f"Aggregate: {aggregate}. Attributes: PaLI-17B's DSG category scores, empty where "
             "the prompt asks no question of that category (masked in stage 1; 0 + a missing indicator for "
             "the attributes-only arm). One training seed; the multi-seed learning curves: steerstats budget "
             "--config analyses/budget_tifa160.toml.")
    curve_line = _curve_line(result.contrasts)
    weights_text = weights_line(result.weights)
    tables = [
        Table("reward_models", result.table, "Reward models for the human judgement (TIFA-160)", line,
              f"estimand: held-out ROC-AUC; {boot}", notes=notes, method="cluster bootstrap (percentile)",
              cluster="test prompts", level=result.level),
        Table("reward_model_contrasts", result.contrasts, "Each reward model minus the coarse one (paired), per N",
              curve_line, f"estimand: difference in held-out ROC-AUC at the same N; {boot}",
              method="paired cluster bootstrap (percentile)", cluster="test prompts", level=result.level),
        Table("reward_model_curve", result.curve, "Learning curves: held-out ROC-AUC against training size", curve_line,
              f"estimand: held-out ROC-AUC of the model trained on N images (nested whole-prompt subsets); {boot}",
              notes=notes, method="cluster bootstrap (percentile)", cluster="test prompts", level=result.level),
        Table("reward_aggregator_weights", result.weights, "Stage-2 aggregator weights (full training split)",
              weights_text,
              f"estimand: the stage-2 weight given the fitted stage 1; percentile {result.level:.0%} interval of "
              f"{result.weight_boot} cluster-bootstrap refits of stage 2 over training prompts (stage 1 held fixed: "
              "its own sampling noise is not in the interval); the joint CBM trains its aggregator with stage 1 "
              "(no interval)", method="cluster bootstrap of stage 2 (percentile)", cluster="training prompts",
              level=result.level),
    ]
    if not result.thresholds.empty:
        tables.append(Table(
            "reward_threshold_sensitivity", result.thresholds,
            "Reward models by the threshold that binarises the human judgement", _threshold_line(result.thresholds),
            f"estimand: held-out ROC-AUC for 1[mean rating >= threshold] at the full training split, and each arm "
            f"minus coarse; {boot}", method="paired cluster bootstrap (percentile)", cluster="test prompts",
            level=result.level))
    figures = [Figure("reward_models", curve_figure(result.curve, "n", "TIFA-160: reward models vs N", result.level),
                      "Reward models for the human judgement: learning curves", curve_line)]
    if not result.weights.empty:
        figures.append(Figure("reward_aggregator_weights", weights_figure(result.weights), "Aggregator weights",
                              weights_text))
    return tables + figures


def reward_model_section(study, context) -> list:
    """Coarse vs concept-bottleneck reward models (MiniLM prompt inputs): learning curve, threshold
    sensitivity, aggregator weights."""
    images = feedback_images(study)
    data = tifa160_feedback(study, threshold=DEFAULT_THRESHOLD, embedder="minilm", seed=context.seed, images=images)
    n_boot = min(context.n_boot, 1000)
    if n_boot < context.n_boot:
        context.caps["reward_models.n_boot"] = n_boot
    return reward_model_artifacts(run_reward_comparison(
        data, thresholds=tifa160_aggregates(study, THRESHOLDS, images=images), threshold=DEFAULT_THRESHOLD, n_boot=n_boot,
        seed=context.seed))
