"""TIFA-160 as a fine-grained feedback study: human Likert ratings, VQA answers to DSG questions and
automatic scores of 800 text-to-image outputs (card ``datasets/tifa160.toml``; README of the data).

An image is (prompt, t2i model): ``prompt_id`` is the prompt's source id (``coco_325049``),
``image_id`` = ``prompt_id|t2i_model``. Frames of :class:`FeedbackStudy`:

  ratings    one row per (image, rater): panel "dsg" (the 5 workers of tifa160-likert-anns.csv, who
             rated every image) and panel "tifa" (TIFA's own 2 ratings per image, raters tifa_1 and
             tifa_2 by position: the release does not say whether they are the same people)
  questions  tifa160-dev-anns.csv: the human-annotated DSG propositions with their categories
  answers    the TIFA-160 rows of the three VQA answer files, long, with ``vqa`` in
             :data:`VQA_MODELS`, ``parents`` (the numeric parent ids) and ``yes`` (1.0 if the answer's
             first word is "yes", else 0.0: the DSG rule scores anything but "yes" as 0)
  scores     the TIFA json's automatic scores per image (CLIPScore, TIFA with five VQA models, ...)

Real-data quirks are :class:`~steerstats.data.study.DataWarning` s, never silent: answers other
than a plain yes/no, parent ids that are not numbers ("1, outside"), the prompt without any VQA
answers, duplicated proposition ids with conflicting categories, images with fewer than five
ratings, and the TIFA file's other spelling of the model names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from steerstats.data.card import load_card
from steerstats.data.loaders import Table, load_file
from steerstats.data.location import resolve_data_dir
from steerstats.data.study import DataWarning, InputFile, require_frame
from steerstats.errors import DataNotFoundError, InputError

#: answer file key -> scorer name of the VQA model
VQA_MODELS = {"vqa_pali17b": "pali17b", "vqa_mplug": "mplug", "vqa_instructblip": "instructblip"}
#: the TIFA json's model spelling -> the DSG files'
TIFA_MODEL_NAMES = {
    "mini_dalle": "mini-dalle",
    "vq_diffusion": "vq-diffusion",
    "stable_diffusion_v1_1": "sd1dot1",
    "stable_diffusion_v1_5": "sd1dot5",
    "stable_diffusion_v2_1": "sd2dot1",
}
CATEGORIES = ("entity", "attribute", "relation", "action", "global", "other")
RATING_SCALE = (1, 5)
_NUMBER = re.compile(r"^\d+$")


@dataclass(frozen=True)
class FeedbackStudy:
    """A fine-grained feedback study: human ratings, AI attribute judgements, automatic scores."""

    name: str
    ratings: pd.DataFrame
    questions: pd.DataFrame
    answers: pd.DataFrame
    scores: pd.DataFrame
    warnings: tuple[DataWarning, ...] = ()
    files: tuple[InputFile, ...] = ()
    source: str = ""
    truth: None = None  # a real study: no truth

    @property
    def images(self) -> pd.DataFrame:
        """One row per image: image_id, prompt_id, t2i_model, prompt (text)."""
        return self.scores[["image_id", "prompt_id", "t2i_model", "prompt"]]

    def frames(self) -> list[tuple[str, pd.DataFrame]]:
        """(name, frame) of every table the study holds."""
        return [(n, getattr(self, n)) for n in ("ratings", "questions", "answers", "scores")]

    def require(self, attr: str):
        return require_frame(self, attr)


def parse_parents(value: str) -> tuple[tuple[int, ...], list[str]]:
    """Numeric parent ids of a comma-separated dependency field (0 = none), and the other tokens."""
    parents, other = [], []
    for token in (t.strip() for t in str(value).split(",")):
        if not token:
            continue
        if _NUMBER.match(token):
            if int(token) != 0:
                parents.append(int(token))
        else:
            other.append(token)
    return tuple(parents), other


def is_yes(answer: object) -> bool:
    """The DSG rule, on the first word: "yes" (any case) scores 1; everything else 0."""
    words = str(answer).strip().lower().split()
    return bool(words) and words[0] == "yes"


def _answers(tables: dict[str, Table], prompt_of: dict[str, str]) -> tuple[pd.DataFrame, list[DataWarning]]:
    parts, warns = [], []
    for key, vqa in VQA_MODELS.items():
        t = tables[key]
        f = t.frame
        f = f[f["dsg_prompt_split"] == "tifa160"].copy()
        rel = t.file.path
        unknown = sorted(set(f["item_id"]) - set(prompt_of))
        if unknown:
            rows = f.index[f["item_id"].isin(unknown)] + 1
            raise InputError(f"item_id {unknown[0]!r} is not a TIFA-160 prompt of the likert file", file=rel,
                             row=int(rows[0]), column="item_id")
        answer = f["answer"].fillna("").astype(str)
        plain = answer.str.strip().str.lower().isin(["yes", "no"])
        if (~plain).any():
            counts = answer[~plain].map(lambda a: (a.strip()[:20] + "...") if len(a.strip()) > 20 else (a.strip() or "(empty)"))
            top = ", ".join(f"{k!r} x{v}" for k, v in counts.value_counts().head(5).items())
            warns.append(DataWarning(rel, f"{int((~plain).sum())} of {len(f)} TIFA-160 answers are not a plain yes/no "
                                          f"({top}); scored by their first word: 'yes' = 1, anything else 0",
                                     rows=tuple(int(i) + 1 for i in f.index[~plain])))
        parsed = f["dependency_id"].map(parse_parents)
        odd = parsed.map(lambda p: bool(p[1]))
        if odd.any():
            tokens = sorted({tok for p in parsed[odd] for tok in p[1]})
            warns.append(DataWarning(rel, f"{int(odd.sum())} TIFA-160 dependency_id fields hold non-numeric parents "
                                          f"({', '.join(tokens)}); only the numeric parent ids are used",
                                     rows=tuple(int(i) + 1 for i in f.index[odd])))
        parts.append(pd.DataFrame({
            "vqa": vqa,
            "prompt_id": f["item_id"].map(prompt_of).to_numpy(),
            "t2i_model": f["t2i_model"].to_numpy(),
            "question_id": f["question_id"].to_numpy(),
            "question": f["question"].to_numpy(),
            "parents": [p[0] for p in parsed],
            "answer": answer.to_numpy(),
            "yes": f["answer"].map(is_yes).astype(float).to_numpy(),
        }))
        missing = sorted(set(prompt_of) - set(f["item_id"]))
        if missing:
            names = ", ".join(f"{m} ({prompt_of[m]})" for m in missing)
            warns.append(DataWarning(rel, f"{len(missing)} TIFA-160 prompt(s) have no {vqa} answers at all: {names}; "
                                          "their DSG scores are missing (never 0)"))
    out = pd.concat(parts, ignore_index=True)
    out.insert(1, "image_id", out["prompt_id"] + "|" + out["t2i_model"])
    return out, warns


def _questions(t: Table) -> tuple[pd.DataFrame, list[DataWarning]]:
    q = t.frame.rename(columns={"item_id": "prompt_id"}).copy()
    q["parents"] = q["dependency"].map(lambda v: parse_parents(v)[0])
    warns = []
    dup = q[q.duplicated(["prompt_id", "proposition_id"], keep=False)]
    if len(dup):
        conflicting = dup.groupby(["prompt_id", "proposition_id"])["category_broad"].nunique()
        conflicting = conflicting[conflicting > 1]
        warns.append(DataWarning(t.file.path, f"{len(dup)} rows repeat a (prompt, proposition_id); "
                                              f"{len(conflicting)} of these ids carry two categories "
                                              f"({', '.join(f'{p}#{i}' for p, i in conflicting.index)}): such "
                                              "questions get no category (they still count in the overall score)",
                                 rows=tuple(int(i) + 1 for i in dup.index)))
    return q, warns


def _ratings(likert: Table, scores: pd.DataFrame) -> tuple[pd.DataFrame, list[DataWarning]]:
    f = likert.frame
    dsg = pd.DataFrame({
        "prompt_id": f["source_id"].to_numpy(),
        "t2i_model": f["t2i_model"].to_numpy(),
        "panel": "dsg",
        "rater": f["worker_id"].astype(str).to_numpy(),
        "rating": f["answer"].astype(int).to_numpy(),
    })
    warns = []
    per = dsg.groupby(["prompt_id", "t2i_model"]).size()
    short = per[per < per.max()]
    if len(short):
        warns.append(DataWarning(likert.file.path, f"{len(short)} image(s) have fewer than {per.max()} ratings "
                                                   f"({int(per.max() * len(per) - per.sum())} ratings missing: "
                                                   f"{', '.join(f'{p}|{m}' for p, m in short.index)}); means use the ratings given"))
    tifa = scores[["prompt_id", "t2i_model", "human_scores"]].explode("human_scores")
    tifa["rater"] = "tifa_" + (tifa.groupby(level=0).cumcount() + 1).astype(str)
    tifa = pd.DataFrame({"prompt_id": tifa["prompt_id"].to_numpy(), "t2i_model": tifa["t2i_model"].to_numpy(),
                         "panel": "tifa", "rater": tifa["rater"].to_numpy(),
                         "rating": tifa["human_scores"].astype(int).to_numpy()})
    out = pd.concat([dsg, tifa], ignore_index=True)
    out.insert(0, "image_id", out["prompt_id"] + "|" + out["t2i_model"])
    lo, hi = RATING_SCALE
    if not out["rating"].between(lo, hi).all():
        bad = out[~out["rating"].between(lo, hi)].iloc[0]
        raise InputError(f"rating {bad['rating']} outside {lo}..{hi} for image {bad['image_id']}", file=likert.file.path)
    return out, warns


def _scores(t: Table, likert: pd.DataFrame) -> tuple[pd.DataFrame, list[DataWarning]]:
    f = t.frame
    model = [next((TIFA_MODEL_NAMES[m] for m in TIFA_MODEL_NAMES if k == f"{tid}_{m}"), None)
             for k, tid in zip(f["image_key"], f["text_id"], strict=True)]
    bad = [i for i, m in enumerate(model) if m is None]
    if bad:
        raise InputError(f"image key {f['image_key'].iloc[bad[0]]!r} is not <text_id>_<model> with a known model "
                         f"({', '.join(TIFA_MODEL_NAMES)})", file=t.file.path, row=bad[0] + 1, column="image_key")
    from steerstats.data.image_steering import safe_literal

    out = f.drop(columns=["image_key", "image_path"]).rename(columns={"text_id": "prompt_id", "text": "prompt"})
    out["human_scores"] = out["human_scores"].map(safe_literal)
    out.insert(1, "t2i_model", model)
    out.insert(0, "image_id", out["prompt_id"] + "|" + out["t2i_model"])
    warns = [DataWarning(t.file.path, "model names spelled as in TIFA (" + ", ".join(
        f"{a} = {b}" for a, b in TIFA_MODEL_NAMES.items()) + ") are mapped to the DSG files' names")]
    images = set(likert["source_id"] + "|" + likert["t2i_model"])
    if set(out["image_id"]) != images:
        only = sorted(set(out["image_id"]) ^ images)
        raise InputError(f"the TIFA scores and the likert ratings cover different images (e.g. {only[0]})",
                         file=t.file.path)
    return out.sort_values("image_id", kind="stable").reset_index(drop=True), warns


def _question_text_warning(answers: pd.DataFrame, questions: pd.DataFrame, rel: str) -> DataWarning:
    """The VQA files' questions are joined to the propositions (for their category) by id, as the
    README says; say how often the two texts differ, so a reader can weigh the category scores."""
    def norm(text: pd.Series) -> pd.Series:
        return text.fillna("").astype(str).str.lower().str.replace(r"[^a-z ]", "", regex=True).str.split().str.join(" ")

    q = questions.drop_duplicates(["prompt_id", "proposition_id"]).rename(columns={"proposition_id": "question_id"})
    a = answers[answers["vqa"] == answers["vqa"].iloc[0]]
    joined = a.merge(q[["prompt_id", "question_id", "question_natural_language"]], on=["prompt_id", "question_id"],
                     how="left", indicator=True)
    matched = (joined["_merge"] == "both").to_numpy()
    unmatched = int((~matched).sum())
    differ = int((matched & (norm(joined["question"]) != norm(joined["question_natural_language"])).to_numpy()).sum())
    return DataWarning(rel, f"the VQA files ask {len(a)} questions per model; joined to the propositions by (prompt, id) "
                            f"for their category, {differ} differ in wording and {unmatched} have no proposition of "
                            "that id (no category); the category scores rest on the id join the README prescribes")


def load_tifa160(data_dir: str | Path | None = None) -> FeedbackStudy:
    """Load, validate and join every file of TIFA-160 (module docstring)."""
    root = resolve_data_dir("tifa160", data_dir)
    card = load_card("tifa160")
    missing = [f.path for f in card.files if not (root / f.path).is_file()]
    if missing:
        raise DataNotFoundError(f"{root}: {len(missing)} file(s) of dataset 'tifa160' missing ({', '.join(missing)}); "
                                f"run: steerstats data fetch tifa160 --out {root}")
    tables = {f.key: load_file(root / f.path, f.key, card) for f in card.files}
    likert = tables["likert"].frame
    prompt_of = dict(zip(likert["item_id"], likert["source_id"], strict=True))
    scores, w_scores = _scores(tables["tifa_scores"], likert)
    ratings, w_ratings = _ratings(tables["likert"], scores)
    questions, w_questions = _questions(tables["questions"])
    answers, w_answers = _answers(tables, prompt_of)
    w_answers.append(_question_text_warning(answers, questions, tables["questions"].file.path))
    warnings = [w for t in tables.values() for w in t.warnings] + w_scores + w_ratings + w_questions + w_answers
    return FeedbackStudy(
        name="tifa160", ratings=ratings, questions=questions, answers=answers,
        scores=scores,
        warnings=tuple(warnings), files=tuple(t.file for t in tables.values()), source=str(root),
    )


def image_means(ratings: pd.DataFrame, panel: str = "dsg") -> pd.Series:
    """Mean rating per image_id within ``panel``."""
    r = ratings[ratings["panel"] == panel]
    return r.groupby("image_id")["rating"].mean()


__all__ = ["CATEGORIES", "TIFA_MODEL_NAMES", "VQA_MODELS", "FeedbackStudy", "image_means", "is_yes",
           "load_tifa160", "parse_parents"]
