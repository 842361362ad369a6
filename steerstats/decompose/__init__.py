"""The producibility/steering decomposition of a difference in steerability (Vafa et al. 2025,
Sec. 4, App. A): terms, cross-fitted estimate, refit bootstrap, Bayesian model, validation on
simulated studies, and the seed-constraint trade-off."""

from steerstats.decompose.bayes import (
    bayesian_bootstrap_weights,
    linear_decomposition_model,
    model_inputs,
    posterior_terms,
)
from steerstats.decompose.bootstrap import TermsInterval, bootstrap_terms, replicate_weights
from steerstats.decompose.density_ratio import (
    DensityRatios,
    density_ratio_influence,
    fit_density_ratios,
)
from steerstats.decompose.diagnostics import predictor_diagnostics
from steerstats.decompose.estimate import (
    ESTIMATORS,
    DecompositionData,
    crossfit_mu,
    estimate_terms,
    fourier_features,
    prepare_decomposition,
    terms_frame,
)
from steerstats.decompose.influence import (
    INTERVALS,
    N_SPLITS,
    influence_terms,
    terms_interval,
)
from steerstats.decompose.seeds import SEED_MODEL, seed_tradeoff
from steerstats.decompose.study import DecompositionStudy, load_analysis_study, run_decomposition
from steerstats.decompose.terms import TERMS, decomposition_terms
from steerstats.decompose.validate import summarize_validation, validate_decomposition

__all__ = [
    "ESTIMATORS",
    "INTERVALS",
    "N_SPLITS",
    "SEED_MODEL",
    "TERMS",
    "DecompositionData",
    "DecompositionStudy",
    "DensityRatios",
    "TermsInterval",
    "bayesian_bootstrap_weights",
    "bootstrap_terms",
    "crossfit_mu",
    "decomposition_terms",
    "density_ratio_influence",
    "estimate_terms",
    "fit_density_ratios",
    "fourier_features",
    "influence_terms",
    "linear_decomposition_model",
    "load_analysis_study",
    "model_inputs",
    "posterior_terms",
    "predictor_diagnostics",
    "prepare_decomposition",
    "replicate_weights",
    "run_decomposition",
    "seed_tradeoff",
    "summarize_validation",
    "terms_frame",
    "terms_interval",
    "validate_decomposition",
]
