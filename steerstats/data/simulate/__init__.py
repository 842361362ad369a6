"""A synthetic steerability study with known truth, in the schema of the release (Vafa et al. 2025).

Generative model (logit scale; ``sigmoid`` maps to a similarity in (0, 1)). Steering user u steers
model m toward goal g (sampled from m itself) in attempts a = 1..5:

    goal difficulty   d_g  = delta_m + sigma_goal * z_g                 (what m tends to produce)
    user effect       b_u  = sigma_user * z_u
    linear predictor  eta_uga = alpha_m - d_g + b_u + tau * (a - 1) + sigma_attempt * e_uga
    dreamsim          = sigmoid(eta_uga)
    clip_similarity   = sigmoid(clip_intercept + clip_slope * eta_uga + clip_noise * e')

``alpha_m`` is model m's steering mechanism and ``delta_m`` the mean difficulty of the goals it
produces, so the producibility/steering decomposition (SPEC section 1) has a known truth.

Human judgements are probit models of the same latent quantities, each with a rater effect
v_r ~ N(0, sigma_rater^2) and unit noise:

    rating (1..4)      = 1 + #{k : rating_slope * eta + v_r + e > cut_k}
    last_chosen        = 1[judge_slope * (eta_u,g,5 - eta_u,g,1) + v_r + e > 0]
    ref_chosen (POM-a) = 1[theta_a + w_g + e > 0],  w_g ~ N(0, sigma_judge_goal^2),
                         theta_a set so that P(ref_chosen) equals ``pom{1,5}_prob``.

Blind steering rewrites (appendix C.1): a rewrite of the user's first prompt keeps the user's
and goal's effects but not the attempt noise: eta = alpha_m - d_g + b_u + rewrite_shift +
rewrite_sd * e. Choosing the seed adds ``choosing_seed_effect``; constraining
sd3.5-large-turbo to n seeds adds ``seed_constraint_effect[n]``. The LLM study uses the same
structure with its own parameters (no similarity is released there, only judgements); its users
skip each middle attempt (2..4) with probability ``llm_missing_attempt_prob``, like the release.

:func:`simulate_study` returns a :class:`~steerstats.data.study.Study` whose ``truth`` holds the
true values of the population quantities the metrics estimate (see
:mod:`steerstats.data.simulate.truth`) plus the realised latent effects of this draw:
``goal_difficulty_by_goal`` (d_g, indexed by goal_image) and ``user_effect_by_user`` (b_u).

Modules: :mod:`.params` (parameters, shared latents), :mod:`.steering`, :mod:`.judgements`,
:mod:`.blind`, :mod:`.seeds`, :mod:`.traces`, :mod:`.llm`, :mod:`.study` (the whole study, one
independent random stream per sub-model), :mod:`.truth` (closed-form truths); the reward-model
feedback world is :mod:`.feedback` and the decomposition study :mod:`.decomposition`.
"""

from steerstats.data.simulate.judgements import pom_threshold
from steerstats.data.simulate.params import (
    ATTEMPTS,
    BLIND_K,
    IMAGE_MODELS,
    LLM_MODELS,
    NO_SEED_MODELS,
    SEED_MODEL,
    URL,
    SimulationParams,
    model_of_user,
)
from steerstats.data.simulate.steering import simulate_steering
from steerstats.data.simulate.study import STREAMS, simulate_study

__all__ = [
    "ATTEMPTS",
    "BLIND_K",
    "IMAGE_MODELS",
    "LLM_MODELS",
    "NO_SEED_MODELS",
    "SEED_MODEL",
    "STREAMS",
    "URL",
    "SimulationParams",
    "model_of_user",
    "pom_threshold",
    "simulate_steering",
    "simulate_study",
]
