"""`Study`: the one container every steerability analysis passes around.

A study holds validated pandas frames with the release's own column names (so a user's own study in
the same shape works unchanged), the warnings raised while loading, the input files with their
sha256 (provenance for manifests), and, for simulated studies, the true parameter values.
Frames a study does not have are ``None``; analyses that need them say so.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # the simulators import Study
    from steerstats.data.simulate.truth import SimulationTruth


def require_frame(study: Any, attr: str) -> Any:
    """``study.attr``, or a DataNotFoundError when it is missing (None) or an empty frame: the
    ``require`` of the feedback and preference studies."""
    from steerstats.errors import DataNotFoundError

    value = getattr(study, attr, None)
    if value is None or (isinstance(value, pd.DataFrame) and value.empty):
        raise DataNotFoundError(f"study '{study.name}' has no '{attr}' data")
    return value


@dataclass(frozen=True)
class DataWarning:
    """A quirk a careful analyst handles (kept, reported in the report), not an error."""

    file: str
    message: str
    rows: tuple[int, ...] = ()  # 1-based data records involved, if any

    def __str__(self) -> str:
        where = f" (rows {', '.join(map(str, self.rows[:10]))}{', ...' if len(self.rows) > 10 else ''})" if self.rows else ""
        return f"{self.file}: {self.message}{where}"


@dataclass(frozen=True)
class InputFile:
    """An input file's provenance: path relative to the study root, sha256, rows."""

    path: str
    sha256: str
    rows: int


@dataclass(frozen=True)
class Study:
    """A steerability study (Vafa et al. 2025 layout).

    Frames (release file -> attribute):
      steering            image_generation/steering.csv
      sat_ratings         image_generation/sat_rating_4.csv
      improvement         image_generation/improvement.csv
      pom1, pom5          image_generation/pom1.csv, pom5.csv
      blind_steering      {k: image_generation/blind_steering_k.csv} for k in 4, 7, 10, 20
      choosing_seed       image_generation/choosing_seed.csv
      seed_constraint     {n: image_generation/steering_{n}_seed(s).csv} for n in 1, 2, 3
      bookshelf           image_generation/bookshelf_steering.csv
      image_steering      tidy rounds of img_steering*.csv (one row per user x task x round),
                          column ``condition`` in {"random", "learned", "learned_tiles"}; columns
                          in steerstats.data.image_steering.TIDY_COLUMNS (task 0-based, round
                          1..4, mixture_scale, selected_index with 0 = kept the current image,
                          kept_current, n_offered, images_offered as a JSON list, source_row)
      llm_steering        llm/steering_llms.csv
      llm_sat_ratings     llm/sat_ratings.csv
      llm_improvement     llm/improvement.csv
    """

    name: str
    steering: pd.DataFrame | None = None
    sat_ratings: pd.DataFrame | None = None
    improvement: pd.DataFrame | None = None
    pom1: pd.DataFrame | None = None
    pom5: pd.DataFrame | None = None
    blind_steering: dict[int, pd.DataFrame] = field(default_factory=dict)
    choosing_seed: pd.DataFrame | None = None
    seed_constraint: dict[int, pd.DataFrame] = field(default_factory=dict)
    bookshelf: pd.DataFrame | None = None
    image_steering: pd.DataFrame | None = None
    llm_steering: pd.DataFrame | None = None
    llm_sat_ratings: pd.DataFrame | None = None
    llm_improvement: pd.DataFrame | None = None
    warnings: tuple[DataWarning, ...] = ()
    files: tuple[InputFile, ...] = ()
    truth: SimulationTruth | None = None  # known values of a simulated study (data/simulate/truth.py)
    source: str = ""  # where it came from: a directory, or "simulate(seed=...)"

    def frames(self) -> list[tuple[str, pd.DataFrame]]:
        """(name, frame) of every table the study holds."""
        names = ("steering", "sat_ratings", "improvement", "pom1", "pom5", "choosing_seed", "bookshelf",
                 "image_steering", "llm_steering", "llm_sat_ratings", "llm_improvement")
        out = [(n, getattr(self, n)) for n in names if getattr(self, n) is not None]
        out += [(f"blind_steering[{k}]", v) for k, v in self.blind_steering.items()]
        out += [(f"seed_constraint[{k}]", v) for k, v in self.seed_constraint.items()]
        return out

    def require(self, attr: str) -> Any:
        """Return frame ``attr`` or raise a clear error if this study lacks it."""
        from steerstats.errors import DataNotFoundError

        value = getattr(self, attr)
        if value is None or (isinstance(value, dict) and not value):
            raise DataNotFoundError(f"study '{self.name}' has no '{attr}' data")
        return value
