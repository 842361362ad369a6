"""Goal-space steerability (Chang, Schnabel, Swaminathan, Wiens 2025; SPEC section 3).

Texts are mapped to raw goal measures (:mod:`.mappers`), normalised to [0, 1]
(:mod:`.dimensions`), and a (source, goal, output) probe is scored by steering error,
miscalibration and orthogonality (:mod:`.metrics`). :mod:`.best_of_n` picks among candidates,
:mod:`.probes` samples probes, :mod:`.table` scores a user's table and :mod:`.llm_study` runs the
released LLM study in goal space (:func:`run_llm_study`). Figures: :mod:`steerstats.report.goalspace`.
"""

from steerstats.goalspace.best_of_n import best_of_n, candidate_errors
from steerstats.goalspace.dimensions import DEFAULT_RANGES, DIMENSIONS, Normalizer, check_dims
from steerstats.goalspace.llm_study import LLMGoalspaceResult, run_llm_study
from steerstats.goalspace.mappers import (
    MAPPERS,
    flesch_kincaid,
    formality,
    formality_from_tags,
    formality_score,
    formality_signs,
    map_texts,
    pos_tags,
    reading_difficulty,
    syllable_profile,
    text_length,
    textual_diversity,
)
from steerstats.goalspace.metrics import (
    CUT_POINTS,
    SteerabilityMetrics,
    bin_change,
    fill_goal,
    median_iqr,
    steerability_metrics,
    summarize,
)
from steerstats.goalspace.probes import Probes, coverage_weights, sample_probes
from steerstats.goalspace.table import (
    ScoredTable,
    median_iqr_table,
    read_table,
    reference_normalizer,
    score_frame,
    score_table,
)

__all__ = [
    "CUT_POINTS",
    "DEFAULT_RANGES",
    "DIMENSIONS",
    "MAPPERS",
    "LLMGoalspaceResult",
    "Normalizer",
    "Probes",
    "ScoredTable",
    "SteerabilityMetrics",
    "best_of_n",
    "bin_change",
    "candidate_errors",
    "check_dims",
    "coverage_weights",
    "fill_goal",
    "flesch_kincaid",
    "formality",
    "formality_from_tags",
    "formality_score",
    "formality_signs",
    "map_texts",
    "median_iqr",
    "median_iqr_table",
    "pos_tags",
    "read_table",
    "reading_difficulty",
    "reference_normalizer",
    "run_llm_study",
    "sample_probes",
    "score_frame",
    "score_table",
    "steerability_metrics",
    "summarize",
    "syllable_profile",
    "text_length",
    "textual_diversity",
]
