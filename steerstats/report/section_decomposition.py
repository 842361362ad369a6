"""Tables and figures of the steerability predictors, the producibility/steering decomposition and
the seed-constraint trade-off (Vafa et al. 2025, Sec. 4, Fig. 4, App. C.1 / Fig. 7).

Used by ``steerstats predict``, ``steerstats decompose`` and, through :func:`section`, by
``steerstats report`` (a cheap configuration: TF-IDF + ridge, 80/20 split, small bootstrap).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot
from steerstats.data.study import Study
from steerstats.errors import ConfigError
from steerstats.report.artifacts import Figure, Table
from steerstats.report.style import pyplot

PREDICTOR_LABELS = {
    "mean": "(1) training mean",
    "model": "(2) model",
    "model+prompt": "(3) model + prompt",
    "model+prompt+goal": "(4) model + prompt + goal",
    "oracle": "true mu (simulation)",
}




def goal_table_for(study: Study, goal_source: str) -> pd.DataFrame | None:
    """The goal-embedding table to use: ``"text"`` -> None (reference_prompt is embedded);
    ``"truth"`` -> a simulated study's goal features; otherwise a csv/parquet path."""
    if goal_source == "text":
        return None
    if goal_source == "truth":
        if not study.truth or "goal_embeddings" not in study.truth:
            raise ConfigError("this study has no simulated goal features ('--goal-embeddings truth')")
        return study.truth["goal_embeddings"]
    from pathlib import Path

    from steerstats.errors import DataNotFoundError

    path = Path(goal_source)
    if not path.is_file():
        raise DataNotFoundError(f"goal embedding table not found: {path}")
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


# --------------------------------------------------------------------------- predictors


@dataclass(frozen=True)
class PredictorResults:
    table: Table
    figure: Figure
    summary: str  # markdown: what share of variance each feature block adds
    predictions: pd.DataFrame


def _wide(pred: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    jobs = list(dict.fromkeys(zip(pred["predictor"], pred["head"], strict=True)))
    base = pred[pred["predictor"] == jobs[0][0]][["row", "goal_image", "y"]].reset_index(drop=True)
    wide = base.copy()
    for j, (p, h) in enumerate(jobs):
        part = pred[(pred["predictor"] == p) & (pred["head"] == h)].reset_index(drop=True)
        wide[f"yhat{j}"] = part["yhat"].to_numpy()
    return wide, jobs


def predictor_results(
    study: Study,
    *,
    embedder: str = "tfidf",
    heads: Sequence[str] = ("ridge",),
    split: str | int = "80/20",
    goal_source: str = "text",
    n_boot: int = 1000,
    seed: int = 0,
    cache_dir: str | None = None,
    embedder_options: dict | None = None,
    progress: bool = True,
) -> PredictorResults:
    """Held-out R^2 and MSE of the four predictors with cluster-bootstrap CIs over test goals.

    Every predictor's R^2 and the gain of each added block are computed on the same bootstrap
    draws, so the gains' intervals are paired.
    """
    check_n_boot(n_boot)
    from steerstats.features import EmbeddingCache, make_embedder
    from steerstats.predictors import PREDICTORS, held_out_predictions, r2_mse
    from steerstats.uncertainty.bootstrap import cluster_bootstrap

    frame = study.require("steering").reset_index(drop=True)
    cache = EmbeddingCache(cache_dir) if cache_dir else None
    pred = held_out_predictions(
        frame,
        embedder=lambda: make_embedder(embedder, seed=seed, **(embedder_options or {})),
        predictors=tuple(PREDICTORS),
        heads=heads,
        split=split,
        cache=cache,
        goal_embeddings=goal_table_for(study, goal_source),
        seed=seed,
        progress=progress,
    )
    if study.truth and "mu_oracle" in study.truth:
        oracle = pred[pred["predictor"] == "mean"].copy()
        mu = study.truth["mu_oracle"]
        codes = pd.Categorical(oracle["model"], categories=study.truth["params"]["models"]).codes
        oracle["yhat"] = mu[oracle["row"].to_numpy(), codes]
        oracle["predictor"], oracle["head"] = "oracle", "none"
        pred = pd.concat([pred, oracle], ignore_index=True)
    wide, jobs = _wide(pred)

    def statistic(data: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
        parts = [np.atleast_2d(r2_mse(data.assign(yhat=data[f"yhat{j}"]), weights)) for j in range(len(jobs))]
        out = np.concatenate(parts, axis=-1)  # (B, 2 * jobs): r2_0, mse_0, r2_1, mse_1, ...
        return out[0] if weights is None or np.ndim(weights) == 1 else out

    boot = cluster_bootstrap(statistic, wide, "goal_image", n_boot=n_boot, seed=seed)
    rows = []
    for j, (p, h) in enumerate(jobs):
        rows.append(
            {
                "predictor": p,
                "head": h,
                "embedder": embedder if p not in ("mean", "model", "oracle") else "",
                "split": str(split) if split == "80/20" else f"{split}-fold",
                "r2": boot.estimate[2 * j],
                "r2_ci_low": boot.ci_low[2 * j],
                "r2_ci_high": boot.ci_high[2 * j],
                "mse": boot.estimate[2 * j + 1],
                "mse_ci_low": boot.ci_low[2 * j + 1],
                "mse_ci_high": boot.ci_high[2 * j + 1],
                "n_test_rows": len(wide),
                "n_test_goals": wide["goal_image"].nunique(),
            }
        )
    table_frame = pd.DataFrame(rows)
    summary = _variance_shares(jobs, boot, heads, embedder)
    goal_note = "goal = embedding of its reference_prompt" if goal_source == "text" else f"goal = supplied embeddings ({goal_source})"
    table = Table(
        name="steerability_predictors",
        frame=table_frame,
        title="Steerability predictors: held-out R^2 and MSE of per-attempt DreamSim",
        interpretation=summary.splitlines()[0] if summary else "",
        se_note=f"95% percentile intervals from a cluster bootstrap over test goals (B={n_boot}), "
        "conditional on the fitted predictors.",
        notes=(
            f"Split by goal image ({table_frame['split'].iloc[0]}): no goal is in both training and test rows.",
            f"Text embedder: {embedder} (fitted on training texts only); {goal_note}.",
            "Ridge: closed form, model one-hot unpenalised, alpha by 5-fold CV grouped by goal on the training rows.",
        ),
    )
    return PredictorResults(table, predictors_figure(table_frame), summary, pred)


def _variance_shares(jobs, boot, heads, embedder) -> str:
    """Markdown lines: R^2 gained by each added block, with paired bootstrap intervals."""
    index = {job: j for j, job in enumerate(jobs)}
    reps = boot.replicates
    lines = []
    for head in heads:
        chain = [("mean", "none"), ("model", head), ("model+prompt", head), ("model+prompt+goal", head)]
        chain = [c for c in chain if c in index]
        parts = []
        for prev, cur in pairwise(chain):
            a, b = 2 * index[prev], 2 * index[cur]
            gain = boot.estimate[b] - boot.estimate[a]
            lo, hi = np.nanquantile(reps[:, b] - reps[:, a], [0.025, 0.975])
            block = cur[0].split("+")[-1]
            parts.append(f"{block} adds {gain:+.3f} [{lo:+.3f}, {hi:+.3f}]")
        best = 2 * index[chain[-1]]
        lines.append(
            f"With the {head} head on {embedder} features, the full predictor explains "
            f"{boot.estimate[best]:.1%} of held-out variance; share of variance added by each block "
            f"(held-out R^2 gain, paired 95% CI): " + "; ".join(parts) + "."
        )
    if ("oracle", "none") in index:
        o = 2 * index[("oracle", "none")]
        lines.append(f"The true mu of the simulation explains {boot.estimate[o]:.1%} (the attainable R^2).")
    return "\n".join(lines)


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


TERM_COLUMNS = ("observed_diff", "steering_term", "producible_term", "mean_error_diff")

ESTIMATOR_NOTES = {
    "interacted": "mu_i(x) = a_i + f(x) + l(x)' delta_i, cross-fitted over 5 goal folds: f a ridge on the goal "
                  "features with a second-order sieve of their 8 leading components l(x) and 128 random Fourier "
                  "features, delta_i model-specific slopes on l(x); terms debiased (doubly robust): the "
                  "counterfactual E_p2[mu1] adds mean_1(w (y - mu1)) with w = p2/p1 from a cross-fitted logistic "
                  "regression, so the ridge's shrinkage does not bias them",
    "additive": "mu_i(x) = a_i + x' beta, one slope for every model, plug-in terms (ADDITIVE: the steering term is "
                "forced to an intercept difference), cross-fitted over 5 goal folds",
}


def decomposition_frame(data, interval, method: str, truth: pd.DataFrame | None = None) -> pd.DataFrame:
    """Rows per compared model: each term with ci_low/ci_high (and truth_* when known)."""
    rows = []
    for k, m in enumerate(data.models):
        if k == data.reference:
            continue
        row: dict = {"model": m, "reference": data.models[data.reference]}
        for j, t in enumerate(TERM_COLUMNS):
            row[t] = float(interval.estimate[j, k])
            row[f"{t}_ci_low"] = float(interval.ci_low[j, k])
            row[f"{t}_ci_high"] = float(interval.ci_high[j, k])
        row["method"] = method
        rows.append(row)
    out = pd.DataFrame(rows)
    if truth is not None:
        t = truth.set_index("model")
        for col in TERM_COLUMNS:
            out[f"truth_{col}"] = out["model"].map(t[col])
    return out


def decomposition_table(frame: pd.DataFrame, interval_note: str, bayes: bool, *, estimator: str = "interacted",
                        blocks: tuple[str, ...] = ("model", "goal")) -> Table:
    share = frame["steering_term"].abs() / (frame["steering_term"].abs() + frame["producible_term"].abs())
    ref = frame["reference"].iloc[0]
    return Table(
        name="decomposition",
        frame=frame,
        title=f"Steering mechanism vs producible set: difference in mean DreamSim against {ref}",
        interpretation=(
            f"Averaged over models, {share[~frame['method'].str.startswith('Bayes')].mean():.0%} of the "
            "size of the two terms is the steering mechanism E_p2[mu2 - mu1]; the rest is the producible "
            f"set E_p2[mu1] - E_p1[mu1]. Estimand: mu_i conditions on {' + '.join(blocks)}"
            + ("" if "prompt" in blocks else " (prompts adapt to the model, so they are left out by default)")
            + f"; estimator: {estimator}."
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


def decomposition_results(
    study: Study,
    *,
    embedder: str = "tfidf",
    reference: str = "dall-e-2",
    goal_source: str = "text",
    n_boot: int = 200,
    interval: str | None = None,
    n_splits: int = 5,
    bayes: bool = False,
    nuts: dict | None = None,
    seed: int = 0,
    n_jobs: int = 2,
    cache_dir: str | None = None,
    embedder_options: dict | None = None,
    progress: bool = True,
    estimator: str = "interacted",
    blocks: tuple[str, ...] = ("model", "goal"),
) -> tuple[Table, Figure, list[Table], dict]:
    """Decomposition table and figure (bootstrap with refits; optionally the Bayesian model), and
    the predictor's diagnostics (cross-fitted fit per model, calibration by decile).

    Returns (table, figure, diagnostic tables, info); info holds the chosen alphas and NUTS
    diagnostics.
    """
    check_n_boot(n_boot)
    from steerstats.decompose import (
        crossfit_mu,
        predictor_diagnostics,
        prepare_decomposition,
        terms_interval,
    )
    from steerstats.features import EmbeddingCache, make_embedder

    frame = study.require("steering").reset_index(drop=True)
    goal_table = goal_table_for(study, goal_source)
    data = prepare_decomposition(
        frame,
        reference=reference,
        embedder=make_embedder(embedder, seed=seed, **(embedder_options or {})),
        goal_embeddings=goal_table,
        cache=EmbeddingCache(cache_dir) if cache_dir else None,
        seed=seed,
        estimator=estimator,
        blocks=blocks,
    )
    truth = None
    if study.truth and "decomposition" in study.truth:
        truth = study.truth["decomposition"]
        if truth["reference"].iloc[0] != reference:
            from steerstats.data.simulate_decomposition import (
                DecompositionSimParams,
                true_decomposition,
            )

            truth = true_decomposition(DecompositionSimParams(**study.truth["params"]), reference)
    boot = terms_interval(data, interval=interval, n_boot=n_boot, n_splits=n_splits, seed=seed, n_jobs=n_jobs,
                          progress=progress)
    label = "influence function" if boot.df is not None else "cluster bootstrap (refit)"
    interval_note = (
        f"estimate averaged over {n_splits} cross-fitting splits, SE from the cluster-robust (CR1) variance of the "
        "debiased estimator's influence function plus the split-to-split variance, t intervals with "
        "Welch-Satterthwaite df from the users of the two models"
        if boot.df is not None else
        f"percentile cluster bootstrap over steering users within model (B={n_boot}), refitting the cross-fitted "
        "predictor in every replicate")
    parts = [decomposition_frame(data, boot, label, truth)]
    mu, alphas = crossfit_mu(data)
    info: dict = {"ridge_alpha_per_fold": alphas.tolist(), "n_features": int(data.features.shape[1]),
                  "estimator": estimator, "blocks": list(blocks), "interval": boot.method}
    fit, calibration = predictor_diagnostics(data, mu)
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
    if bayes:
        nuts = {"progress": progress, **(nuts or {})}
        parts.append(decomposition_frame(data, _bayes_interval(data, nuts, seed, info), "Bayesian hierarchical model", truth))
    frame_out = pd.concat(parts, ignore_index=True)
    table = decomposition_table(frame_out, interval_note, bayes, estimator=estimator, blocks=tuple(blocks))
    return table, decomposition_figure(frame_out), diagnostics, info


def _bayes_interval(data, nuts: dict, seed: int, info: dict):
    from steerstats.decompose import (
        TermsInterval,
        linear_decomposition_model,
        model_inputs,
        posterior_terms,
    )
    from steerstats.uncertainty.bayes import NutsSettings, run_nuts

    settings = NutsSettings(**{"num_warmup": 1000, "num_samples": 1000, "num_chains": 2, **nuts})
    kwargs, center, scale = model_inputs(data)
    posterior = run_nuts(linear_decomposition_model, kwargs, settings, seed)
    info["nuts"] = {
        "rhat_max": posterior.diagnostics.rhat_max,
        "rhat_worst": posterior.diagnostics.rhat_worst,
        "ess_bulk_min": posterior.diagnostics.ess_bulk_min,
        "n_divergent": posterior.diagnostics.n_divergent,
        "seconds": posterior.seconds,
        "ok": posterior.diagnostics.ok,
    }
    info["posterior"] = posterior.inference_data()
    draws = posterior_terms(posterior.samples, data, center, scale, seed=seed)
    lo, hi = np.quantile(draws, [0.025, 0.975], axis=0)
    return TermsInterval(
        estimate=draws.mean(axis=0), ci_low=lo, ci_high=hi, se=draws.std(axis=0, ddof=1),
        draws=draws, level=0.95, method="Bayesian hierarchical model",
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
    out: list = []
    n_boot_predictors = min(context.n_boot, 1000)  # each replicate re-scores held-out predictions of 8 fits
    if n_boot_predictors < context.n_boot:
        context.caps["predictors_decomposition.steerability_predictors.n_boot"] = n_boot_predictors
    pred = predictor_results(study, n_boot=n_boot_predictors, seed=context.seed, progress=False)
    out += [pred.table, pred.figure]
    table, figure, diagnostics, _ = decomposition_results(
        study, seed=context.seed, n_jobs=1, progress=False
    )
    out += [table, figure, *diagnostics]
    return out


# --------------------------------------------------------------------------- command output


def load_analysis_study(dataset: str, data_dir: str | None, seed: int) -> Study:
    """vafa2025 (or another card) through :func:`steerstats.data.load_study`; ``synthetic`` is the
    decomposition simulation (known mu_i and p_i, see :mod:`steerstats.data.simulate_decomposition`),
    ``synthetic-nonadditive`` its scenario with model-specific slopes and a non-linear goal effect."""
    if dataset in ("synthetic", "synthetic-nonadditive"):
        from steerstats.data.simulate_decomposition import (
            nonadditive_params,
            simulate_decomposition_study,
        )

        return simulate_decomposition_study(nonadditive_params() if dataset.endswith("nonadditive") else None, seed=seed)
    from steerstats.data import load_study

    return load_study(dataset, data_dir, seed)


def write_outputs(
    out: str,
    study: Study,
    *,
    tables: Sequence[Table],
    figures: Sequence[Figure],
    summary: str,
    settings: dict,
    seconds: float,
    extra: Sequence[tuple[str, pd.DataFrame]] = (),
    command: str = "decompose",
    inputs: Sequence[str | None] = (),
    force: bool = False,
    posteriors: dict | None = None,
    caps: dict | None = None,
) -> None:
    """The command's output through the run writer (:func:`steerstats.report.run.write_run`):
    OUT/tables, OUT/figures, OUT/posterior, OUT/report.md, OUT/manifest.json, atomically (``out``:
    new, empty or a previous output of ``command``; ``force``: any steerstats output)."""
    from steerstats.report.build import study_inputs
    from steerstats.report.run import Run, input_records, write_run

    run = Run(
        command=command,
        title=f"{settings.get('command', 'steerstats ' + command)} on {study.name}",
        summary=summary,
        tables=list(tables),
        figures=list(figures),
        data=list(extra),
        posteriors=dict(posteriors or {}),
        dataset=study.name,
        config={k: v for k, v in settings.items() if k != "command"},
        seeds={"seed": settings["seed"]} if "seed" in settings else {},
        caps=dict(caps or {}),
        inputs=study_inputs(study) + input_records([i for i in inputs if i]),
        warnings=[str(w) for w in study.warnings],
        seconds={"total": seconds},
        truth=bool(study.truth),
        details={"source": study.source},
    )
    write_run(out, run, inputs=[study.source, *inputs], force=force)
