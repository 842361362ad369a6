"""The LLM headline study in goal space, presented: the findings paragraph, tables and figure of
:func:`steerstats.goalspace.llm_study.run_llm_study` (the analysis and its rationale live there)."""

from __future__ import annotations

import pandas as pd

from steerstats.data.study import Study
from steerstats.goalspace.llm_study import (
    CANDIDATE_DIMS,
    MIN_REQUEST,
    MODEL_STATS,
    POOLED,
    LLMGoalspaceResult,
    run_llm_study,
)


def _ci(row: pd.Series, name: str, fmt: str = ".3f") -> str:
    return f"{row[name]:{fmt}} (95% CI {row[name + '_ci_low']:{fmt}} to {row[name + '_ci_high']:{fmt}})"


def _length_overshoot_sentence(result: LLMGoalspaceResult) -> str:
    """The undershoot check on text length alone (exact measure, no attenuation)."""
    if result.by_dimension.empty or "text_length" not in set(result.by_dimension["dimension"]):
        return ""
    row = result.by_dimension.set_index("dimension").loc["text_length"]
    return (
        "Measurement noise in the requested move would by itself pull this towards -1, but text length is an "
        f"exact count: on length alone, over {int(row['n_requested'])} attempts asked to change it by at least "
        f"{result.info['min_request']}, the median overshoot m/r - 1 is {_ci(row, 'overshoot_median')} and "
        f"{row['share_overshoot']:.0%} overshoot. ")


def _dim_list(dims) -> str:
    names = [d.replace("_", " ") for d in dims]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def findings_paragraph(result: LLMGoalspaceResult) -> str:
    """One paragraph of findings, every number read from ``result``."""
    st = result.stability.set_index("dimension")
    bm = result.by_model.set_index("model")
    pooled = bm.loc[POOLED]
    models = bm.drop(index=POOLED)
    primary = result.rating.iloc[0]
    best = models["steering_error_median"].idxmin()
    worst = models["steering_error_median"].idxmax()
    dropped = [d for d in CANDIDATE_DIMS if d not in result.dims]
    falling = models[models["slope_per_attempt_ci_high"] < 0].index.tolist()
    rising = models[models["slope_per_attempt_ci_low"] > 0].index.tolist()
    if pooled["slope_per_attempt_ci_high"] < 0:
        trend = "falls"
    elif pooled["slope_per_attempt_ci_low"] > 0:
        trend = "rises"
    else:
        trend = "does not clearly fall"
    if pooled["overshoot_median_ci_low"] > 0:
        over = "overshoot"
    elif pooled["overshoot_median_ci_high"] < 0:
        over = "undershoot (fall short of the goal)"
    else:
        over = "neither clearly overshoot nor undershoot"
    parts = [
        "(95% CIs: cluster bootstrap over steering users.) "
        f"Goal space for headlines: {_dim_list(result.dims)}, normalised by the 2.5/97.5 percentiles of the "
        f"study's {result.info['n_headlines']} distinct headlines (median {st.loc['text_length', 'median_words']:.0f} "
        f"words), because the published long-text ranges clip {st.loc['text_length', 'share_clipped_defaults']:.0%} "
        f"of headlines on length. Textual diversity is left out (MTLD equals the token count for "
        f"{st.loc['textual_diversity', 'mtld_degenerate']:.0%} of headlines, Spearman "
        f"{st.loc['textual_diversity', 'spearman_with_length']:.2f} with length)",
    ]
    for d in dropped:
        parts.append(
            f"; {d.replace('_', ' ')} is left out of the primary analysis because its within-headline bootstrap "
            f"reliability is only {st.loc[d, 'reliability']:.2f} (measurement SD {st.loc[d, 'noise_sd_norm']:.2f} "
            f"normalised units vs a median requested move of {st.loc[d, 'median_abs_request']:.2f})")
    kept_noisy = [d for d in result.dims if d != "text_length"]
    for d in kept_noisy:
        parts.append(f"; {d.replace('_', ' ')} has reliability {st.loc[d, 'reliability']:.2f}")
    parts.append(
        f". The {result.info['n_rows']} attempts have median steering error "
        f"{_ci(pooled, 'steering_error_median')}, from "
        f"{models.loc[best, 'steering_error_median']:.3f} for {best} to "
        f"{models.loc[worst, 'steering_error_median']:.3f} for {worst}. Over attempts the error {trend}: within-sequence slope "
        f"{_ci(pooled, 'slope_per_attempt')} per attempt, mean {pooled['error_first_attempt']:.3f} at the first vs "
        f"{pooled['error_last_attempt']:.3f} at the last attempt")
    if falling:
        parts.append(f"; per model the CI is below 0 only for {', '.join(falling)} (not adjusted for the "
                     f"{len(models)} comparisons)")
    if rising:
        parts.append(f"; above 0 for {', '.join(rising)}")
    parts.append(
        f". Of the {int(pooled['n_requested'])} attempts whose goal headline differs from the source by at least "
        f"{result.info['min_request']}, the models {over}: median signed overshoot "
        f"{_ci(pooled, 'overshoot_median')} (-1 = no move, 0 = on target), only {pooled['share_overshoot']:.0%} "
        f"go past the goal; median miscalibration {pooled['miscalibration_median']:.2f} and orthogonality "
        f"{pooled['orthogonality_median']:.2f} (sine of the angle between the realised and the requested move: "
        f"0 = no side effects). "
        + _length_overshoot_sentence(result)
        + f"Across {int(primary['n_ratings'])} satisfaction ratings of {int(primary['n_attempts_rated'])} "
        f"attempts, Spearman(steering error, rating) = {primary['spearman']:.3f} "
        f"({primary['spearman_ci_low']:.3f} to {primary['spearman_ci_high']:.3f}; {primary['spearman_two_way_ci_low']:.3f} to "
        f"{primary['spearman_two_way_ci_high']:.3f} when raters are a second crossed cluster; mean rating "
        f"{primary['mean_rating_low_error']:.2f} at below-median vs {primary['mean_rating_high_error']:.2f} at "
        f"above-median error)")
    if len(result.rating) > 1:
        sens = result.rating.iloc[1]
        parts.append(
            f"; with all three candidate dimensions it is {sens['spearman']:.3f} ({sens['spearman_ci_low']:.3f} to "
            f"{sens['spearman_ci_high']:.3f})")
    strength = "a weak but clearly negative" if primary["spearman_ci_high"] < 0 else "no clear"
    parts.append(
        f". So goal-space distance on these surface measures has {strength} association with satisfaction, "
        "consistent with raters judging mostly content and tone, which these measures do not capture.")
    return "".join(parts)


# ------------------------------------------------------------------------------ figure + section


def llm_goalspace_figure(result: LLMGoalspaceResult):
    """(a) median steering error by attempt per model, (b) flow field of requested vs realised
    moves on the first two primary dimensions, (c) steering error by satisfaction rating."""
    from steerstats.report.goalspace import flow_field
    from steerstats.report.style import pyplot

    fig, axes = pyplot().subplots(1, 3, figsize=(14, 4.4))
    ax = axes[0]
    for model, sub in result.by_model_attempt.groupby("model"):
        ax.plot(sub["attempt"], sub["steering_error_median"], marker="o", label=model.split("/")[-1])
    pooled = result.rows.groupby("attempt")["steering_error"].median()
    ax.plot(pooled.index, pooled.to_numpy(), color="k", lw=2.5, label=POOLED)
    ax.set_xlabel("attempt")
    ax.set_ylabel("median steering error")
    ax.set_xticks(sorted(result.rows["attempt"].unique()))
    ax.legend(fontsize=6, frameon=False)
    ax.set_title("(a) steering error over attempts", fontsize=9)
    dims = list(result.dims)
    if len(dims) >= 2:
        pair = (dims[1], dims[0]) if "text_length" in dims[:2] else (dims[0], dims[1])
        cols = lambda p: [f"{p}_{d}" for d in dims]  # noqa: E731
        flow_field(result.rows[cols("z0")].to_numpy(), result.rows[cols("zgoal")].to_numpy(),
                   result.rows[cols("zout")].to_numpy(), dims, pair, ax=axes[1],
                   title=f"(b) requested vs realised moves, n={len(result.rows)}")
    else:
        axes[1].axis("off")
    ax = axes[2]
    levels = sorted(result.rated["rating"].unique())
    ax.boxplot([result.rated.loc[result.rated["rating"] == r, "steering_error"] for r in levels],
               tick_labels=[str(int(r)) for r in levels], showfliers=False)
    rt = result.rating.iloc[0]
    ax.set_xlabel("satisfaction rating (1-4)")
    ax.set_ylabel("steering error")
    ax.set_title(f"(c) Spearman {rt['spearman']:.2f} [{rt['spearman_ci_low']:.2f}, {rt['spearman_ci_high']:.2f}]",
                 fontsize=9)
    fig.tight_layout()
    return fig


def by_attempt_table(result: LLMGoalspaceResult) -> pd.DataFrame:
    from steerstats.goalspace.table import median_iqr_table

    return median_iqr_table(result.by_model_attempt, by=["model", "attempt"])


def llm_study_artifacts(result: LLMGoalspaceResult, *, n_boot: int, seed: int) -> list:
    """The LLM study's tables and figure (shared by the report section and ``goalspace llm-study``)."""
    from steerstats.report.artifacts import Figure, Table

    se_note = (f"`_se` and the 95% `_ci_low`/`_ci_high` bounds come from a cluster bootstrap over steering users "
               f"({n_boot} replicates, seed {seed}).")
    dims = ", ".join(result.dims)
    USERS = {"method": "cluster bootstrap (percentile)", "cluster": "steering users"}
    return [
        Table("goalspace_llm_by_model", result.by_model,
              f"LLM headline steering in goal space ({dims})", findings_paragraph(result), se_note,
              notes=("overshoot_median, share_overshoot and miscalibration_median use attempts whose goal "
                     f"moves at least {MIN_REQUEST} from the source (n_requested).",
                     "slope_per_attempt: least-squares slope of steering error on attempt number within "
                     "(steering user, goal) sequences (each sequence centred on its own means)."),
              se_stems={n: n for n in MODEL_STATS},
              **USERS),
        Table("goalspace_llm_by_attempt", by_attempt_table(result),
              "Goal-space metrics per model and attempt: median (IQR)",
              "Median (25th-75th percentile) over attempts of each model at each attempt number.",
              "none (descriptive medians and IQRs)."),
        Table("goalspace_llm_by_dimension", result.by_dimension,
              "Overshoot per goal dimension (all models)",
              "Median one-dimensional overshoot m_j / r_j - 1 over attempts asked to move dimension j by at least "
              f"{MIN_REQUEST} (-1 = no move, 0 = on target, > 0 = past the goal); text length is measured exactly.",
              se_note, **USERS),
        Table("goalspace_llm_stability", result.stability,
              "Goal dimensions on headlines: which are usable and why",
              "Headlines are far shorter than the texts the measures and the published ranges were made for; "
              "reliability = 1 - within-headline bootstrap variance / variance across headlines.",
              "none (descriptive)."),
        Table("goalspace_llm_rating", result.rating,
              "Steering error vs human satisfaction rating",
              "Spearman correlation of goal-space steering error with the 1-4 rating of the same attempt; "
              "negative = closer to the goal, more satisfied.", se_note, **USERS),
        Figure("goalspace_llm", llm_goalspace_figure(result), "LLM steering in goal space",
               "(a) median steering error per attempt; (b) mean requested (grey) and realised (red) moves from "
               "the source, binned by source position; (c) steering error by satisfaction rating."),
    ]


def section(study: Study, context) -> list:
    """Report section: the LLM study in goal space (tables + figure + findings)."""
    result = run_llm_study(study, seed=context.seed, n_boot=context.n_boot)
    return llm_study_artifacts(result, n_boot=context.n_boot, seed=context.seed)
