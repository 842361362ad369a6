"""steerstats.models: reward models on frozen embeddings (SPEC section 2, Collins et al. 2024).

- :class:`CoarseRewardModel` — MLP straight to the aggregate logit;
- :class:`ConceptBottleneckRewardModel` — multi-head attribute MLP + linear aggregator, modes
  ``sequential`` (the paper's), ``independent``, ``joint``; test-time interventions;
- :func:`train` / :func:`train_many` — whole training runs as one jitted ``lax.scan``;
- :func:`save_model` / :func:`load_model` / :func:`load_spec` — persistence and ``models/*.toml``.
"""

from steerstats.models.coarse import CoarseRewardModel
from steerstats.models.concept_bottleneck import MODES, ConceptBottleneckRewardModel
from steerstats.models.concept_embedding import ConceptEmbeddingRewardModel
from steerstats.models.interventions import ORDERS, intervention_curve, intervention_orders
from steerstats.models.mlp import MLP, JointCBM, PairwiseReward
from steerstats.models.pairwise import BradleyTerryRewardModel, PlackettLuceRewardModel
from steerstats.models.persistence import KINDS, load_model, load_spec, make_model, save_model
from steerstats.models.training import (
    TrainResult,
    TrainSpec,
    row_capacity,
    train,
    train_many,
    training_capacity,
)

__all__ = [
    "KINDS",
    "MLP",
    "MODES",
    "ORDERS",
    "BradleyTerryRewardModel",
    "CoarseRewardModel",
    "ConceptBottleneckRewardModel",
    "ConceptEmbeddingRewardModel",
    "JointCBM",
    "PairwiseReward",
    "PlackettLuceRewardModel",
    "TrainResult",
    "TrainSpec",
    "intervention_curve",
    "intervention_orders",
    "load_model",
    "load_spec",
    "make_model",
    "row_capacity",
    "save_model",
    "train",
    "train_many",
    "training_capacity",
]
