"""Steerability predictors (Vafa et al. 2025, Sec. 4): four feature sets, ridge and MLP heads,
goal-grouped splits, held-out R^2/MSE as a weighted statistic."""

from steerstats.predictors.evaluate import held_out_predictions, r2_mse
from steerstats.predictors.predictor import HEADS, PREDICTORS, SteerabilityPredictor, make_head
from steerstats.predictors.ridge import (
    DEFAULT_ALPHAS,
    FoldStats,
    RidgeHead,
    cv_alpha,
    fold_stats,
    ridge_path,
    ridge_solve,
)
from steerstats.predictors.split import goal_fold_ids, goal_holdout_split, goal_kfold
from steerstats.predictors.study import PredictorStudy, goal_table_for, run_predictors

__all__ = [
    "DEFAULT_ALPHAS",
    "HEADS",
    "PREDICTORS",
    "FoldStats",
    "PredictorStudy",
    "RidgeHead",
    "SteerabilityPredictor",
    "cv_alpha",
    "fold_stats",
    "goal_fold_ids",
    "goal_holdout_split",
    "goal_kfold",
    "goal_table_for",
    "held_out_predictions",
    "make_head",
    "r2_mse",
    "ridge_path",
    "ridge_solve",
    "run_predictors",
]
