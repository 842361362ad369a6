"""Tables and figures of the steerability predictors (:func:`steerstats.predictors.study.run_predictors`),
the producibility/steering decomposition (:func:`steerstats.decompose.study.run_decomposition`) and
the seed-constraint trade-off (Vafa et al. 2025, Sec. 4, Fig. 4, App. C.1 / Fig. 7): presentation only.

Used by ``steerstats predict``, ``steerstats decompose`` and, through :func:`section`, by
``steerstats report`` (a cheap configuration: TF-IDF + ridge, 80/20 split, small bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from steerstats.data.study import Study
from steerstats.decompose.study import DecompositionStudy, run_decomposition
from steerstats.predictors.study import PredictorStudy, run_predictors
from steerstats.report.artifacts import Figure, Table
from steerstats.report.run import Run
from steerstats.report.style import pyplot

PREDICTOR_LABELS = {
    "mean": "(1) training mean",
    "model": "(2) model",
    "model+prompt": "(3) model + prompt",
    "model+prompt+goal": "(4) model + prompt + goal",
    "oracle": "true mu (simulation)",
}


# --------------------------------------------------------------------------- predictors


def variance_lines(res: PredictorStudy) -> str:
    """Markdown lines: per head, the full predictor's R^2 and the gain of each added block."""
    table = res.table.set_index(["predictor", "head"])
    lines = []
    for head in res.heads:
        gains = res.gains[res.gains["head"] == head]
        parts = [f"{g.block} adds {g.r2_gain:+.3f} [{g.r2_gain_ci_low:+.3f}, {g.r2_gain_ci_high:+.3f}]"
                 for g in gains.itertuples()]
        best = table.loc[(gains["to"].iloc[-1], head), "r2"] if len(gains) else np.nan
        lines.append(
            f"With the {head} head on {res.embedder} features, the full predictor explains "
            f"{best:.1%} of held-out variance; share of variance added by each block "
            f"(held-out R^2 gain, paired 95% CI): " + "; ".join(parts) + "."
        )
    if ("oracle", "none") in table.index:
        lines.append(f"The true mu of the simulation explains {table.loc[('oracle', 'none'), 'r2']:.1%} (the attainable R^2).")
    return "\n".join(lines)


def predictor_artifacts(res: PredictorStudy) -> tuple[Table, Figure, str, Table]:
    """The predictors table (with its notes), its figure, the variance-share summary and the table of
    R^2 gains per block."""
    summary = variance_lines(res)
    goal_note = ("goal = embedding of its reference_prompt" if res.goal_source == "text"
                 else f"goal = supplied embeddings ({res.goal_source})")
    table = Table(
        name="steerability_predictors",
        frame=res.table,
        title="Steerability predictors: held-out R^2 and MSE of per-attempt DreamSim",
        interpretation=summary.splitlines()[0] if summary else "",
        se_note=f"95% percentile intervals from a cluster bootstrap over test goals (B={res.n_boot}), "
        "conditional on the fitted predictors.",
        notes=(
            f"Split by goal image ({res.split}): no goal is in both training and test rows.",
            f"Text embedder: {res.embedder} (fitted on training texts only); {goal_note}.",
            "Ridge: closed form, model one-hot unpenalised, alpha by 5-fold CV grouped by goal on the training rows.",
        ),
        method="cluster bootstrap (percentile)", cluster="test goals",
    )
    gains = Table("steerability_predictor_gains", res.gains, "Held-out R^2 added by each feature block",
                  summary.splitlines()[0] if summary else "",
                  "paired 95% percentile intervals: every predictor scored on the same cluster-bootstrap draws over test goals",
                  method="paired cluster bootstrap (percentile)", cluster="test goals")
    return table, predictors_figure(res.table), summary, gains


def _error_bars(frame: pd.DataFrame, column: str) -> np.ndarray:
    """(2, n) matplotlib ``yerr`` from ``column`` and its ``_ci_low`` / ``_ci_high`` columns."""
    est = frame[column].to_numpy(float)
    low, high = frame[f"{column}_ci_low"].to_numpy(float), frame[f"{column}_ci_high"].to_numpy(float)
    # a percentile interval need not contain the point estimate: clip the bar ends at it
    return np.clip(np.vstack([est - low, high - est]), 0, None)


def predictors_figure(table: pd.DataFrame) -> Figure:
    """Bars of held-out R^2 with 95% CIs per predictor and head (like Fig. 4, left)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    labels = [f"{PREDICTOR_LABELS.get(p, p)}" + ("" if h == "none" else f"\n[{h}]") for p, h in zip(table["predictor"], table["head"], strict=True)]
    x = np.arange(len(table))
    err = _error_bars(table, "r2")
    colors = ["0.6" if h == "none" else ("C0" if h == "ridge" else "C1") for h in table["head"]]
    ax.bar(x, table["r2"], yerr=err, color=colors, capsize=4)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(x, labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("held-out R$^2$ (DreamSim)")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return Figure(
        name="steerability_predictors",
        figure=fig,
        title="Steerability predictors",
        caption="Held-out R^2 of per-attempt DreamSim, split by goal; bars: 95% cluster-bootstrap CIs over test goals.",
    )


# --------------------------------------------------------------------------- decomposition


def interval_note(res: DecompositionStudy) -> str:
    if res.influence:
        return (f"estimate averaged over {res.n_splits} cross-fitting splits; SE from the cluster-robust (CR1, steering "
                "users) variance of the debiased estimator's influence function averaged over the splits, the "
                "density ratios' estimation included; t intervals with Welch-Satterthwaite df from the users of "
                "the two models")
    return (f"percentile cluster bootstrap over steering users within model (B={res.n_boot}), refitting the "
            "cross-fitted predictor in every replicate")


def decomposition_artifacts(res: DecompositionStudy) -> tuple[Table, Figure, list[Table]]:
    """The decomposition table and figure, and the predictor's diagnostic tables."""
    bayes = res.posterior is not None
    reduced_from = res.info.get("features_before_components")
    table = decomposition_table(res.terms, interval_note(res), bayes, estimator=res.estimator, blocks=res.blocks,
                                caution=res.caution,
                                components=(res.info["n_features"], reduced_from) if reduced_from else None)
    fit, calibration = res.predictor_fit, res.calibration
    diagnostics = [
        Table("decomposition_predictor", fit, "Cross-fitted predictor of mu_i: fit per model",
              f"Out of sample (goal folds) the goal features explain {fit['r2_within'].iloc[-1]:.1%} of the "
              f"within-model variance of DreamSim (per model {fit['r2_within'].iloc[:-1].min():.1%} to "
              f"{fit['r2_within'].iloc[:-1].max():.1%}).",
              "descriptive: cross-fitted predictions, no interval", se_stems={}),
        Table("decomposition_calibration", calibration, "Calibration of the cross-fitted mu (deciles of mu)",
              f"Largest mean error in a decile: {calibration['mean_error'].abs().max():.3f} "
              f"(SE {calibration.loc[calibration['mean_error'].abs().idxmax(), 'error_se']:.3f}).",
              "error_se = SD of the errors in the bin / sqrt(n) (rows, not clusters)", se_stems={}),
    ]
    return table, decomposition_figure(res.terms), diagnostics


def nuts_sentence(res: DecompositionStudy) -> str:
    nuts = res.info.get("nuts")
    if not nuts:
        return ""
    text = (f"NUTS (Bayesian hierarchical model): max R-hat {nuts['rhat_max']:.3f} ({nuts['rhat_worst']}), "
            f"min bulk ESS {nuts['ess_bulk_min']:.0f}, {nuts['n_divergent']} divergences, {nuts['seconds']:.0f} s.")
    if not nuts["ok"]:
        text += " WARNING: the diagnostics fail the R-hat <= 1.01 / no-divergence rule; treat the Bayesian rows as unreliable."
    return text


ESTIMATOR_NOTES = {
    "interacted": "mu_i(x) = a_i + f(x) + l(x)' delta_i, cross-fitted over 5 goal folds: f a ridge on the goal "
                  "features with a second-order sieve of their 8 leading components l(x) and 128 random Fourier "
                  "features, delta_i model-specific slopes on l(x); terms debiased (doubly robust): the "
                  "counterfactual E_p2[mu1] adds mean_1(w (y - mu1)) with w = p2/p1 from a cross-fitted logistic "
                  "regression, so the ridge's shrinkage does not bias them",
    "additive": "mu_i(x) = a_i + x' beta, one slope for every model, plug-in terms (ADDITIVE: the steering term is "
                "forced to an intercept difference), cross-fitted over 5 goal folds",
}


def decomposition_table(frame: pd.DataFrame, interval_note: str, bayes: bool, *, estimator: str = "interacted",
                        blocks: tuple[str, ...] = ("model", "goal"), caution: str | None = None,
                        components: tuple[int, int] | None = None) -> Table:
    """``components`` (q, d): the features were reduced to their q leading principal components of d."""
    reduction = (f" (reduced to the {components[0]} leading principal components of its {components[1]} features, "
                 "so the steering term includes what the other directions carry)" if components else "")
    share = frame["steering_term"].abs() / (frame["steering_term"].abs() + frame["producible_term"].abs())
    ref = frame["reference"].iloc[0]
    return Table(
        name="decomposition",
        frame=frame,
        title=f"Steering mechanism vs producible set: difference in mean DreamSim against {ref}",
        interpretation=(
            f"Averaged over models, {share[~frame['method'].str.startswith('Bayes')].mean():.0%} of the "
            "size of the two terms is the steering mechanism E_p2[mu2 - mu1]; the rest is the producible "
            f"set E_p2[mu1] - E_p1[mu1]. Estimand: mu_i conditions on {' + '.join(blocks)}{reduction}"
            + ("" if "prompt" in blocks else " (prompts adapt to the model, so they are left out by default)")
            + f"; estimator: {estimator}."
            + (f" Caution: {caution}." if caution else "")
        ),
        se_note=(
            f"95% intervals, clustered on steering users: {interval_note}"
            + ("; and equal-tailed posterior intervals of the Bayesian linear model with Bayesian-bootstrap weights over users" if bayes else "")
            + "."
        ),
        notes=(
            ESTIMATOR_NOTES[estimator] + f"; features: {' + '.join(b for b in blocks if b != 'model')}.",
            "Expectations over p_i = averages over model i's observed rows (goals, prompts, attempts).",
            "mean_error_diff = observed - steering - producible = mean_2(y - mu_2) - mean_1(y - mu_1): an "
            "accounting identity near 0 for any predictor with model intercepts, not a check of mu; see "
            "the decomposition_predictor and decomposition_calibration tables for that.",
        ),
        cluster="steering users", method_from_column=True,
    )


def decomposition_figure(frame: pd.DataFrame) -> Figure:
    """Stacked bars of the steering and producible terms per model with the observed difference
    (dot, 95% CI) on top (like Fig. 4, right)."""
    plt = pyplot()
    methods = list(dict.fromkeys(frame["method"]))
    fig, axes = plt.subplots(1, len(methods), figsize=(6.5 * len(methods), 4.2), squeeze=False, sharey=True)
    for ax, method in zip(axes[0], methods, strict=True):
        part = frame[frame["method"] == method].reset_index(drop=True)
        x = np.arange(len(part))
        steer, prod = part["steering_term"].to_numpy(), part["producible_term"].to_numpy()
        ax.bar(x, steer, color="C0", label="steering mechanism")
        # stack the producible term on the steering term when both have the same sign
        bottom = np.where(np.sign(prod) == np.sign(steer), steer, 0.0)
        ax.bar(x, prod, bottom=bottom, color="C2", label="producible set")
        err = _error_bars(part, "observed_diff")
        ax.errorbar(x, part["observed_diff"], yerr=err, fmt="o", color="black", capsize=3, label="observed difference")
        if "truth_observed_diff" in part:
            ax.scatter(x, part["truth_steering_term"], marker="_", s=300, color="navy", label="true steering term", zorder=5)
            ax.scatter(x, part["truth_observed_diff"], marker="x", color="red", label="true difference", zorder=5)
        ax.axhline(0, color="black", lw=0.8)
        ax.set_xticks(x, part["model"], rotation=35, ha="right", fontsize=8)
        ax.set_title(method, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    axes[0][0].set_ylabel(f"DreamSim difference vs {frame['reference'].iloc[0]}")
    axes[0][0].legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return Figure(
        name="decomposition",
        figure=fig,
        title="Steering mechanism vs producible set",
        caption="Bars: the two terms of the decomposition (producible stacked on steering when of the same sign); dots: observed difference in mean DreamSim with 95% CI.",
    )


# --------------------------------------------------------------------------- seed trade-off


def seed_tradeoff_outputs(study: Study) -> tuple[Table, Figure]:
    """Mean DreamSim vs the number of allowed seeds (1, 2, 3, unconstrained)."""
    from steerstats.decompose import seed_tradeoff

    frame = seed_tradeoff(study.require("steering"), study.require("seed_constraint"))
    table = Table(
        name="seed_tradeoff",
        frame=frame,
        title="Producibility vs steerability: mean DreamSim by number of allowed seeds (sd3.5-large-turbo)",
        interpretation="Fewer allowed seeds shrink what the model can produce; a higher mean means steering got easier.",
        se_note="sem = row SEM as in the release; cluster_se = cluster-robust SE over steering users.",
        se_stems={"mean": "sem"},
    )
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    x = np.arange(len(frame))
    ax.errorbar(x, frame["mean"], yerr=1.96 * frame["cluster_se"], fmt="o-", capsize=4)
    ax.set_xticks(x, frame["condition"])
    ax.set_ylabel("mean DreamSim (95% CI, clustered by user)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    figure = Figure(
        name="seed_tradeoff",
        figure=fig,
        title="Seed constraint trade-off",
        caption="Mean DreamSim of sd3.5-large-turbo steering with 1, 2, 3 allowed seeds and unconstrained (steering.csv).",
    )
    return table, figure


# --------------------------------------------------------------------------- report section


def section(study: Study, context) -> list:
    """Report section (cheap setting): predictors (TF-IDF + ridge, 80/20) and the decomposition
    (influence-function intervals, in-process). The seed constraint is already
    in the report's "seeds" section. ``steerstats predict`` / ``steerstats decompose`` give the full
    versions (MLP head, K-fold, larger B, the Bayesian model, the seed trade-off figure)."""
    study.require("steering")
    n_boot_predictors = min(context.n_boot, 1000)  # each replicate re-scores held-out predictions of 8 fits
    if n_boot_predictors < context.n_boot:
        context.caps["predictors_decomposition.steerability_predictors.n_boot"] = n_boot_predictors
    table, figure, _, gains = predictor_artifacts(run_predictors(study, n_boot=n_boot_predictors, seed=context.seed,
                                                                progress=False))
    dec_table, dec_figure, diagnostics = decomposition_artifacts(
        run_decomposition(study, seed=context.seed, n_jobs=1, progress=False))
    return [table, gains, figure, dec_table, dec_figure, *diagnostics]


# --------------------------------------------------------------------------- command output


def study_run(
    study: Study,
    *,
    command: str,
    tables: Sequence[Table],
    figures: Sequence[Figure],
    summary: str,
    config: dict[str, Any],
    seconds: float,
    inputs: Sequence[dict[str, Any]] = (),
    data: Sequence[tuple[str, pd.DataFrame]] = (),
    posteriors: dict[str, Any] | None = None,
) -> Run:
    """A predict / decompose command's output on ``study`` as a Run."""
    from steerstats.report.build import study_inputs

    return Run(
        command=command,
        title=f"steerstats {command} on {study.name}",
        summary=summary,
        tables=list(tables),
        figures=list(figures),
        data=list(data),
        posteriors=dict(posteriors or {}),
        dataset=study.name,
        config=config,
        seeds={"seed": config["seed"]} if "seed" in config else {},
        inputs=study_inputs(study) + list(inputs),
        warnings=[str(w) for w in study.warnings],
        seconds={"total": seconds},
        truth=bool(study.truth),
        details={"source": study.source},
    )
