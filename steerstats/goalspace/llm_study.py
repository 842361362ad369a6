"""The LLM headline study (Vafa et al. 2025, ``llm/``) seen in goal space (Chang et al. 2025).

Each row of ``steering_llms.csv`` is a probe: source = original headline, goal = goal headline,
output = generated headline (surrounding whitespace and quotes removed). The headlines are mapped
to goal space and scored by steering error, miscalibration, orthogonality and signed overshoot
(:mod:`steerstats.goalspace.metrics`, continuous mode).

Which dimensions. Headlines have 3-40 words, far below the 100-word samples MTLD and Flesch-Kincaid
were built for, and far below the published normalisation ranges (length [78, 1509] words clips
every headline to 0). So:

- ranges are the 2.5/97.5 percentiles of the study's own headlines (sources, goals and outputs
  pooled), not the long-text defaults;
- textual diversity is excluded: MTLD degenerates to the word count when no word repeats
  (:func:`stability_table` counts how often), so it would duplicate text length;
- reading difficulty, text length and formality are candidates. Their reliability on headlines is
  estimated by a within-headline bootstrap of words (reading difficulty: syllables per word;
  formality: word classes; length is an exact count): reliability = 1 - mean within-headline
  bootstrap variance / variance across headlines. A candidate below ``RELIABILITY_MIN`` (most of its
  spread across headlines is measurement noise) is left out of the primary goal space and kept in a
  sensitivity analysis on all candidates.

Inference: cluster bootstrap over steering users (:func:`steerstats.uncertainty.cluster_bootstrap`).
Entry point: :func:`run_llm_study` (no files, no figures; presentation: :mod:`steerstats.report.section_goalspace`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from steerstats.data.study import Study
from steerstats.errors import DataNotFoundError, InputError
from steerstats.metrics.llm import clean_headline
from steerstats.metrics.weighted import weighted_median, weighted_slope, weighted_spearman

CANDIDATE_DIMS: tuple[str, ...] = ("reading_difficulty", "text_length", "formality")
#: Least within-headline bootstrap reliability for a dimension of the primary goal space.
RELIABILITY_MIN = 0.5
EXCLUDED_DIMS: dict[str, str] = {
    "textual_diversity": "MTLD equals the token count for headlines in which no word repeats (share: "
    "mtld_degenerate): on headlines it measures length, not diversity",
}
#: Minimum sample length the measure was designed for (words); None = any length.
MIN_WORDS: dict[str, int | None] = {
    "reading_difficulty": 100,  # Flesch's 100-word samples
    "textual_diversity": 100,  # McCarthy & Jarvis (2010) validate MTLD from ~100 tokens
    "text_length": None,
    "formality": None,
}
#: Rows whose requested move ||r|| is smaller than this have no meaningful direction for
#: miscalibration/overshoot (the smallest change a Chang et al. probe requests).
MIN_REQUEST = 0.1
CLUSTER = "steering_user_id"



@dataclass(frozen=True)
class LLMGoalspaceResult:
    """Everything :func:`run_llm_study` computes."""

    rows: pd.DataFrame  # one row per steering attempt: ids, positions, metrics
    by_model_attempt: pd.DataFrame  # median (IQR) of the metrics per model x attempt
    by_model: pd.DataFrame  # per model + pooled: medians, trend, overshoot, with bootstrap CIs
    stability: pd.DataFrame  # per dimension: why it is used or not
    rating: pd.DataFrame  # Spearman(steering error, rating) with cluster-bootstrap CI
    normalizer: Any  # steerstats.goalspace.Normalizer
    dims: tuple[str, ...]
    rated: pd.DataFrame = field(default_factory=pd.DataFrame)  # ratings joined to primary-space rows
    by_dimension: pd.DataFrame = field(default_factory=pd.DataFrame)  # per-dimension overshoot
    info: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ probes


def headline_probes(steering: pd.DataFrame) -> pd.DataFrame:
    """One probe per steering row: ids plus cleaned source / goal / output headlines."""
    need = ["model", CLUSTER, "attempt", "original_headline", "goal_headline", "generated_headline"]
    for col in need:
        if col not in steering.columns:
            raise InputError("missing column of the LLM steering table", file="llm/steering_llms.csv", column=col)
    out = pd.DataFrame({
        "model": steering["model"].astype(str).to_numpy(),
        CLUSTER: steering[CLUSTER].astype(str).to_numpy(),
        "attempt": steering["attempt"].astype(int).to_numpy(),
        "source": clean_headline(steering["original_headline"]).to_numpy(),
        "goal": clean_headline(steering["goal_headline"]).to_numpy(),
        "output": clean_headline(steering["generated_headline"]).to_numpy(),
    })
    for col in ("source", "goal", "output"):
        empty = np.flatnonzero(out[col].str.len() == 0)
        if len(empty):
            raise InputError("empty headline", file="llm/steering_llms.csv", row=int(empty[0]) + 1, column=col)
    return out


# ---------------------------------------------------------------------------------- stability


def _bootstrap_sd(values: np.ndarray, stat, rng: np.random.Generator, n_boot: int) -> float:
    if len(values) == 0:
        return np.nan
    idx = rng.integers(0, len(values), size=(n_boot, len(values)))
    return float(np.std(stat(values[idx]), ddof=1))


def within_headline_sd(texts: list[str], *, seed: int = 0, n_boot: int = 200) -> pd.DataFrame:
    """Raw-scale bootstrap SD of reading difficulty and formality of each text, resampling its
    words (syllable counts) and word classes (formality signs) with replacement."""
    from steerstats.goalspace.mappers import (
        flesch_kincaid,
        formality_score,
        formality_signs,
        pos_tags,
        syllable_profile,
    )

    rng = np.random.default_rng(seed)
    rows = []
    for text in texts:
        syl, n_sent = syllable_profile(text)
        signs = formality_signs(pos_tags(text))
        rows.append({
            "reading_difficulty": _bootstrap_sd(syl, lambda s, k=n_sent: flesch_kincaid(s, k), rng, n_boot),
            "formality": _bootstrap_sd(signs, formality_score, rng, n_boot),
            "text_length": 0.0,
        })
    return pd.DataFrame(rows, index=texts)


def _mtld_degenerate(texts, mtld: np.ndarray) -> float:
    """Share of texts whose MTLD equals their own (lexicalrichness) token count: no factor completes
    (no word repeats often enough), so MTLD is a word count, not a diversity."""
    from lexicalrichness import LexicalRichness

    tokens = np.array([LexicalRichness(t).words for t in texts], dtype=float)
    return float(np.mean(np.isclose(mtld, tokens)))


def stability_table(raw: pd.DataFrame, within_sd: pd.DataFrame, requested: pd.DataFrame,
                    headline_norm, default_norm) -> pd.DataFrame:
    """Per dimension: headline length vs the measure's design minimum, clipping under the published
    ranges, MTLD degeneracy, Spearman correlation with length, bootstrap reliability and the
    measurement noise next to the typical requested move (headline-normalised units)."""
    from scipy.stats import spearmanr

    n_words = raw["text_length"].to_numpy()
    z_default = pd.DataFrame(default_norm.transform(raw[list(default_norm.dims)].to_numpy()),
                             columns=list(default_norm.dims))
    rows = []
    for d in raw.columns:
        x = raw[d].to_numpy()
        k = headline_norm.dims.index(d)
        row = {
            "dimension": d,
            "n_headlines": len(x),
            "median_words": float(np.median(n_words)),
            "min_words": MIN_WORDS[d],
            "share_below_min": float(np.mean(n_words < MIN_WORDS[d])) if MIN_WORDS[d] else 0.0,
            "share_clipped_defaults": float(np.mean((z_default[d] <= 0) | (z_default[d] >= 1))),
            "mtld_degenerate": _mtld_degenerate(raw.index, x) if d == "textual_diversity" else np.nan,
            "spearman_with_length": float(spearmanr(x, n_words, nan_policy="omit").statistic),
            "reliability": np.nan,
            "noise_sd_norm": np.nan,
            "median_abs_request": float(np.nanmedian(np.abs(requested[d]))),
        }
        if d in within_sd.columns:
            var_within = float(np.nanmean(within_sd[d].to_numpy() ** 2))
            row["reliability"] = 1.0 - var_within / float(np.nanvar(x, ddof=1))
            row["noise_sd_norm"] = float(np.sqrt(var_within) / (headline_norm.hi[k] - headline_norm.lo[k]))
        if d in EXCLUDED_DIMS:
            row["used"], row["reason"] = False, EXCLUDED_DIMS[d]
        elif row["reliability"] < RELIABILITY_MIN:
            row["used"] = False
            row["reason"] = (f"reliability {row['reliability']:.2f} < {RELIABILITY_MIN}: most of its spread across "
                             "headlines is measurement noise (kept in the sensitivity analysis)")
        else:
            row["used"], row["reason"] = True, "used"
        rows.append(row)
    return pd.DataFrame(rows)


def _groups(frame: pd.DataFrame, models: list[str]) -> list[np.ndarray]:
    """Row masks of each model, then all rows (pooled)."""
    m = frame["model"].to_numpy()
    return [m == g for g in models] + [np.ones(len(frame), bool)]


def model_statistic(frame: pd.DataFrame, weights: np.ndarray | None, *, models: list[str]) -> np.ndarray:
    """Weighted statistic (see :mod:`steerstats.metrics.weighted`): for each model and then all
    models pooled, the :data:`MODEL_STATS` in order: median steering error; median miscalibration
    (rows with ||r|| >= MIN_REQUEST); median orthogonality; within-sequence slope of steering error
    per attempt; mean steering error at the first and at the last attempt; median signed overshoot
    and share overshooting (rows with ||r|| >= MIN_REQUEST). Shape (8 * (models + 1),) or (B, ...).
    """
    w = np.ones((1, len(frame))) if weights is None else np.atleast_2d(np.asarray(weights, float))
    err = frame["steering_error"].to_numpy(float)
    att = frame["attempt"].to_numpy(float)
    # Within-sequence (user x goal) trend: centring on each sequence's own means removes
    # differences between sequences, including those that miss some attempts. A sequence lies
    # inside one steering user, so cluster weights are constant within it and the centring holds
    # for every replicate.
    seq = frame.groupby([CLUSTER, "goal"], sort=False).ngroup().to_numpy()
    att_c = att - pd.Series(att).groupby(seq).transform("mean").to_numpy()
    err_c = err - pd.Series(err).groupby(seq).transform("mean").to_numpy()
    asked = frame["requested"].to_numpy(float) >= MIN_REQUEST
    out = []
    for mask in _groups(frame, models):
        wg = w * mask
        wa = wg * asked
        first = wg * (att == att.min())
        last = wg * (att == att.max())
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(np.stack([
                weighted_median(err, wg),
                weighted_median(frame["miscalibration"].to_numpy(float), wa),
                weighted_median(frame["orthogonality"].to_numpy(float), wg),
                weighted_slope(att_c, err_c, wg),
                (first * err).sum(1) / first.sum(1),
                (last * err).sum(1) / last.sum(1),
                weighted_median(frame["overshoot"].to_numpy(float), wa),
                (wa * (frame["overshoot"].to_numpy(float) > 0)).sum(1) / wa.sum(1),
            ], axis=1))
    result = np.concatenate(out, axis=1)  # (B, 8 * k), model-major
    return result[0] if weights is None or np.ndim(weights) == 1 else result


MODEL_STATS = ("steering_error_median", "miscalibration_median", "orthogonality_median",
               "slope_per_attempt", "error_first_attempt", "error_last_attempt",
               "overshoot_median", "share_overshoot")
POOLED = "all models"


def dimension_overshoot(frame: pd.DataFrame, weights: np.ndarray | None, *, dims: list[str]) -> np.ndarray:
    """Per dimension j, over rows asking to move it by at least MIN_REQUEST: median of the
    one-dimensional overshoot m_j / r_j - 1 and the share above 0. On an exactly measured dimension
    (text length) this is free of the attenuation that measurement noise in r causes in the
    projection <e,r>/||r||^2 (noise inflates ||r|| and pulls the ratio towards -1)."""
    w = np.ones((1, len(frame))) if weights is None else np.atleast_2d(np.asarray(weights, float))
    out = []
    for d in dims:
        r = frame[f"zgoal_{d}"].to_numpy(float) - frame[f"z0_{d}"].to_numpy(float)
        m = frame[f"zout_{d}"].to_numpy(float) - frame[f"z0_{d}"].to_numpy(float)
        asked = np.abs(r) >= MIN_REQUEST
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.where(asked, m / np.where(asked, r, 1.0) - 1.0, np.nan)
            wa = w * asked
            out.append(np.stack([weighted_median(ratio, wa), (wa * (ratio > 0)).sum(1) / wa.sum(1)], axis=1))
    result = np.concatenate(out, axis=1)
    return result[0] if weights is None or np.ndim(weights) == 1 else result


# ------------------------------------------------------------------------------------- analysis


def rating_join(rows: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """Ratings joined to their steering attempt on (model, steering user, attempt, goal headline).

    The key is unique in ``steering_llms.csv`` ((user, attempt, model) alone is not: some users
    steered two goals with one model). Every rating must find its attempt, and the rated
    generated headline must be that attempt's output; otherwise InputError.
    """
    file = "llm/sat_ratings.csv"
    for col in ("model", CLUSTER, "attempt", "target_headline", "generated_headline", "rating"):
        if col not in ratings.columns:
            raise InputError("missing column", file=file, column=col)
    keys = ["model", CLUSTER, "attempt", "goal"]
    if rows.duplicated(keys).any():
        raise InputError("(model, steering user, attempt, goal headline) repeats", file="llm/steering_llms.csv")
    r = pd.DataFrame({
        "model": ratings["model"].astype(str).to_numpy(),
        CLUSTER: ratings[CLUSTER].astype(str).to_numpy(),
        "attempt": ratings["attempt"].astype(int).to_numpy(),
        "goal": clean_headline(ratings["target_headline"]).to_numpy(),
        "rated_output": clean_headline(ratings["generated_headline"]).to_numpy(),
        "rating": ratings["rating"].astype(float).to_numpy(),
        "rater": ratings["user_id"].astype(str).to_numpy() if "user_id" in ratings.columns else "",
    })
    joined = r.merge(rows, on=keys, how="left", validate="many_to_one", indicator=True)
    lost = np.flatnonzero(joined["_merge"].to_numpy() != "both")
    if len(lost):
        raise InputError("rating has no steering attempt with this (model, steering_user_id, attempt, "
                         "target headline)", file=file, row=int(lost[0]) + 1, column="target_headline")
    differ = np.flatnonzero(joined["rated_output"].to_numpy() != joined["output"].to_numpy())
    if len(differ):
        raise InputError("rated headline differs from the attempt's generated headline", file=file,
                         row=int(differ[0]) + 1, column="generated_headline")
    return joined.drop(columns="_merge")


def run_llm_study(
    study: Study, *, seed: int = 0, n_boot: int = 2000, n_boot_within: int = 200, progress: bool = False
) -> LLMGoalspaceResult:
    """Goal-space steerability of the LLM headline study (module docstring): per-row metrics,
    per model x attempt medians (IQR), per model trend / overshoot with cluster-bootstrap CIs over
    steering users, the headline stability table, and Spearman(steering error, rating)."""
    from steerstats.goalspace import (
        DIMENSIONS,
        Normalizer,
        map_texts,
        steerability_metrics,
        summarize,
    )
    from steerstats.uncertainty import cluster_bootstrap

    if study.truth is not None:
        raise DataNotFoundError("a simulated study has placeholder headlines, no text to map to goal space")
    steering = study.require("llm_steering")
    ratings = study.require("llm_sat_ratings")
    probes = headline_probes(steering)

    unique = list(dict.fromkeys([*probes["source"], *probes["goal"], *probes["output"]]))
    raw = pd.DataFrame(map_texts(unique, DIMENSIONS, progress=progress), index=unique, columns=list(DIMENSIONS))
    headline_norm = Normalizer.from_reference(raw.to_numpy(), DIMENSIONS, source="LLM-study headlines")
    z = pd.DataFrame(headline_norm.transform(raw.to_numpy()), index=unique, columns=list(DIMENSIONS))
    requested_all = pd.DataFrame(z.loc[probes["goal"]].to_numpy() - z.loc[probes["source"]].to_numpy(),
                                 columns=list(DIMENSIONS))
    within = within_headline_sd(unique, seed=seed, n_boot=n_boot_within)
    stability = stability_table(raw, within, requested_all, headline_norm, Normalizer.from_defaults())
    dims = tuple(d for d in CANDIDATE_DIMS if bool(stability.set_index("dimension").loc[d, "used"]))

    def score(dim_set: tuple[str, ...]) -> pd.DataFrame:
        cols = list(dim_set)
        z0, zg, zh = (z.loc[probes[c], cols].to_numpy() for c in ("source", "goal", "output"))
        out = probes.copy()
        for k, d in enumerate(cols):
            out[f"z0_{d}"], out[f"zgoal_{d}"], out[f"zout_{d}"] = z0[:, k], zg[:, k], zh[:, k]
        metrics = steerability_metrics(z0, zg, zh).frame()
        # A direction too small to steer along makes <e,r>/||r||^2 explode: no calibration there.
        small = metrics["requested"].to_numpy() < MIN_REQUEST
        metrics.loc[small, ["miscalibration", "overshoot"]] = np.nan
        return pd.concat([out, metrics], axis=1)

    rows = score(dims)
    by_model_attempt = summarize(rows, by=["model", "attempt"])
    models = sorted(rows["model"].unique())
    boot = cluster_bootstrap(lambda f, w: model_statistic(f, w, models=models), rows, CLUSTER,
                             n_boot=n_boot, seed=seed)
    labels = [*models, POOLED]
    shape = (len(labels), len(MODEL_STATS))
    by_model = pd.DataFrame({"model": labels})
    by_model["n"] = [int(m.sum()) for m in _groups(rows, models)]
    asked = rows["requested"].to_numpy() >= MIN_REQUEST
    by_model["n_requested"] = [int((m & asked).sum()) for m in _groups(rows, models)]
    for j, name in enumerate(MODEL_STATS):
        for part, values in (("", boot.estimate), ("_se", boot.se), ("_ci_low", boot.ci_low), ("_ci_high", boot.ci_high)):
            by_model[name + part] = np.asarray(values).reshape(shape)[:, j]

    def rating_row(scored: pd.DataFrame, label: str, dim_set: tuple[str, ...]) -> dict:
        joined = rating_join(scored, ratings)
        err, rating = joined["steering_error"].to_numpy(), joined["rating"].to_numpy()
        rho = cluster_bootstrap(
            lambda f, w: weighted_spearman(f["steering_error"].to_numpy(), f["rating"].to_numpy(), w),
            joined, CLUSTER, n_boot=n_boot, seed=seed)
        rho2 = cluster_bootstrap(
            lambda f, w: weighted_spearman(f["steering_error"].to_numpy(), f["rating"].to_numpy(), w),
            joined, [CLUSTER, "rater"], n_boot=n_boot, seed=seed)
        med = cluster_bootstrap(lambda f, w: weighted_median(f["steering_error"].to_numpy(),
                                                             np.ones((1, len(f))) if w is None else np.atleast_2d(w)),
                                scored, CLUSTER, n_boot=n_boot, seed=seed)
        return {
            "analysis": label,
            "dimensions": ", ".join(dim_set),
            "steering_error_median": float(med.estimate[0]),
            "steering_error_median_ci_low": float(med.ci_low[0]),
            "steering_error_median_ci_high": float(med.ci_high[0]),
            "n_ratings": len(joined),
            "n_attempts_rated": int(joined[["model", CLUSTER, "attempt", "goal"]].drop_duplicates().shape[0]),
            "n_steering_users": int(joined[CLUSTER].nunique()),
            "spearman": float(rho.estimate[0]),
            "spearman_ci_low": float(rho.ci_low[0]),
            "spearman_ci_high": float(rho.ci_high[0]),
            "spearman_se": float(rho.se[0]),
            "spearman_two_way_ci_low": float(rho2.ci_low[0]),
            "spearman_two_way_ci_high": float(rho2.ci_high[0]),
            "mean_rating_low_error": float(rating[err <= np.median(err)].mean()),
            "mean_rating_high_error": float(rating[err > np.median(err)].mean()),
        }

    all_rows = score(CANDIDATE_DIMS)
    dim_boot = cluster_bootstrap(lambda f, w: dimension_overshoot(f, w, dims=list(CANDIDATE_DIMS)), all_rows,
                                 CLUSTER, n_boot=n_boot, seed=seed)
    by_dimension = pd.DataFrame({"dimension": list(CANDIDATE_DIMS)})
    by_dimension["in_primary"] = [d in dims for d in CANDIDATE_DIMS]
    by_dimension["reliability"] = stability.set_index("dimension").loc[list(CANDIDATE_DIMS), "reliability"].to_numpy()
    by_dimension["n_requested"] = [
        int((np.abs(all_rows[f"zgoal_{d}"] - all_rows[f"z0_{d}"]) >= MIN_REQUEST).sum()) for d in CANDIDATE_DIMS]
    for j, name in enumerate(("overshoot_median", "share_overshoot")):
        for part, values in (("", dim_boot.estimate), ("_ci_low", dim_boot.ci_low), ("_ci_high", dim_boot.ci_high),
                             ("_se", dim_boot.se)):
            by_dimension[name + part] = np.asarray(values).reshape(len(CANDIDATE_DIMS), 2)[:, j]

    rated = rating_join(rows, ratings)
    rating_rows = [rating_row(rows, "primary", dims)]
    if set(CANDIDATE_DIMS) != set(dims):
        rating_rows.append(rating_row(all_rows, "sensitivity: all candidates", CANDIDATE_DIMS))
    info = {"n_rows": len(rows), "n_headlines": len(unique), "n_boot": n_boot, "seed": seed,
            "normalizer": headline_norm.as_dict(), "min_request": MIN_REQUEST,
            "reliability_min": RELIABILITY_MIN}
    return LLMGoalspaceResult(rows, by_model_attempt, by_model, stability, pd.DataFrame(rating_rows),
                              headline_norm, dims, rated, by_dimension, info)
