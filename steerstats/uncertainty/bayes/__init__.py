"""Bayesian hierarchical models of steerability outcomes (numpyro + arviz).

    from steerstats.uncertainty.bayes import request_host_devices, fit_similarity
    request_host_devices(4)            # before anything starts JAX: 4 parallel chains
    fit = fit_similarity(study.steering, "dreamsim")
    fit.summary                        # model, mean, hdi_low, hdi_high (94%), status

``models`` holds the plain numpyro functions, ``inference`` NUTS + summaries, ``diagnostics`` every
arviz call.
"""

from steerstats.uncertainty.bayes.compare import IntervalComparison, run_interval_comparison
from steerstats.uncertainty.bayes.data import (
    Encoded,
    encode_binary,
    encode_ratings,
    encode_similarity,
)
from steerstats.uncertainty.bayes.devices import cpu_device_count, request_host_devices
from steerstats.uncertainty.bayes.diagnostics import RHAT_MAX, Diagnostics, diagnose, hdi
from steerstats.uncertainty.bayes.inference import (
    HDI_PROB,
    BayesFit,
    NutsSettings,
    Posterior,
    binary_rates,
    fit_binary,
    fit_ratings,
    fit_similarity,
    rating_means,
    run_nuts,
    similarity_means,
)
from steerstats.uncertainty.bayes.models import binary_model, ordinal_model, similarity_model

__all__ = [
    "HDI_PROB",
    "RHAT_MAX",
    "BayesFit",
    "Diagnostics",
    "Encoded",
    "IntervalComparison",
    "NutsSettings",
    "Posterior",
    "binary_model",
    "binary_rates",
    "cpu_device_count",
    "diagnose",
    "encode_binary",
    "encode_ratings",
    "encode_similarity",
    "fit_binary",
    "fit_ratings",
    "fit_similarity",
    "hdi",
    "ordinal_model",
    "rating_means",
    "request_host_devices",
    "run_interval_comparison",
    "run_nuts",
    "similarity_means",
    "similarity_model",
]
