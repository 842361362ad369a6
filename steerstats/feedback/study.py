"""The meta-evaluation of a fine-grained feedback study (TIFA-160): the human ratings' reliability,
each automatic scorer's agreement with the human mean, and the binarisation thresholds of the human
aggregate. Nothing is written (presentation: :mod:`steerstats.report.section_feedback`)."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from steerstats.data.tifa160 import CATEGORIES, VQA_MODELS, FeedbackStudy
from steerstats.feedback.agreement import Agreement, run_agreement
from steerstats.feedback.reliability import Reliability, run_reliability
from steerstats.metrics.dsg import human_aggregates, image_scores, threshold_table

#: the automatic scores of the TIFA file that are compared (caption metrics are left out: they score
#: a generated caption, not the image)
TIFA_SCORES = ("tifa_vilt", "tifa_git-large", "tifa_ofa-large", "tifa_blip2-flant5xl", "tifa_mplug-large")
THRESHOLDS = (3.0, 3.5, 4.0, 4.5, 5.0)
DEFAULT_THRESHOLD = 4.0


def scorer_frame(study: FeedbackStudy) -> tuple[pd.DataFrame, dict[str, str]]:
    """One row per image: ids, ``human_mean`` (the 5-rater panel), every scorer as a column, and
    each scorer's kind. Scorer names: ``dsg_<vqa>``, ``dsg_<vqa>_<category>``, ``clipscore``,
    ``tifa_<vqa>``, ``human_tifa_panel`` (TIFA's own two ratings: a second human panel)."""
    dsg = image_scores(study.answers, study.questions, CATEGORIES)
    frame = study.images.merge(human_aggregates(study.ratings, panel="dsg", threshold=DEFAULT_THRESHOLD),
                               on="image_id", validate="one_to_one")
    kinds: dict[str, str] = {}
    for vqa in VQA_MODELS.values():
        part = dsg[dsg["vqa"] == vqa].set_index("image_id")
        frame[f"dsg_{vqa}"] = frame["image_id"].map(part["dsg"])
        kinds[f"dsg_{vqa}"] = "DSG score"
        for cat in CATEGORIES:
            frame[f"dsg_{vqa}_{cat}"] = frame["image_id"].map(part[f"dsg_{cat}"])
            kinds[f"dsg_{vqa}_{cat}"] = f"DSG {cat} score"
    scores = study.scores.set_index("image_id")
    frame["clipscore"] = frame["image_id"].map(scores["clipscore_vitb32"])
    kinds["clipscore"] = "CLIPScore"
    for name in TIFA_SCORES:
        frame[name] = frame["image_id"].map(scores[name])
        kinds[name] = "TIFA score"
    frame["human_tifa_panel"] = frame["image_id"].map(scores["human_avg"])
    kinds["human_tifa_panel"] = "second human panel"
    return frame, kinds


#: scorers whose ROC-AUC for the binarised judgement is tabulated at every threshold
SENSITIVITY_SCORERS = ("dsg_pali17b", "tifa_mplug-large", "clipscore", "human_tifa_panel")


def threshold_sensitivity(frame: pd.DataFrame, thresholds=THRESHOLDS, scorers=SENSITIVITY_SCORERS, *,
                          n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """How the binarisation threshold of the mean human rating changes what a scorer achieves: per
    threshold and scorer, the ROC-AUC of the scorer for 1[human_mean >= threshold], with a cluster-
    bootstrap interval over prompts (the same draws at every threshold)."""
    from steerstats.budget.auc import auc_with_ci

    rows = []
    for t in thresholds:
        good = (frame["human_mean"] >= t).to_numpy(int)
        for s in scorers:
            ok = frame[s].notna().to_numpy()
            y = good[ok]
            row = {"threshold": t, "share_good": float(good.mean()), "scorer": s, "n": int(ok.sum())}
            if 0 < y.sum() < len(y):
                res = auc_with_ci(frame.loc[ok, s].to_numpy(float), y, frame.loc[ok, "prompt_id"].to_numpy(),
                                  n_boot=n_boot, seed=seed, level=level)
                row |= {"auc": float(res.estimate[0]), "auc_ci_low": float(res.ci_low[0]),
                        "auc_ci_high": float(res.ci_high[0])}
            else:  # one class only: no AUC
                row |= {"auc": float("nan"), "auc_ci_low": float("nan"), "auc_ci_high": float("nan")}
            rows.append(row)
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class FeedbackMeta:
    """What :func:`run_feedback_meta` computed."""

    scorers: pd.DataFrame  # scorer_frame
    reliability: Reliability
    agreement: Agreement
    thresholds: pd.DataFrame
    sensitivity: pd.DataFrame  # threshold_sensitivity


def run_feedback_meta(study: FeedbackStudy, *, n_boot: int = 1000, seed: int = 0) -> FeedbackMeta:
    """Reliability, scorer agreement and threshold sensitivity of ``study`` (module docstring)."""
    frame, kinds = scorer_frame(study)
    automatic = [s for s, kind in kinds.items() if kind != "second human panel"]
    agreement = run_agreement(frame, list(kinds), kinds=kinds, references=automatic, n_boot=n_boot, seed=seed)
    reliability = run_reliability(study.ratings, n_boot=n_boot, seed=seed)
    thresholds = threshold_table(study.ratings, THRESHOLDS)
    sensitivity = threshold_sensitivity(frame, n_boot=n_boot, seed=seed)
    return FeedbackMeta(frame, reliability, agreement, thresholds, sensitivity)
