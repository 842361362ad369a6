"""steerstats.feedback: meta-evaluation of fine-grained feedback (SPEC section 2 on real data):
human reliability, automatic scorers' agreement with humans, DSG attributes.

    from steerstats.data.tifa160 import load_tifa160
    from steerstats.feedback import run_feedback_meta
    meta = run_feedback_meta(load_tifa160("../shared/data/tifa160"), n_boot=1000)
    meta.agreement.table        # scorer_agreement
"""

from steerstats.feedback.agreement import Agreement, model_ranking, run_agreement
from steerstats.feedback.reliability import Reliability, icc2, run_reliability
from steerstats.feedback.reward_models import RewardComparison, run_reward_comparison
from steerstats.feedback.study import FeedbackMeta, run_feedback_meta, scorer_frame
from steerstats.feedback.tables import (
    INPUTS_NOTE,
    attribute_names,
    feedback_images,
    tifa160_aggregates,
    tifa160_feedback,
)

__all__ = [
    "INPUTS_NOTE",
    "Agreement",
    "FeedbackMeta",
    "Reliability",
    "RewardComparison",
    "attribute_names",
    "feedback_images",
    "icc2",
    "model_ranking",
    "run_agreement",
    "run_feedback_meta",
    "run_reliability",
    "run_reward_comparison",
    "scorer_frame",
    "tifa160_aggregates",
    "tifa160_feedback",
]
