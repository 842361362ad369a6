"""steerstats.generate: generation backends, rejection sampling and image-steering simulation.

Backends share one protocol (:class:`GenerationBackend`: ``generate(prompts, n_per_prompt, seed)``;
:class:`LatentBackend` adds ``vary(candidate, mixture_scale, n, seed)``, SPEC Eq. 8):
:class:`SyntheticBackend` (offline default, known truth), :class:`PoolBackend` (pre-generated
items), :class:`DiffusersBackend` (Stable Diffusion, optional extra) and :class:`SteeringWorld`
(the synthetic text-to-image model of the steering simulations).
"""

from steerstats.generate.candidates import (
    Candidates,
    GenerationBackend,
    LatentBackend,
    candidate_seeds,
    concat_candidates,
)
from steerstats.generate.diffusers_backend import DiffusersBackend
from steerstats.generate.judgements import check_models, read_judgements, validate_judgements
from steerstats.generate.policies import (
    DEFAULT_BUCKETS,
    KEPT,
    PREVIOUS_NAMES,
    START,
    SWITCHED,
    FixedScale,
    RandomScale,
    ThompsonScale,
)
from steerstats.generate.pool import PoolBackend
from steerstats.generate.rejection import (
    AGGREGATE,
    VOTE_COLUMNS,
    as_scorer,
    best_of_n,
    best_of_n_weights,
    calibrate_epsilon,
    oracle_judgements,
    orient_votes,
    pair_frame,
    random_scorer,
    score_candidates,
    simulated_judgements,
    tie_aware_accuracy,
    top_picks,
    vote_shares,
)
from steerstats.generate.rejection_study import RejectionResult, run_rejection
from steerstats.generate.steering import (
    Episodes,
    Steerer,
    cosine_similarity,
    evaluate_methods,
    run_episodes,
    steer_with_backend,
    summarize_methods,
    train_thompson,
)
from steerstats.generate.steering_study import SteeringResult, run_steering
from steerstats.generate.steerworld import SteeringWorld, Tasks
from steerstats.generate.synthetic import SyntheticBackend, expected_aggregate
from steerstats.generate.vary import mix_latent, mixture_coefficients, vary_latent

__all__ = [
    "AGGREGATE",
    "DEFAULT_BUCKETS",
    "KEPT",
    "PREVIOUS_NAMES",
    "START",
    "SWITCHED",
    "VOTE_COLUMNS",
    "Candidates",
    "DiffusersBackend",
    "Episodes",
    "FixedScale",
    "GenerationBackend",
    "LatentBackend",
    "PoolBackend",
    "RandomScale",
    "RejectionResult",
    "Steerer",
    "SteeringResult",
    "SteeringWorld",
    "SyntheticBackend",
    "Tasks",
    "ThompsonScale",
    "as_scorer",
    "best_of_n",
    "best_of_n_weights",
    "calibrate_epsilon",
    "candidate_seeds",
    "check_models",
    "concat_candidates",
    "cosine_similarity",
    "evaluate_methods",
    "expected_aggregate",
    "mix_latent",
    "mixture_coefficients",
    "oracle_judgements",
    "orient_votes",
    "pair_frame",
    "random_scorer",
    "read_judgements",
    "run_episodes",
    "run_rejection",
    "run_steering",
    "score_candidates",
    "simulated_judgements",
    "steer_with_backend",
    "summarize_methods",
    "tie_aware_accuracy",
    "top_picks",
    "train_thompson",
    "validate_judgements",
    "vary_latent",
    "vote_shares",
]
