"""steerstats.steerability: the steerability tables of the report (Vafa et al. 2025), each with
design-based SEs and, on simulated data, the truth.

    from steerstats.steerability import similarity_tables
    by_model, by_attempt, design = similarity_tables(study, n_boot=2000, seed=0)
"""

from steerstats.steerability.design import (
    ID_NAMES,
    ID_SUFFIXES,
    SE_SUFFIXES,
    add_design_se,
    bootstrap_se,
    order_columns,
    se_stem,
)
from steerstats.steerability.tables import (
    JUDGEMENTS,
    blind_steering_table,
    image_steering_table,
    judgement_table,
    llm_table,
    rating_distribution_table,
    satisfaction_table,
    seed_choice_table,
    seed_constraint_table,
    similarity_tables,
)
from steerstats.steerability.truth import add_truth

__all__ = [
    "ID_NAMES",
    "ID_SUFFIXES",
    "JUDGEMENTS",
    "SE_SUFFIXES",
    "add_design_se",
    "add_truth",
    "blind_steering_table",
    "bootstrap_se",
    "image_steering_table",
    "judgement_table",
    "llm_table",
    "order_columns",
    "rating_distribution_table",
    "satisfaction_table",
    "se_stem",
    "seed_choice_table",
    "seed_constraint_table",
    "similarity_tables",
]
