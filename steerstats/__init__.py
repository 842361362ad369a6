"""steerstats: statistics of steerability and reward models.

The flat API below is the front door; each subpackage (``steerstats.data``, ``.metrics``,
``.uncertainty``, ``.report``, ``.models``, ``.predictors``, ``.decompose``, ``.features``,
``.goalspace``, ``.generate``, ``.budget``, ``.embed``) re-exports its full public API. Names are
resolved lazily, so ``import steerstats`` does not start JAX or torch.

    import steerstats as ss
    study = ss.load_study("vafa2025", data_dir="../shared/data/vafa2025")
    ss.similarity_by_model(study.steering)
    ss.cluster_bootstrap(stat, study.steering, "goal_image", n_boot=10_000)
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBPACKAGES = (
    "data", "metrics", "uncertainty", "report", "models", "predictors", "decompose",
    "features", "goalspace", "generate", "budget", "embed", "errors",
)

_EXPORTS: dict[str, str] = {
    # data
    "Study": "data", "DataWarning": "data", "load_study": "data", "load_card": "data",
    "fetch_dataset": "data", "simulate_study": "data", "simulate_steering": "data",
    "SimulationParams": "data", "FeedbackWorld": "data", "simulate_feedback": "data",
    "load_feedback": "data",
    # metrics
    "similarity_by_model": "metrics", "similarity_by_attempt": "metrics",
    "satisfaction_by_model": "metrics", "majority_rate_exact": "metrics",
    "majority_rate_seeded": "metrics", "blind_steering_ratio": "metrics",
    "image_steering_traces": "metrics",
    # uncertainty
    "cluster_bootstrap": "uncertainty", "BootstrapResult": "uncertainty",
    # reward models
    "CoarseRewardModel": "models", "ConceptBottleneckRewardModel": "models",
    "intervention_curve": "models",
    # predictors and decomposition
    "SteerabilityPredictor": "predictors", "goal_holdout_split": "predictors",
    "goal_kfold": "predictors", "decomposition_terms": "decompose",
    "estimate_terms": "decompose", "bootstrap_terms": "decompose",
    # goal space
    "steerability_metrics": "goalspace", "Normalizer": "goalspace", "sample_probes": "goalspace",
    # generation
    "SyntheticBackend": "generate", "PoolBackend": "generate", "DiffusersBackend": "generate",
    "ThompsonScale": "generate",
    # embeddings
    "ClipEmbedder": "embed", "embed_table": "embed",
    # budget experiments and report
    "run_budget": "budget", "load_config": "budget", "build_report": "report",
    # errors
    "SteerstatsError": "errors", "InputError": "errors",
}

__all__ = sorted([*_EXPORTS, *_SUBPACKAGES, "__version__"])


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"steerstats.{name}")
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"steerstats.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'steerstats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
