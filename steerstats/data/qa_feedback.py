"""qa-feedback (Wu et al. 2023, dev split) as a preference study: pairwise preferences among four
answers per question and fine-grained error annotations of answer 1 (card ``datasets/qa_feedback.toml``).

Frames of :class:`PreferenceStudy` (``question_id`` = ``q001`` .. by record position; the release
has no ids):

  questions    question_id, question, gold, n_passages
  answers      question_id, answer (1..4), answer_id (``q001|1``), text, n_chars
  preferences  one row per judged pair: question_id, first, second (answer numbers, first < second),
               code (the release's 0/1/2) and outcome (1.0 first preferred, 0.0 second, 0.5 tie)
  attributes   one row per question, for answer 1: for each error type ``err_<type>`` (any span of
               that type, 0/1) and ``share_<type>`` (share of the answer's characters its spans cover,
               overlaps counted once), ``n_errors``; for each missing-information type
               ``miss_<type>`` (0/1); ``any_error``

Quirks are :class:`~steerstats.data.study.DataWarning` s: spans reaching past the answer's end
(clipped), empty spans, error types outside the documented lists (kept as their own columns),
questions whose text appears twice, answers identical to another answer of the same question.
Structural problems (a missing field, a preference list that is not six codes in {0, 1, 2}) are
:class:`~steerstats.errors.InputError` s naming the record and the field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from steerstats._io import sha256_bytes
from steerstats.data.card import load_card
from steerstats.data.location import resolve_data_dir
from steerstats.data.study import DataWarning, InputFile, require_frame
from steerstats.errors import InputError

ERROR_TYPES = ("Irrelevant", "Wrong-Grounding", "Unverifiable", "Redundant", "Incoherent")
MISSING_TYPES = ("Missing-Major-Auxiliary", "Missing-Minor-Auxiliary", "Missing-Answer")
#: the six judged pairs, in the order of the ``preference`` list
PAIRS = ((1, 2), (1, 3), (1, 4), (2, 3), (2, 4), (3, 4))
OUTCOME = {1: 1.0, 2: 0.0, 0: 0.5}
FIELDS = ("question", "passages", "gold", "prediction 1", "prediction 2", "prediction 3", "prediction 4",
          "feedback", "preference")


def attribute_name(error_type: str) -> str:
    """``Wrong-Grounding`` -> ``wrong_grounding`` (column-safe)."""
    return re.sub(r"[^0-9a-z]+", "_", error_type.lower()).strip("_")


def missing_name(missing_type: str) -> str:
    """``Missing-Major-Auxiliary`` -> ``miss_major_auxiliary``."""
    return "miss_" + attribute_name(missing_type).removeprefix("missing_")


@dataclass(frozen=True)
class PreferenceStudy:
    """Pairwise preferences among several answers per question, with fine-grained feedback on some."""

    name: str
    questions: pd.DataFrame
    answers: pd.DataFrame
    preferences: pd.DataFrame
    attributes: pd.DataFrame
    error_types: tuple[str, ...]
    missing_types: tuple[str, ...]
    warnings: tuple[DataWarning, ...] = ()
    files: tuple[InputFile, ...] = ()
    source: str = ""
    truth: None = None  # a real study: no truth

    def frames(self) -> list[tuple[str, pd.DataFrame]]:
        """(name, frame) of every table the study holds."""
        return [(n, getattr(self, n)) for n in ("questions", "answers", "preferences", "attributes")]

    def require(self, attr: str) -> Any:
        return require_frame(self, attr)


def _covered(spans: list[tuple[int, int]], n: int) -> int:
    mask = np.zeros(n, bool)
    for a, b in spans:
        mask[a:b] = True
    return int(mask.sum())


def parse_records(records: Any, file: str) -> tuple[PreferenceStudy, list[DataWarning]]:
    """The frames of :class:`PreferenceStudy` from the parsed JSON list (module docstring)."""
    if not isinstance(records, list) or not records:
        raise InputError("expected a non-empty JSON list of records", file=file)
    warns: list[DataWarning] = []
    questions, answers, prefs, attrs = [], [], [], []
    types_seen: dict[str, None] = dict.fromkeys(ERROR_TYPES)
    missing_seen: dict[str, None] = dict.fromkeys(MISSING_TYPES)
    clipped, empty = [], []
    for i, rec in enumerate(records, start=1):
        def fail(msg: str, field: str, i: int = i) -> InputError:
            return InputError(msg, file=file, row=i, column=field)

        if not isinstance(rec, dict):
            raise fail("record is not an object", "record")
        for field in FIELDS:
            if field not in rec:
                raise fail("field missing", field)
        qid = f"q{i:03d}"
        for field in ("question", "gold", *(f"prediction {k}" for k in range(1, 5))):
            if not isinstance(rec[field], str) or not rec[field].strip():
                raise fail(f"expected a non-empty text, got {str(rec[field])[:40]!r}", field)
        if not isinstance(rec["passages"], list):
            raise fail("expected a list of passages", "passages")
        questions.append({"question_id": qid, "question": rec["question"], "gold": rec["gold"],
                          "n_passages": len(rec["passages"])})
        for k in range(1, 5):
            text = rec[f"prediction {k}"]
            answers.append({"question_id": qid, "answer": k, "answer_id": f"{qid}|{k}", "text": text, "n_chars": len(text)})
        pref = rec["preference"]
        if not isinstance(pref, list) or len(pref) != len(PAIRS) or any(
                isinstance(c, bool) or c not in OUTCOME for c in pref):
            raise fail(f"expected {len(PAIRS)} codes in {{0, 1, 2}}, got {str(pref)[:60]}", "preference")
        for (a, b), code in zip(PAIRS, pref, strict=True):
            prefs.append({"question_id": qid, "first": a, "second": b, "code": int(code), "outcome": OUTCOME[code]})
        fb = rec["feedback"]
        if not isinstance(fb, dict) or not isinstance(fb.get("errors", []), list) or not isinstance(
                fb.get("missing-info", []), list):
            raise fail("expected an object with lists 'errors' and 'missing-info'", "feedback")
        text = rec["prediction 1"]
        n = len(text)
        spans: dict[str, list[tuple[int, int]]] = {}
        for j, err in enumerate(fb.get("errors", [])):
            if not isinstance(err, dict) or not isinstance(err.get("error type"), str):
                raise fail(f"errors[{j}] has no 'error type'", "feedback")
            start, end = err.get("start"), err.get("end")
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)) or start < 0:
                raise fail(f"errors[{j}] needs integer start >= 0 and end", "feedback")
            if end > n:
                clipped.append(i)
                end = n
            if end <= start:
                empty.append(i)
            types_seen.setdefault(err["error type"], None)
            spans.setdefault(err["error type"], []).append((start, max(start, end)))
        missing = [m.get("error type") for m in fb.get("missing-info", []) if isinstance(m, dict)]
        for m in missing:
            missing_seen.setdefault(str(m), None)
        row = {"question_id": qid, "n_errors": sum(len(v) for v in spans.values())}
        for t, sp in spans.items():
            row[f"err_{attribute_name(t)}"] = 1.0
            row[f"share_{attribute_name(t)}"] = _covered(sp, n) / n
        for m in missing:
            row[missing_name(str(m))] = 1.0
        attrs.append(row)
    error_types = tuple(types_seen)
    missing_types = tuple(missing_seen)
    columns = ["question_id", *(f"err_{attribute_name(t)}" for t in error_types),
               *(f"share_{attribute_name(t)}" for t in error_types),
               *(missing_name(t) for t in missing_types), "n_errors"]
    attributes = pd.DataFrame(attrs).reindex(columns=columns).fillna(0.0)
    attributes["any_error"] = (attributes["n_errors"] > 0).astype(float)
    attributes["n_errors"] = attributes["n_errors"].astype(int)
    extra = [t for t in error_types if t not in ERROR_TYPES] + [t for t in missing_types if t not in MISSING_TYPES]
    if extra:
        warns.append(DataWarning(file, f"error types outside the documented lists, kept as their own columns: {', '.join(extra)}"))
    if clipped:
        warns.append(DataWarning(file, f"{len(clipped)} error spans end past answer 1's last character; clipped to it",
                                 tuple(sorted(set(clipped)))))
    if empty:
        warns.append(DataWarning(file, f"{len(empty)} error spans are empty (end <= start); they mark the type but cover no characters",
                                 tuple(sorted(set(empty)))))
    q = pd.DataFrame(questions)
    dup = q["question"].duplicated(keep=False).to_numpy()
    if dup.any():
        warns.append(DataWarning(file, f"{int(q['question'].duplicated().sum())} questions repeat an earlier question's text "
                                 "(kept as separate questions)", tuple(int(r) + 1 for r in np.flatnonzero(dup))))
    a = pd.DataFrame(answers)
    same = a.duplicated(["question_id", "text"], keep=False).to_numpy()
    if same.any():
        n_q = a.loc[same, "question_id"].nunique()
        warns.append(DataWarning(file, f"{n_q} questions have two or more identical answers (their preferences are "
                                 "between the same text)", tuple(sorted({int(x[1:]) for x in a.loc[same, "question_id"]}))))
    p = pd.DataFrame(prefs)
    study = PreferenceStudy("qa_feedback", q, a, p, attributes, error_types, missing_types)
    return study, warns


def load_qa_feedback(data_dir: str | Path | None = None) -> PreferenceStudy:
    """Load and validate ``dev_feedback.json`` (module docstring); the sha256 is checked against the
    card (a different file is a warning, a different record count an error)."""
    card = load_card("qa_feedback")
    spec = card.file("dev_feedback")
    root = resolve_data_dir("qa_feedback", data_dir)
    path = root / spec.path
    raw = path.read_bytes()
    try:
        records = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"not a UTF-8 JSON file ({type(err).__name__}: {err})", file=path) from None
    study, warns = parse_records(records, str(path))
    digest = sha256_bytes(raw)
    if spec.sha256 and digest != spec.sha256:
        if spec.rows >= 0 and len(records) != spec.rows:
            raise InputError(f"{len(records)} records where the released file has {spec.rows} (sha256 differs)", file=path)
        warns.append(DataWarning(spec.path, f"sha256 differs from the released file's ({spec.sha256[:12]}…); the "
                                 "record count matches and every record passed the checks, but values may have been edited"))
    info = InputFile(path=spec.path, sha256=digest, rows=len(records))
    return PreferenceStudy(study.name, study.questions, study.answers, study.preferences, study.attributes,
                           study.error_types, study.missing_types, tuple(warns), (info,), str(root))
