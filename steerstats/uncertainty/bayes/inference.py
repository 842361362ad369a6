"""NUTS inference for the hierarchical models, diagnostics gating and per-model summaries.

Chains run in parallel on host CPU devices when JAX has at least as many as chains (see
:mod:`~steerstats.uncertainty.bayes.devices`), sequentially otherwise (and the fit says so). A fit
whose diagnostics fail (R-hat > 1.01 or any divergence) carries status "failed: ..." in its summary
table, and raises :class:`~steerstats.errors.FitFailedError` with ``strict=True``: it is never
silently used.

Per-model summaries are population-level quantities on the outcome's own scale, comparable with
the sample means the SEM and bootstrap intervals describe: the random effects are integrated out
with Gauss-Hermite quadrature (their sum is normal with variance sigma_1^2 + sigma_2^2).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import expit

from steerstats.errors import ConfigError, FitFailedError
from steerstats.uncertainty.bayes.data import (
    Encoded,
    encode_binary,
    encode_ratings,
    encode_similarity,
)
from steerstats.uncertainty.bayes.diagnostics import Diagnostics, diagnose, hdi
from steerstats.uncertainty.bayes.models import binary_model, ordinal_model, similarity_model

HDI_PROB = 0.94
N_QUADRATURE = 32


@dataclass(frozen=True)
class NutsSettings:
    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    target_accept: float = 0.9
    max_tree_depth: int = 10
    progress: bool = True


@dataclass(frozen=True)
class Posterior:
    samples: dict[str, np.ndarray]  # (chain, draw, ...) for every sampled site
    diagnostics: Diagnostics
    seconds: float
    chain_method: str  # "parallel" | "sequential"
    diverging: np.ndarray | None = None  # (chain, draw) NUTS divergence flags

    def inference_data(self):
        """The posterior as arviz InferenceData (posterior + sample_stats.diverging)."""
        from steerstats.uncertainty.bayes.diagnostics import inference_data

        attrs = {"sampler": "numpyro NUTS", "chain_method": self.chain_method, "seconds": round(self.seconds, 3),
                 "rhat_max": self.diagnostics.rhat_max, "n_divergent": self.diagnostics.n_divergent}
        return inference_data(self.samples, self.diverging, attrs)


@dataclass(frozen=True)
class BayesFit:
    """A fitted model: per-model posterior mean and 94% HDI, with the fit's diagnostics."""

    kind: str  # "similarity" | "ordinal" | "binary"
    outcome: str
    summary: pd.DataFrame  # model, mean, hdi_low, hdi_high, status
    draws: np.ndarray  # (chain, draw, n_models) of the per-model quantity
    posterior: Posterior

    @property
    def ok(self) -> bool:
        return self.posterior.diagnostics.ok

    @property
    def status(self) -> str:
        return self.posterior.diagnostics.status

    def require_ok(self) -> BayesFit:
        """This fit, or :class:`~steerstats.errors.FitFailedError` if its diagnostics failed."""
        if not self.ok:
            raise FitFailedError(f"{self.kind} model of '{self.outcome}': {self.status}")
        return self


def run_nuts(model_fn, kwargs: dict, settings: NutsSettings, seed: int) -> Posterior:
    """NUTS on ``model_fn(**kwargs)``; samples grouped by chain plus arviz diagnostics."""
    import jax
    from numpyro.infer import MCMC, NUTS

    from steerstats.uncertainty.bayes.devices import cpu_device_count

    if settings.num_chains < 2:
        raise ConfigError("NUTS needs at least 2 chains for R-hat")
    n_dev = cpu_device_count()
    method = "parallel" if n_dev >= settings.num_chains else "sequential"
    if method == "sequential":
        print(
            f"steerstats: JAX has {n_dev} CPU device(s) (it started before steerstats could ask "
            f"for {settings.num_chains}); running the chains sequentially",
            file=sys.stderr,
        )
    mcmc = MCMC(
        NUTS(model_fn, target_accept_prob=settings.target_accept, max_tree_depth=settings.max_tree_depth),
        num_warmup=settings.num_warmup,
        num_samples=settings.num_samples,
        num_chains=settings.num_chains,
        chain_method=method,
        progress_bar=settings.progress,
    )
    t0 = time.perf_counter()
    mcmc.run(jax.random.PRNGKey(seed), **kwargs, extra_fields=("diverging",))
    samples = {k: np.asarray(v) for k, v in mcmc.get_samples(group_by_chain=True).items()}
    seconds = time.perf_counter() - t0
    diverging = np.asarray(mcmc.get_extra_fields(group_by_chain=True)["diverging"])
    return Posterior(samples, diagnose(samples, diverging), seconds, method, diverging)


def _gauss_hermite() -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite_e.hermegauss(N_QUADRATURE)
    return z, w / w.sum()


def _re_sd(samples: dict[str, np.ndarray], names: tuple[str, str]) -> np.ndarray:
    return np.sqrt(samples[f"sigma_{names[0]}"] ** 2 + samples[f"sigma_{names[1]}"] ** 2)


def similarity_means(samples: dict[str, np.ndarray], attempt_c: np.ndarray) -> np.ndarray:
    """Per-model population mean similarity (chain, draw, M): E over attempts (their empirical
    distribution), user and goal effects and attempt noise of expit(alpha_m + beta t + u + g + e),
    with model m's own SDs (per-model arrays (chain, draw, M); scalars are shared)."""
    z, w = _gauss_hermite()
    t, n_t = np.unique(attempt_c, return_counts=True)
    p_t = n_t / n_t.sum()
    s = np.sqrt(_re_sd(samples, ("user", "goal")) ** 2 + samples["sigma_e"] ** 2)  # (..., M) or (...)
    s = np.broadcast_to(s if s.ndim == samples["alpha"].ndim else s[..., None], samples["alpha"].shape)
    s = s[..., None, None]  # per model: that model's own user, goal and attempt SDs
    eta = (
        samples["alpha"][..., :, None, None]
        + samples["beta"][..., None, None, None] * t[:, None]
        + s * z
    )
    return np.einsum("...mtq,t,q->...m", expit(eta), p_t, w)


def rating_means(samples: dict[str, np.ndarray], levels: np.ndarray) -> np.ndarray:
    """Per-model expected rating (chain, draw, M), rater + goal effects integrated out."""
    z, w = _gauss_hermite()
    alpha = np.concatenate([np.zeros((*samples["alpha"].shape[:2], 1)), samples["alpha"]], axis=-1)
    s = _re_sd(samples, ("rater", "goal"))[..., None, None]
    eta = alpha[..., :, None] + s * z  # (..., M, Q)
    cut = samples["cutpoints"][..., None, None, :]  # (..., 1, 1, K-1)
    cdf = expit(cut - eta[..., None])
    ones = np.ones((*cdf.shape[:-1], 1))
    probs = np.diff(np.concatenate([0 * ones, cdf, ones], axis=-1), axis=-1)  # (..., M, Q, K)
    return np.einsum("...mqk,k,q->...m", probs, levels, w)


def binary_rates(samples: dict[str, np.ndarray]) -> np.ndarray:
    """Per-model population rate (chain, draw, M), rater + goal effects integrated out."""
    z, w = _gauss_hermite()
    s = _re_sd(samples, ("rater", "goal"))[..., None, None]
    return np.einsum("...mq,q->...m", expit(samples["alpha"][..., :, None] + s * z), w)


def summarise(draws: np.ndarray, models: list[str], diagnostics: Diagnostics) -> pd.DataFrame:
    """Posterior mean and 94% HDI per model, with the fit's status on every row."""
    bounds = hdi(draws, HDI_PROB)
    return pd.DataFrame(
        {
            "model": models,
            "mean": draws.reshape(-1, draws.shape[-1]).mean(axis=0),
            "hdi_low": bounds[:, 0],
            "hdi_high": bounds[:, 1],
            "status": diagnostics.status,
        }
    )


def _finish(kind: str, outcome: str, enc: Encoded, post: Posterior, draws: np.ndarray, strict: bool) -> BayesFit:
    fit = BayesFit(kind, outcome, summarise(draws, enc.models, post.diagnostics), draws, post)
    return fit.require_ok() if strict else fit


def fit_similarity(
    frame: pd.DataFrame,
    value: str = "dreamsim",
    *,
    settings: NutsSettings | None = None,
    seed: int = 0,
    strict: bool = False,
    file: str | None = None,
) -> BayesFit:
    """Logit-normal hierarchical model of a similarity column; per-model population mean."""
    enc = encode_similarity(frame, value, file=file)
    post = run_nuts(similarity_model, enc.kwargs, settings or NutsSettings(), seed)
    return _finish("similarity", value, enc, post, similarity_means(post.samples, enc.extra["attempt_c"]), strict)


def fit_ratings(
    frame: pd.DataFrame,
    value: str = "rating",
    *,
    levels: tuple[int, ...] = (1, 2, 3, 4),
    settings: NutsSettings | None = None,
    seed: int = 0,
    strict: bool = False,
    file: str | None = None,
) -> BayesFit:
    """Cumulative-logit model of ratings; per-model expected rating."""
    enc = encode_ratings(frame, value, levels=levels, file=file)
    post = run_nuts(ordinal_model, enc.kwargs, settings or NutsSettings(), seed)
    return _finish("ordinal", value, enc, post, rating_means(post.samples, enc.extra["levels"]), strict)


def fit_binary(
    frame: pd.DataFrame,
    value: str,
    *,
    settings: NutsSettings | None = None,
    seed: int = 0,
    strict: bool = False,
    file: str | None = None,
) -> BayesFit:
    """Logistic model of binary judgements; per-model population rate."""
    enc = encode_binary(frame, value, file=file)
    post = run_nuts(binary_model, enc.kwargs, settings or NutsSettings(), seed)
    return _finish("binary", value, enc, post, binary_rates(post.samples), strict)
