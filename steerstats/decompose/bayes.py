"""A Bayesian version of the decomposition: a hierarchical linear model for mu_i, posterior draws
of every term.

Model (outcome standardised: y* = (y - ybar) / sd(y); features already scaled):

    alpha_m ~ N(0, 1)                       per-model intercept (the model block)
    tau ~ HalfNormal(0.2),  beta = tau * z,  z ~ N(0, I_d)     Bayesian ridge on the embeddings
    tau_d ~ HalfNormal(0.2), delta_m = tau_d * z_m,  z_m ~ N(0, I_q)   model-specific slopes on the
                                            leading goal components (with the interacted data; the
                                            hierarchical prior shrinks them towards the shared slope)
    sigma_u ~ HalfNormal(0.5),  u_c = sigma_u * z_c             random intercept per steering user
    sigma ~ HalfNormal(1)
    y*_i ~ N(alpha_{m(i)} + x_i' beta + l_i' delta_{m(i)} + u_{c(i)}, sigma)

mu_m(x) = ybar + sd(y) * (alpha_m + x' beta + l' delta_m) (population-averaged: the user effect is
left out; x includes the shared non-linear basis when the data carry one).
The expectations over p_i are averages over each model's observed rows with Bayesian-bootstrap
weights (Dirichlet(1,...,1) over users within each model, one draw per posterior draw), so the
posterior of each term carries both the uncertainty in mu and the sampling of goals and users.

The numpyro model is a plain function; NUTS runs through :mod:`steerstats.uncertainty.bayes`.
"""

from __future__ import annotations

import numpy as np

from steerstats.decompose.estimate import DecompositionData
from steerstats.decompose.terms import decomposition_terms


def linear_decomposition_model(x, codes, cluster, n_models: int, n_clusters: int, y=None, lead=None):
    """numpyro model of standardised similarity (see the module docstring); ``lead`` (n, q) the
    leading components whose slopes differ by model (None: one slope for every model)."""
    import numpyro
    import numpyro.distributions as dist

    alpha = numpyro.sample("alpha", dist.Normal(0.0, 1.0).expand([n_models]).to_event(1))
    tau = numpyro.sample("tau", dist.HalfNormal(0.2))
    z = numpyro.sample("z", dist.Normal(0.0, 1.0).expand([x.shape[1]]).to_event(1))
    beta = numpyro.deterministic("beta", tau * z)
    sigma_u = numpyro.sample("sigma_u", dist.HalfNormal(0.5))
    z_u = numpyro.sample("z_u", dist.Normal(0.0, 1.0).expand([n_clusters]).to_event(1))
    sigma = numpyro.sample("sigma", dist.HalfNormal(1.0))
    loc = alpha[codes] + x @ beta + sigma_u * z_u[cluster]
    if lead is not None:
        tau_d = numpyro.sample("tau_d", dist.HalfNormal(0.2))
        z_d = numpyro.sample("z_d", dist.Normal(0.0, 1.0).expand([n_models, lead.shape[1]]).to_event(2))
        delta = numpyro.deterministic("delta", tau_d * z_d)
        loc = loc + (lead * delta[codes]).sum(-1)
    with numpyro.plate("rows", x.shape[0]):
        numpyro.sample("y", dist.Normal(loc, sigma), obs=y)


def model_inputs(data: DecompositionData) -> tuple[dict, float, float]:
    """(kwargs of :func:`linear_decomposition_model`, ybar, sd(y))."""
    center, scale = float(data.y.mean()), float(data.y.std(ddof=1))
    x = data.features if data.expanded is None else np.hstack([data.features, data.expanded])
    kwargs = {
        "x": x,
        "lead": data.interaction,
        "codes": data.codes,
        "cluster": data.cluster,
        "n_models": len(data.models),
        "n_clusters": int(data.cluster.max()) + 1,
        "y": (data.y - center) / scale,
    }
    return kwargs, center, scale


def bayesian_bootstrap_weights(data: DecompositionData, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """(S, n) row weights: Dirichlet(1) over clusters within each model, scaled to the cluster count."""
    n_clusters = int(data.cluster.max()) + 1
    cluster_model = np.zeros(n_clusters, dtype=np.int64)
    cluster_model[data.cluster] = data.codes
    w = np.zeros((n_draws, n_clusters))
    for k in range(len(data.models)):
        members = np.flatnonzero(cluster_model == k)
        w[:, members] = rng.dirichlet(np.ones(len(members)), size=n_draws) * len(members)
    return w[:, data.cluster]


def posterior_terms(
    samples: dict[str, np.ndarray],
    data: DecompositionData,
    center: float,
    scale: float,
    *,
    seed: int = 0,
    chunk: int = 100,
) -> np.ndarray:
    """(S, 4, K) posterior draws of the terms from NUTS samples ((chain, draw, ...) arrays)."""
    k = len(data.models)
    alpha = samples["alpha"].reshape(-1, k)
    beta = samples["beta"].reshape(alpha.shape[0], -1)
    x = data.features if data.expanded is None else np.hstack([data.features, data.expanded])
    delta = samples["delta"].reshape(alpha.shape[0], k, -1) if "delta" in samples else None
    rng = np.random.default_rng(seed)
    out = []
    for start in range(0, alpha.shape[0], chunk):
        a, b = alpha[start : start + chunk], beta[start : start + chunk]
        mu = center + scale * ((b @ x.T)[:, :, None] + a[:, None, :])  # (s, n, K)
        if delta is not None:  # model k's own slopes for every row: (s, n, K)
            mu = mu + scale * np.einsum("nq,skq->snk", data.interaction, delta[start : start + chunk])
        w = bayesian_bootstrap_weights(data, len(a), rng)
        out.append(decomposition_terms(data.y, data.codes, mu, data.reference, w))
    return np.concatenate(out)
