"""Hierarchical models of steerability outcomes, as plain numpyro functions.

Every model has per-model effects of interest and non-centred random effects (``z ~ N(0, 1)``,
effect = ``sigma * z``) for who produced and who judged the data. Arguments are integer-coded
arrays (see :mod:`steerstats.uncertainty.bayes.data`); ``y=None`` samples from the prior
predictive, which the parameter-recovery tests use to simulate data from each model.

- :func:`similarity_model`: similarity in (0, 1) (DreamSim, CLIP), logit-normal likelihood
  (respects the bounded scale; Gaussian on the logit, so NUTS is cheap and well behaved):
  logit y = alpha[m] + beta * attempt_c + sigma_u[m] z_u[user] + sigma_g[m] z_g[goal] + sigma_e[m] e,
  m the row's model: users and goals are nested in models, and each model has its own user, goal
  and attempt SDs, tied by a hierarchical prior log sigma_x[m] ~ N(mu_x, tau_x^2) (partial
  pooling: a model with few users borrows strength, a model whose users differ a lot is free to).
- :func:`ordinal_model`: 4-point ratings, cumulative logit (McCullagh 1980):
  P(y <= k) = logistic(c_k - eta), eta = alpha[model] + sigma_r z_r[rater] + sigma_g z_g[goal].
- :func:`binary_model`: binary judgements (improvement, POM), logistic:
  logit P(y = 1) = alpha[model] + sigma_r z_r[rater] + sigma_g z_g[goal].
"""

from __future__ import annotations

import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import transforms


def _random_effect(name: str, n: int, scale_prior: float):
    """Non-centred group effect sigma * z (shape (n,)) and its sd sigma."""
    sigma = numpyro.sample(f"sigma_{name}", dist.HalfNormal(scale_prior))
    with numpyro.plate(f"{name}s", n):
        z = numpyro.sample(f"z_{name}", dist.Normal(0.0, 1.0))
    return sigma * z, sigma


def _scale_per_model(name: str, n_models: int, prior_median: float):
    """(n_models,) SDs with a hierarchical log-normal prior, sampled non-centred as
    sigma[m] = exp(mu + tau * zeta[m]); the deterministic site ``sigma_{name}`` holds them."""
    mu = numpyro.sample(f"log_sigma_{name}_mean", dist.Normal(jnp.log(prior_median), 1.0))
    tau = numpyro.sample(f"log_sigma_{name}_sd", dist.HalfNormal(0.5))
    zeta = numpyro.sample(f"zeta_{name}", dist.Normal(0.0, 1.0).expand([n_models]).to_event(1))
    return numpyro.deterministic(f"sigma_{name}", jnp.exp(mu + tau * zeta))


def similarity_model(model, attempt_c, user, goal, n_models, n_users, n_goals, y=None):
    """Similarity in (0, 1): per-model logit mean, attempt trend, and user, goal and attempt
    random effects whose SDs differ by model (hierarchical prior across models).

    ``y`` is the similarity itself; the likelihood is Normal on logit(y) (logit-normal), with the
    log-Jacobian of the logit added so the density is that of y.
    """
    alpha = numpyro.sample("alpha", dist.Normal(0.5, 1.5).expand([n_models]).to_event(1))
    beta = numpyro.sample("beta", dist.Normal(0.0, 0.5))
    sigma_user = _scale_per_model("user", n_models, 0.4)
    sigma_goal = _scale_per_model("goal", n_models, 0.4)
    sigma_e = _scale_per_model("e", n_models, 0.4)[model]
    with numpyro.plate("users", n_users):
        z_user = numpyro.sample("z_user", dist.Normal(0.0, 1.0))
    with numpyro.plate("goals", n_goals):
        z_goal = numpyro.sample("z_goal", dist.Normal(0.0, 1.0))
    sd_user, sd_goal = sigma_user[model], sigma_goal[model]  # a user/goal belongs to one model
    eta = alpha[model] + beta * attempt_c + sd_user * z_user[user] + sd_goal * z_goal[goal]
    with numpyro.plate("obs", model.shape[0]):
        numpyro.sample(
            "y",
            dist.TransformedDistribution(dist.Normal(eta, sigma_e), transforms.SigmoidTransform()),
            obs=y,
        )


def ordinal_model(model, rater, goal, n_models, n_raters, n_goals, n_levels, y=None):
    """Ratings 0..n_levels-1 (codes of 1..4): cumulative logit with rater and goal effects."""
    alpha = numpyro.sample("alpha", dist.Normal(0.0, 1.5).expand([n_models - 1]).to_event(1))
    alpha = jnp.concatenate([jnp.zeros(1), alpha])  # first model is the reference level
    r, _ = _random_effect("rater", n_raters, 1.0)
    g, _ = _random_effect("goal", n_goals, 1.0)
    cut = numpyro.sample(
        "cutpoints",
        dist.TransformedDistribution(
            dist.Normal(0.0, 3.0).expand([n_levels - 1]).to_event(1),
            transforms.OrderedTransform(),
        ),
    )
    eta = alpha[model] + r[rater] + g[goal]
    with numpyro.plate("obs", model.shape[0]):
        numpyro.sample("y", dist.OrderedLogistic(eta, cut), obs=y)


def binary_model(model, rater, goal, n_models, n_raters, n_goals, y=None):
    """Binary judgements: per-model logit rate with rater and goal random effects."""
    alpha = numpyro.sample("alpha", dist.Normal(0.0, 1.5).expand([n_models]).to_event(1))
    r, _ = _random_effect("rater", n_raters, 1.0)
    g, _ = _random_effect("goal", n_goals, 1.0)
    with numpyro.plate("obs", model.shape[0]):
        numpyro.sample("y", dist.Bernoulli(logits=alpha[model] + r[rater] + g[goal]), obs=y)

