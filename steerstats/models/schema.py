"""Config schema of the reward models' hyper-parameters (constructor arguments), for the strict
config layer (:mod:`steerstats.config`): ``[model]`` and ``[[arm]].params`` of budget sweeps,
``[models.NAME]`` of rejection-sampling runs."""

from __future__ import annotations

from steerstats.config import OPTIONAL, Field
from steerstats.models.concept_bottleneck import MODES

#: every constructor argument of CoarseRewardModel / ConceptBottleneckRewardModel a config may set
#: (``random_state`` comes from the run's seed; ``attribute_names`` from the arm's attributes)
REWARD_MODEL_FIELDS: dict[str, Field] = {
    "hidden": Field("list[int]", (256, 256), "hidden layer widths of the MLP", ge=1, max_items=16),
    "epochs": Field("int", 100, "training epochs", ge=1, le=100_000),
    "learning_rate": Field("float", 1e-4, "Adam learning rate", gt=0, le=10),
    "batch_size": Field("int", 128, "minibatch size", ge=1),
    "validation_fraction": Field("float", 0.0, "share of training groups held out for early stopping", ge=0, lt=1),
    "mode": Field("str", "sequential", "CBM training mode (cbm only)", choices=MODES),
    "concept_weight": Field("float", 1.0, "weight of the attribute loss in joint mode (cbm only)", ge=0),
    "C": Field("float", 1.0, "inverse L2 strength of the stage-2 aggregator (cbm only)", gt=0),
    "embedding_size": Field("int", 16, "width of each concept's two embeddings (cem only)", ge=1, le=4096),
    "intervention_rate": Field("float", 0.25, "training-time intervention probability per attribute (cem only)",
                               ge=0, le=1),
}

#: keys only the concept-bottleneck model accepts
CBM_ONLY = ("mode", "concept_weight", "C")
#: keys only the concept-embedding model accepts (it shares concept_weight with the bottleneck)
CEM_ONLY = ("embedding_size", "intervention_rate")
#: keys each model kind may not be given
NOT_FOR = {"coarse": CBM_ONLY + CEM_ONLY, "cbm": CEM_ONLY, "cem": ("mode", "C")}


def model_fields(*, defaults: bool = False) -> dict[str, Field]:
    """The fields with their defaults (``defaults=True``) or all optional (a table then holds only
    what the user set, and the estimator's own defaults apply)."""
    if defaults:
        return dict(REWARD_MODEL_FIELDS)
    from dataclasses import replace

    return {k: replace(f, default=OPTIONAL) for k, f in REWARD_MODEL_FIELDS.items()}
