"""steerstats.budget: which feedback to buy under an annotation budget (SPEC section 2).

    from steerstats.budget import run_experiment
    result = run_experiment("analyses/budget_experiment2.toml", "out/budget/experiment2")
    result.records, result.selection      # finished runs; tables: summary_table(result.records, config)

Sweeps coarse and concept-bottleneck reward models over training sizes, attribute sets and seeds
(:func:`run_budget`, resumable), reports held-out ROC-AUC with cluster-bootstrap CIs against N and
annotation cost (:func:`summary_table`, :func:`contrast_table`; the written report is
:func:`steerstats.report.budget.budget_run`), and picks attributes greedily by AUC gain per unit cost
(:func:`greedy_attribute_selection`).
"""

from steerstats.budget.auc import auc_with_ci, weighted_auc
from steerstats.budget.config import Arm, BudgetConfig, attribute_set, load_config, parse_config
from steerstats.budget.costs import per_example_cost, run_cost
from steerstats.budget.experiment import BudgetExperiment, run_experiment, run_selection
from steerstats.budget.outputs import (
    contrast_table,
    interventions_table,
    summary_table,
    weights_table,
)
from steerstats.budget.runner import (
    finished_runs,
    load_data,
    make_split,
    planned_runs,
    read_results,
    run_budget,
    training_rows,
)
from steerstats.budget.selection import greedy_attribute_selection

__all__ = [
    "Arm",
    "BudgetConfig",
    "BudgetExperiment",
    "attribute_set",
    "auc_with_ci",
    "contrast_table",
    "finished_runs",
    "greedy_attribute_selection",
    "interventions_table",
    "load_config",
    "load_data",
    "make_split",
    "parse_config",
    "per_example_cost",
    "planned_runs",
    "read_results",
    "run_budget",
    "run_cost",
    "run_experiment",
    "run_selection",
    "summary_table",
    "training_rows",
    "weighted_auc",
    "weights_table",
]
