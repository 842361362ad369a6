"""steerstats.data: dataset cards, validated loaders, the simulated study, download.

    from steerstats.data import load_study
    study = load_study("vafa2025", "path/to/vafa2025")   # or load_study("synthetic", seed=0)
    study.steering.groupby("model").dreamsim.mean()
    for w in study.warnings: print(w)
"""

from steerstats.data.card import (
    ColumnSpec,
    DatasetCard,
    FileSpec,
    SequenceSpec,
    load_card,
    schema_only,
)
from steerstats.data.fetch import FetchError, FetchResult, fetch_dataset
from steerstats.data.image_steering import CONDITIONS, tidy_image_steering
from steerstats.data.loaders import (
    Table,
    load_blind_steering,
    load_bookshelf,
    load_choosing_seed,
    load_file,
    load_image_steering,
    load_improvement,
    load_llm_improvement,
    load_llm_sat_ratings,
    load_llm_steering,
    load_pom,
    load_sat_ratings,
    load_seed_constraint,
    load_steering,
    load_study,
    load_vafa2025,
    validate_study,
)
from steerstats.data.location import default_cache_dir, resolve_data_dir
from steerstats.data.simulate import SimulationParams, simulate_steering, simulate_study
from steerstats.data.simulate.truth import simulation_truth
from steerstats.data.study import DataWarning, InputFile, Study

__all__ = [
    "CONDITIONS",
    "ColumnSpec",
    "DataWarning",
    "DatasetCard",
    "FetchError",
    "FetchResult",
    "FileSpec",
    "InputFile",
    "SequenceSpec",
    "SimulationParams",
    "Study",
    "Table",
    "default_cache_dir",
    "fetch_dataset",
    "load_blind_steering",
    "load_bookshelf",
    "load_card",
    "load_choosing_seed",
    "load_file",
    "load_image_steering",
    "load_improvement",
    "load_llm_improvement",
    "load_llm_sat_ratings",
    "load_llm_steering",
    "load_pom",
    "load_sat_ratings",
    "load_seed_constraint",
    "load_steering",
    "load_study",
    "load_vafa2025",
    "resolve_data_dir",
    "schema_only",
    "simulate_steering",
    "simulate_study",
    "simulation_truth",
    "tidy_image_steering",
    "validate_study",
]

# Fine-grained feedback for reward models (issue 4).
from steerstats.data.feedback_io import FeedbackData, feedback_from_sample, load_feedback
from steerstats.data.simulate.feedback import (
    ALIGNMENT_ATTRIBUTES,
    ANNOTATION_SECONDS,
    QUALITY_ATTRIBUTES,
    TREE_ATTRIBUTES,
    FeedbackSample,
    FeedbackWorld,
    FeedbackWorldConfig,
    annotation_costs,
    simulate_feedback,
)

__all__ += [
    "ALIGNMENT_ATTRIBUTES",
    "ANNOTATION_SECONDS",
    "QUALITY_ATTRIBUTES",
    "TREE_ATTRIBUTES",
    "FeedbackData",
    "FeedbackSample",
    "FeedbackWorld",
    "FeedbackWorldConfig",
    "annotation_costs",
    "feedback_from_sample",
    "load_feedback",
    "simulate_feedback",
]
