"""``steerstats preferences`` presented: :func:`steerstats.feedback.preferences.run_preference_study`
as a Run (error types vs preferences, the Bradley-Terry learning curves, the paired comparison)."""

from __future__ import annotations

import numpy as np

from steerstats.config import config_table
from steerstats.feedback.preferences import PreferenceStudyResult
from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run
from steerstats.report.style import pyplot


def curve_figure(curve, x: str, label: str):
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for arm, rows in curve.groupby("arm", sort=False):
        ax.errorbar(rows[x], rows["accuracy"], yerr=np.vstack([rows["accuracy"] - rows["accuracy_ci_low"],
                                                                rows["accuracy_ci_high"] - rows["accuracy"]]),
                    marker="o", capsize=3, label=arm)
    ax.axhline(0.5, color="grey", lw=0.8, ls=":")
    ax.set_xlabel(label)
    ax.set_ylabel("held-out pairwise accuracy (non-tied pairs)")
    ax.set_title("95% CIs: cluster bootstrap over test questions", fontsize=8)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def preference_run(result: PreferenceStudyResult, *, inputs: list, seconds: float, warnings: list[str]) -> Run:
    cfg, ex, err = result.config, result.experiment, result.error_types
    pct = 95
    strongest = err.loc[err["difference"].abs().idxmax()]
    err_line = (f"Answer 1 wins {strongest['win_share_present']:.0%} of its comparisons when '{strongest['attribute']}' "
                f"is present vs {strongest['win_share_absent']:.0%} when absent (difference {strongest['difference']:+.3f} "
                f"[{strongest['difference_ci_low']:+.3f}, {strongest['difference_ci_high']:+.3f}]); the largest effect "
                f"among {len(err)} attributes.")
    note = (f"estimand: answer 1's win share (a tie counts half) against answers 2-4 with / without the attribute, "
            f"their difference, and the AUC of 'attribute absent' for answer 1 preferred (non-tied pairs); {pct}% "
            f"percentile intervals, cluster bootstrap over questions ({cfg.n_boot} replicates)")
    big = ex.curve[ex.curve["n_questions"] == ex.curve["n_questions"].max()]
    cmp_ = ex.comparison.iloc[-1]
    curve_line = ("At the largest size (" + f"{int(big['n_questions'].iloc[0])} questions): "
                  + "; ".join(f"{r.arm} {r.accuracy:.3f} [{r.accuracy_ci_low:.3f}, {r.accuracy_ci_high:.3f}]"
                              for r in big.itertuples())
                  + f"; cbm_bt - bt {cmp_['accuracy_difference']:+.3f} [{cmp_['accuracy_difference_ci_low']:+.3f}, "
                  f"{cmp_['accuracy_difference_ci_high']:+.3f}]; tie-aware accuracy (all pairs) "
                  + "; ".join(f"{r.arm} {r.tie_aware_accuracy:.3f}" for r in big.itertuples()) + ".")
    curve_note = (f"estimand: share of held-out non-tied pairs ordered correctly (a predicted tie counts 1/2); tie-aware "
                  "accuracy over all pairs with the tie threshold epsilon chosen on validation questions; mean "
                  f"log-likelihood log sigmoid(+-d) of the observed order; each averaged over {len(cfg.seeds)} training "
                  f"seeds per pair; {pct}% percentile intervals, cluster bootstrap over test questions ({cfg.n_boot} "
                  "replicates; the same replicates for both arms, so the difference is paired)")
    tables = [
        Table("error_types_vs_preference", err, "Fine-grained errors of answer 1 and the human preference", err_line, note,
              method="cluster bootstrap (percentile)", cluster="question_id"),
        Table("preference_learning_curve", ex.curve, "Bradley-Terry reward models vs annotated questions", curve_line,
              curve_note, method="cluster bootstrap (percentile)", cluster="question_id (test)"),
        Table("preference_model_comparison", ex.comparison, "Concept-bottleneck minus coarse Bradley-Terry (paired)",
              curve_line, curve_note, method="cluster bootstrap (percentile), paired", cluster="question_id (test)"),
    ]
    figures = [
        Figure("preference_accuracy_vs_n", curve_figure(ex.curve, "n_questions", "annotated training questions"),
               tables[1].title, curve_line),
        Figure("preference_accuracy_vs_cost", curve_figure(ex.curve, "cost", "annotation cost (config units)"),
               "Pairwise accuracy against annotation cost", curve_line),
    ]
    return Run(command="preferences", title="Preference reward models on qa-feedback",
               summary=err_line + " " + curve_line, tables=tables, figures=figures,
               data=[("preference_test_pairs", ex.per_pair)], dataset="qa_feedback", config=config_table(cfg),
               seeds={"seed": cfg.seed, "training_seeds": list(cfg.seeds)}, inputs=inputs,
               warnings=warnings, seconds={"total": seconds}, details={"n_questions": result.n_questions})
