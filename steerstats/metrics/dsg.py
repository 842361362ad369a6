"""Davidsonian-Scene-Graph (DSG) scores of images from VQA answers (Cho et al. 2024), and the
aggregates of human ratings they are compared with.

DSG rule (as its authors define it): each question scores 1 if the VQA model answered "yes", else
0; a question any of whose parent questions scored 0 is set to 0 (dependency-aware). Parents are
scored first, so the rule is transitive: a question whose grandparent failed fails too. The image's
DSG score is the mean over its questions; a category score is the same mean within one semantic
category, and a category with no question for that prompt is missing (NaN), never 0.

Input frames (see :mod:`steerstats.data.tifa160`): ``answers`` with vqa, image_id, prompt_id,
t2i_model, question_id, parents (tuple of ids), yes (1.0 / 0.0); ``questions`` with prompt_id,
proposition_id, category_broad.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def dependency_scores(question_ids: Sequence[int], parents: Sequence[Sequence[int]], yes: Sequence[float]) -> np.ndarray:
    """Dependency-aware score of each question of one image: yes_q, set to 0 if a parent scored 0.

    Parents not among the image's questions are ignored (no answer to condition on). A cycle is
    broken by scoring its questions on their own answers.
    """
    ids = [int(q) for q in question_ids]
    raw = {q: float(y) for q, y in zip(ids, yes, strict=True)}
    deps = {q: tuple(int(p) for p in ps if int(p) in raw and int(p) != q) for q, ps in zip(ids, parents, strict=True)}
    done: dict[int, float] = {}

    def score(q: int, path: frozenset) -> float:
        if q in done:
            return done[q]
        value = raw[q]
        if value and any(score(p, path | {q}) == 0.0 for p in deps[q] if p not in path):
            value = 0.0
        done[q] = value
        return value

    return np.array([score(q, frozenset()) for q in ids], dtype=float)


def question_scores(answers: pd.DataFrame) -> pd.DataFrame:
    """``answers`` with ``score``: the dependency-aware score of each question per (vqa, image)."""
    out = answers.copy()
    out["score"] = np.nan
    for _, g in out.groupby(["vqa", "image_id"], sort=False):
        out.loc[g.index, "score"] = dependency_scores(g["question_id"], g["parents"], g["yes"])
    return out


def question_categories(questions: pd.DataFrame) -> pd.DataFrame:
    """(prompt_id, question_id) -> category_broad; an id listed with two categories gets none."""
    q = questions.rename(columns={"proposition_id": "question_id"})
    cats = q.groupby(["prompt_id", "question_id"])["category_broad"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else None)
    return cats.rename("category").reset_index()


def image_scores(answers: pd.DataFrame, questions: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """One row per (vqa, image_id): ``dsg`` (mean dependency-aware score), ``n_questions`` and, per
    category, ``dsg_<category>`` (NaN where the prompt has no question of that category) and
    ``n_<category>``."""
    scored = question_scores(answers).merge(question_categories(questions), on=["prompt_id", "question_id"],
                                            how="left", validate="many_to_one")
    keys = ["vqa", "image_id", "prompt_id", "t2i_model"]
    out = scored.groupby(keys, sort=True).agg(dsg=("score", "mean"), n_questions=("score", "size")).reset_index()
    for cat in categories:
        part = scored[scored["category"] == cat].groupby(keys)["score"].agg(["mean", "size"])
        part.columns = [f"dsg_{cat}", f"n_{cat}"]
        out = out.merge(part.reset_index(), on=keys, how="left")
        out[f"n_{cat}"] = out[f"n_{cat}"].fillna(0).astype(int)
    return out


def human_aggregates(ratings: pd.DataFrame, *, panel: str = "dsg", threshold: float = 4.0) -> pd.DataFrame:
    """Per image: n_ratings, mean and median rating of ``panel``, and ``good`` = 1[mean >= threshold]."""
    r = ratings[ratings["panel"] == panel]
    out = r.groupby("image_id")["rating"].agg(n_ratings="size", human_mean="mean", human_median="median").reset_index()
    out["good"] = (out["human_mean"] >= threshold).astype(int)
    return out


def threshold_table(ratings: pd.DataFrame, thresholds: Sequence[float], *, panel: str = "dsg") -> pd.DataFrame:
    """Share of images judged good at each binarisation threshold of the mean rating."""
    means = human_aggregates(ratings, panel=panel)["human_mean"].to_numpy()
    return pd.DataFrame({"threshold": list(thresholds),
                         "n_images": len(means),
                         "n_good": [int((means >= t).sum()) for t in thresholds],
                         "share_good": [float((means >= t).mean()) for t in thresholds]})
