"""steerstats.uncertainty: cluster bootstrap, Bayesian hierarchical models, coverage study.

Bayesian models and inference live in :mod:`steerstats.uncertainty.bayes` (imported lazily: JAX
start-up is slow and the host device count must be set before it starts).
"""

from steerstats.uncertainty.bootstrap import (
    BootstrapResult,
    bca_interval,
    cluster_bootstrap,
    cluster_counts,
    cluster_group_sums,
    cluster_weights,
    grouped_mean_bootstrap,
    jackknife_acceleration,
    percentile_interval,
    product_weights,
)
from steerstats.uncertainty.calibrate import VarianceComponents, fit_variance_components
from steerstats.uncertainty.coverage import CoverageConfig, run_coverage, summarise

__all__ = [
    "BootstrapResult",
    "CoverageConfig",
    "VarianceComponents",
    "bca_interval",
    "cluster_bootstrap",
    "cluster_counts",
    "cluster_group_sums",
    "cluster_weights",
    "fit_variance_components",
    "grouped_mean_bootstrap",
    "jackknife_acceleration",
    "percentile_interval",
    "product_weights",
    "run_coverage",
    "summarise",
]
