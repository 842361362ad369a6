"""Loaders for every file of the released study (card ``datasets/vafa2025.toml``) and ``load_study``.

Frames keep the release's column names; dtypes come from the card (``str`` for text and model
names, ``int64``, ``float64``, ``bool``). Each loader validates at load (see
:mod:`steerstats.data.table`) and returns a :class:`Table`: the frame, the quirks found and the
file's provenance.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from steerstats._io import sha256_bytes
from steerstats.data.card import DatasetCard, load_card
from steerstats.data.crosscheck import cross_check
from steerstats.data.image_steering import CONDITIONS, tidy_image_steering
from steerstats.data.location import resolve_data_dir
from steerstats.data.study import DataWarning, InputFile, Study
from steerstats.data.table import json_object_to_csv, parse_table
from steerstats.errors import DataNotFoundError, InputError

BLIND_STEERING_K = (4, 7, 10, 20)
SEED_CONSTRAINT_N = (1, 2, 3)


@dataclass(frozen=True)
class Table:
    """A validated file: typed frame, quirks found (DataWarning), provenance."""

    frame: pd.DataFrame
    warnings: tuple[DataWarning, ...]
    file: InputFile


def load_file(
    path: str | Path,
    key: str,
    card: DatasetCard | str = "vafa2025",
    *,
    relpath: str | None = None,
    release: bool = True,
) -> Table:
    """Load and validate ``path`` against the card's schema for file ``key`` (e.g. ``"steering"``).

    Errors name ``path``; warnings and provenance use ``relpath`` (default: the card's path).
    ``release=False`` (a study of one's own in the release's layout) skips the checks against the
    released file (sha256, record count); the schema applies as always.
    Image-steering files come back tidy (see :func:`tidy_image_steering`).
    """
    card = load_card(card) if isinstance(card, str) else card
    spec = card.file(key)
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{path}: file not found")
    rel = relpath or spec.path
    raw = path.read_bytes()
    table = json_object_to_csv(raw, spec, str(path)) if spec.format == "json-object" else raw
    frame, warns = parse_table(table, spec, card.models, label=str(path))
    digest = sha256_bytes(raw)
    warns = [dataclasses.replace(w, file=rel) for w in warns]
    if release and spec.sha256 and digest != spec.sha256:
        warns.append(_modified_file(path, raw, len(frame), spec))
    info = InputFile(path=rel, sha256=digest, rows=len(frame))
    if "all_attempts" in frame.columns:
        condition = CONDITIONS.get(Path(spec.path).name, spec.key)
        frame = tidy_image_steering(frame, condition, str(path), card.models.get("image_steering"))
    return Table(frame, tuple(warns), info)


def _modified_file(path: Path, raw: bytes, rows: int, spec) -> DataWarning:
    """A file whose sha256 is not the card's: an error if it looks truncated or its record count
    differs from the card's, else a warning with both counts (the values may have been edited)."""
    if not raw.endswith((b"\n", b"\r")):
        raise InputError("the last record has no line end: the file looks truncated (its sha256 "
                         "differs from the released file's)", file=path, row=rows)
    if spec.rows >= 0 and rows != spec.rows:
        raise InputError(f"{rows} data records where the released file has {spec.rows} (sha256 "
                         "differs): rows were deleted or added", file=path)
    return DataWarning(
        spec.path,
        f"sha256 differs from the released file's ({spec.sha256[:12]}…); the record count matches "
        f"({rows} = {spec.rows}) and every field passed the card's schema, but values may have been edited",
    )


def load_steering(path: str | Path) -> Table:
    """``image_generation/steering.csv``: one text-steering attempt per row (dreamsim, clip_similarity)."""
    return load_file(path, "steering")


def load_sat_ratings(path: str | Path) -> Table:
    """``image_generation/sat_rating_4.csv``: 4-point satisfaction ratings of steered images."""
    return load_file(path, "sat_ratings")


def load_improvement(path: str | Path) -> Table:
    """``image_generation/improvement.csv``: is the last attempt closer than the first (last_chosen)."""
    return load_file(path, "improvement")


def load_pom(path: str | Path, attempt: int) -> Table:
    """``image_generation/pom{1,5}.csv``: prompt-output misalignment judgements (ref_chosen)."""
    return load_file(path, f"pom{attempt}")


def load_blind_steering(path: str | Path, k: int) -> Table:
    """``image_generation/blind_steering_{k}.csv``: k LLM rewrites per goal (score, user_score)."""
    return load_file(path, f"blind_steering_{k}")


def load_choosing_seed(path: str | Path) -> Table:
    """``image_generation/choosing_seed.csv``: text steering where the user also picks the seed."""
    return load_file(path, "choosing_seed")


def load_seed_constraint(path: str | Path, n: int) -> Table:
    """``image_generation/steering_{n}_seed(s).csv``: steering constrained to n seeds."""
    return load_file(path, f"seed_constraint_{n}")


def load_bookshelf(path: str | Path) -> Table:
    """``image_generation/bookshelf_steering.csv`` (its unnamed index column is dropped)."""
    return load_file(path, "bookshelf")


def load_image_steering(path: str | Path, condition: str) -> Table:
    """A tidy ``img_steering*.csv``; ``condition`` in {"random", "learned", "learned_tiles"}."""
    keys = {v: f"image_steering_{v}" for v in CONDITIONS.values()}
    if condition not in keys:
        raise ValueError(f"condition must be one of {sorted(keys)}, got {condition!r}")
    return load_file(path, keys[condition])


def load_llm_steering(path: str | Path) -> Table:
    """``llm/steering_llms.csv``: one attempt to steer an LLM's headline rewrite."""
    return load_file(path, "llm_steering")


def load_llm_sat_ratings(path: str | Path) -> Table:
    """``llm/sat_ratings.csv``: 4-point satisfaction ratings of generated headlines."""
    return load_file(path, "llm_sat_ratings")


def load_llm_improvement(path: str | Path) -> Table:
    """``llm/improvement.csv``: is the last attempt's headline closer than the first."""
    return load_file(path, "llm_improvement")


def load_vafa2025(data_dir: str | Path | None = None, *, card: str = "vafa2025", partial: bool = False) -> Study:
    """Load and validate every file of the released study into a :class:`Study`.

    ``data_dir`` is resolved by :func:`resolve_data_dir`. Every file of the card must be present,
    unless ``partial``: a study of one's own in the release's layout, where the files present are
    loaded (``steering.csv`` at least) against the card's schema but not the release's checksums
    and record counts, the study lacks the others (so the report skips their sections) and a
    warning lists them.
    """
    root = resolve_data_dir(card, data_dir)
    dcard = load_card(card)
    missing = [f.path for f in dcard.files if not (root / f.path).is_file()]
    absent: list[DataWarning] = []
    if missing and not partial:
        raise DataNotFoundError(
            f"{root}: {len(missing)} file(s) of dataset '{dcard.name}' missing ({', '.join(missing)}); "
            f"run: steerstats data fetch {dcard.name} --out {root} (or pass --partial for a study of your own)"
        )
    if missing:
        steering_path = dcard.file("steering").path
        if steering_path in missing:
            raise DataNotFoundError(f"{root}: a partial study needs at least {steering_path}")
        absent.append(DataWarning(str(root), f"partial study: {len(missing)} file(s) absent, their sections are "
                                  f"skipped ({', '.join(missing)})"))
    tables: dict[str, Table] = {f.key: load_file(root / f.path, f.key, dcard, release=not partial)
                                for f in dcard.files if f.path not in missing}

    def frame(key: str) -> pd.DataFrame | None:
        return tables[key].frame if key in tables else None

    parts = [frame(f"image_steering_{c}") for c in CONDITIONS.values()]
    image_steering = pd.concat([p for p in parts if p is not None], ignore_index=True) if any(
        p is not None for p in parts) else None
    blind = {k: frame(f"blind_steering_{k}") for k in BLIND_STEERING_K if frame(f"blind_steering_{k}") is not None}
    cross = cross_check(
        {
            "steering": frame("steering"),
            "sat_ratings": frame("sat_ratings"),
            "improvement": frame("improvement"),
            "pom1": frame("pom1"),
            "pom5": frame("pom5"),
            "blind_steering": blind,
        }
    )
    return Study(
        name=dcard.name,
        steering=frame("steering"),
        sat_ratings=frame("sat_ratings"),
        improvement=frame("improvement"),
        pom1=frame("pom1"),
        pom5=frame("pom5"),
        blind_steering=blind,
        choosing_seed=frame("choosing_seed"),
        seed_constraint={n: frame(f"seed_constraint_{n}") for n in SEED_CONSTRAINT_N
                         if frame(f"seed_constraint_{n}") is not None},
        bookshelf=frame("bookshelf"),
        image_steering=image_steering,
        llm_steering=frame("llm_steering"),
        llm_sat_ratings=frame("llm_sat_ratings"),
        llm_improvement=frame("llm_improvement"),
        warnings=tuple(absent) + tuple(w for t in tables.values() for w in t.warnings) + tuple(cross),
        files=tuple(t.file for t in tables.values()),
        source=str(root),
    )


# Study attribute -> card key of the file it is validated against (image_steering is tidy: skipped)
_STUDY_FILES: dict[str, str] = {
    "steering": "steering",
    "sat_ratings": "sat_ratings",
    "improvement": "improvement",
    "pom1": "pom1",
    "pom5": "pom5",
    "choosing_seed": "choosing_seed",
    "bookshelf": "bookshelf",
    "llm_steering": "llm_steering",
    "llm_sat_ratings": "llm_sat_ratings",
    "llm_improvement": "llm_improvement",
}


def validate_study(study: Study, card: DatasetCard | str = "vafa2025") -> list[DataWarning]:
    """Validate every frame of an in-memory study (e.g. a simulated one) against the card's schema.

    Each frame is serialised to CSV and parsed exactly as a file would be, so the same
    :class:`~steerstats.errors.InputError` s apply (``file`` is ``<study name>/<attribute>``).
    Returns the warnings found.
    """
    card = load_card(card) if isinstance(card, str) else card
    frames: list[tuple[str, str, pd.DataFrame]] = [
        (attr, key, getattr(study, attr)) for attr, key in _STUDY_FILES.items() if getattr(study, attr) is not None
    ]
    frames += [(f"blind_steering[{k}]", f"blind_steering_{k}", v) for k, v in study.blind_steering.items()]
    frames += [(f"seed_constraint[{k}]", f"seed_constraint_{k}", v) for k, v in study.seed_constraint.items()]
    warnings: list[DataWarning] = []
    for attr, key, frame in frames:
        spec = card.file(key)
        if any(c.drop for c in spec.columns) and frame.columns[0] != "":
            frame = frame.reset_index(drop=True).rename_axis("").reset_index()  # the unnamed index
        raw = frame.to_csv(index=False).encode("utf-8")
        _, warns = parse_table(raw, spec, card.models, label=f"{study.name}/{attr}")
        warnings.extend(w for w in warns if "dropped at load" not in w.message)
    return warnings


#: datasets that are fine-grained feedback studies (:class:`steerstats.data.tifa160.FeedbackStudy`)
FEEDBACK_DATASETS = ("tifa160",)
#: datasets that are preference studies (:class:`steerstats.data.qa_feedback.PreferenceStudy`)
PREFERENCE_DATASETS = ("qa_feedback",)


def load_study(name: str = "synthetic", data_dir: str | Path | None = None, seed: int = 0, *, partial: bool = False):
    """The study called ``name``: ``"synthetic"`` (``simulate_study(seed=seed)``, known truth), a
    steerability card such as ``"vafa2025"`` (a :class:`Study`), or a feedback dataset such as
    ``"tifa160"`` (a :class:`~steerstats.data.tifa160.FeedbackStudy`); files from
    :func:`resolve_data_dir`. ``partial``: a steerability study with only some of the card's files
    (:func:`load_vafa2025`)."""
    if name == "synthetic":
        from steerstats.data.simulate import simulate_study

        return simulate_study(seed=seed)
    if name in FEEDBACK_DATASETS:
        from steerstats.data.tifa160 import load_tifa160

        return load_tifa160(data_dir)
    if name in PREFERENCE_DATASETS:
        from steerstats.data.qa_feedback import load_qa_feedback

        return load_qa_feedback(data_dir)
    return load_vafa2025(data_dir, card=name, partial=partial)

