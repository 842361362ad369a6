"""The producibility/steering decomposition of a difference in mean steerability (Vafa et al. 2025,
Sec. 4 and App. A; SPEC section 1, Eq. 4/5).

With p_i model i's distribution over goals and mu_i(x) the expected steering reward on goal x:

    R2 - R1 = E_{p2}[mu2(X) - mu1(X)]               steering mechanism
            + E_{p2}[mu1(X)] - E_{p1}[mu1(X)]       producible set

Expectations are Monte Carlo averages over the observed rows (goal, prompt, attempt) of each model,
optionally weighted (bootstrap counts or Bayesian-bootstrap weights). ``mean_error_diff`` =
observed - steering - producible equals mean_2(y - mu2) - mean_1(y - mu1), the difference in the
predictor's mean cross-fitted errors: an accounting identity, near 0 by construction for any
predictor with a per-model intercept, and **not** a measure of predictor quality (for that see
:func:`steerstats.decompose.predictor_diagnostics`: cross-fitted R^2, MSE and calibration).
"""

from __future__ import annotations

import numpy as np

TERMS = ("observed_diff", "steering_term", "producible_term", "mean_error_diff")


def decomposition_terms(
    y: np.ndarray,
    codes: np.ndarray,
    mu: np.ndarray,
    reference: int,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """Terms of every model against model ``reference``.

    ``y`` (n,), ``codes`` (n,) model index 0..K-1 of each row, ``mu`` (n, K) or (S, n, K) with
    mu[..., i, k] the prediction for row i under model k's identity, ``weights`` None, (n,) or
    (S, n). Returns (4, K) or (S, 4, K) in the order of :data:`TERMS` (the reference's column is 0).
    """
    mu = np.asarray(mu, dtype=float)
    single = mu.ndim == 2
    if single:
        mu = mu[None]
    s, n, k = mu.shape
    w = np.ones((s, n)) if weights is None else np.broadcast_to(np.asarray(weights, float), (s, n))
    onehot = np.eye(k)[codes]  # (n, K)
    mass = w @ onehot  # (S, K): total weight of each model's rows

    def mean_by_model(values: np.ndarray) -> np.ndarray:  # values (S, n) -> (S, K)
        return ((w * values) @ onehot) / mass

    y_bar = mean_by_model(np.broadcast_to(y, (s, n)))
    own = mu[:, np.arange(n), codes]  # (S, n): mu of each row under its own model
    ref = mu[:, :, reference]  # (S, n): mu under the reference model
    observed = y_bar - y_bar[:, [reference]]
    steering = mean_by_model(own - ref)
    mean_ref = mean_by_model(ref)
    producible = mean_ref - mean_ref[:, [reference]]
    out = np.stack([observed, steering, producible, observed - steering - producible], axis=1)
    return out[0] if single else out


def debiased_terms(
    y: np.ndarray,
    codes: np.ndarray,
    mu: np.ndarray,
    reference: int,
    riesz: np.ndarray,
    weights: np.ndarray | None = None,
) -> np.ndarray:
    """(4, K) terms with the counterfactual mean E_{p_k}[mu_ref(X)] estimated doubly robustly:

        C_k = mean_k(mu_ref) + mean_ref(w_k * (y - mu_ref)),   w_k = p_k / p_ref on reference rows

    (Chernozhukov et al. 2018, DML; the Riesz representer of the shift functional is the density
    ratio). Errors in mu or in w enter C_k only through their product, so the shrinkage of a
    regularised mu no longer biases the terms. Then

        steering   = mean_k(y) - C_k,    producible = C_k - mean_ref(y),

    which add up to the observed difference exactly (``mean_error_diff`` is 0 by construction).
    ``riesz`` (n, K) holds w_k on the reference rows; ``weights`` None or (n,) row weights.
    """
    mu = np.asarray(mu, dtype=float)
    n, k = mu.shape
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    onehot = np.eye(k)[codes]
    mass = w @ onehot
    mean_y = (w * y) @ onehot / mass
    mean_ref_mu = (w * mu[:, reference]) @ onehot / mass  # mean_k(mu_ref) for every k
    ref = codes == reference
    correction = (w[ref, None] * riesz[ref] * (y[ref] - mu[ref, reference])[:, None]).sum(axis=0) / w[ref].sum()
    counterfactual = mean_ref_mu + correction
    counterfactual[reference] = mean_y[reference]
    observed = mean_y - mean_y[reference]
    steering = mean_y - counterfactual
    producible = counterfactual - mean_y[reference]
    return np.stack([observed, steering, producible, observed - steering - producible])


def debiased_influence(
    y: np.ndarray,
    codes: np.ndarray,
    mu: np.ndarray,
    reference: int,
    riesz: np.ndarray,
    ratio_influence: np.ndarray | None = None,
) -> np.ndarray:
    """(n, 4, K) influence of each row on :func:`debiased_terms`: the terms' derivative in the
    direction of that row's weight (so a cluster's influence is the sum over its rows, and the
    terms' first-order variance is the sum of squared cluster sums). mu is held fixed (C_k is
    orthogonal to it); the density ratios too unless ``ratio_influence`` (n, K), the influence of
    estimating them on C_k (:func:`~steerstats.decompose.density_ratio.density_ratio_influence`),
    is given: it adds to the producible term and subtracts from the steering term.

    With e = y - mu_ref and n_k the rows of model k, a row of model k adds
    (y - mean_k y) / n_k to observed, (e - mean_k e) / n_k to steering and
    (mu_ref - mean_k mu_ref) / n_k to producible; a reference row adds -(y - mean_ref y) / n_ref to
    observed, -(w_k e - mean_ref(w_k e)) / n_ref to steering and the rest of its observed share to
    producible. The two add to the observed influence exactly.
    """
    mu = np.asarray(mu, dtype=float)
    n, k = mu.shape
    out = np.zeros((n, 4, k))
    ref = codes == reference
    e_ref = y - mu[:, reference]
    n_ref = ref.sum()
    y_ref = y[ref].mean()
    for m in range(k):
        if m == reference:
            continue
        own = codes == m
        n_m = own.sum()
        obs_own = (y[own] - y[own].mean()) / n_m
        prod_own = (mu[own, reference] - mu[own, reference].mean()) / n_m
        corrected = riesz[ref, m] * e_ref[ref]
        steer_ref = -(corrected - corrected.mean()) / n_ref
        obs_ref = -(y[ref] - y_ref) / n_ref
        out[own, 0, m] = obs_own
        out[own, 1, m] = obs_own - prod_own
        out[own, 2, m] = prod_own
        out[ref, 0, m] = obs_ref
        out[ref, 1, m] = steer_ref
        out[ref, 2, m] = obs_ref - steer_ref
    if ratio_influence is not None:
        out[:, 1] -= ratio_influence
        out[:, 2] += ratio_influence
    return out
