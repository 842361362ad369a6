"""steerstats.metrics: the steerability metrics of SPEC section 1 as weighted statistics.

Every estimator with signature ``f(frame, weights=None, ...)`` follows the contract of
:mod:`steerstats.metrics.weighted` (weights None / (n,) / (B, n) -> (k,) / (B, k)), so the cluster
bootstrap evaluates all replicates in one call. ``*_summary`` functions give point estimates with
n and the plain row SEM the paper printed. No jax/torch imports here.
"""

from steerstats.metrics.blind import BLIND_STATS, blind_steering_goals, blind_steering_ratio
from steerstats.metrics.cells import (
    AVERAGE,
    OVERALL,
    Cells,
    concat_cells,
    crossed_cells,
    group_cells,
)
from steerstats.metrics.judgements import (
    chunk_sizes,
    expected_votes,
    judgement_groups,
    judgement_share,
    majority_rate_exact,
    majority_rate_exact_summary,
    majority_rate_leave_out,
    majority_rate_seeded,
    majority_votes_seeded,
    p_majority_yes,
)
from steerstats.metrics.llm import LLM_GOAL, clean_headline, llm_ratings, llm_ratings_summary
from steerstats.metrics.satisfaction import (
    RATING_STATS,
    rating_max_by_model,
    satisfaction_by_model,
    satisfaction_summary,
)
from steerstats.metrics.seeds import (
    DEFAULT_SEED_MODEL,
    condition_levels,
    seed_choice_frame,
    seed_choice_means,
    seed_choice_summary,
    seed_constraint_frame,
    seed_constraint_means,
)
from steerstats.metrics.similarity import (
    ATTEMPTS,
    model_attempt_cells,
    model_cells,
    similarity_by_attempt,
    similarity_by_model,
    similarity_first_last,
    similarity_summary,
)
from steerstats.metrics.traces import image_steering_traces
from steerstats.metrics.weighted import Statistic, stack_statistics

__all__ = [
    "ATTEMPTS",
    "AVERAGE",
    "BLIND_STATS",
    "DEFAULT_SEED_MODEL",
    "LLM_GOAL",
    "OVERALL",
    "RATING_STATS",
    "Cells",
    "Statistic",
    "blind_steering_goals",
    "blind_steering_ratio",
    "chunk_sizes",
    "clean_headline",
    "concat_cells",
    "condition_levels",
    "crossed_cells",
    "expected_votes",
    "group_cells",
    "image_steering_traces",
    "judgement_groups",
    "judgement_share",
    "llm_ratings",
    "llm_ratings_summary",
    "majority_rate_exact",
    "majority_rate_exact_summary",
    "majority_rate_leave_out",
    "majority_rate_seeded",
    "majority_votes_seeded",
    "model_attempt_cells",
    "model_cells",
    "p_majority_yes",
    "rating_max_by_model",
    "satisfaction_by_model",
    "satisfaction_summary",
    "seed_choice_frame",
    "seed_choice_means",
    "seed_choice_summary",
    "seed_constraint_frame",
    "seed_constraint_means",
    "similarity_by_attempt",
    "similarity_by_model",
    "similarity_first_last",
    "similarity_summary",
    "stack_statistics",
]
