"""Best-of-N selection in goal space (SPEC section 3).

Among N candidate outputs for one (text, goal) the pick is the candidate with the smallest steering
error ||zh - z*||, where unrequested goal dimensions are held at the SOURCE value. (Chang et al.'s
reference code fills unrequested goals with a placeholder -1 before choosing, which rewards
candidates that collapse the unrequested dimensions towards 0: the SPEC's test pair shows it.)
"""

from __future__ import annotations

import numpy as np

from steerstats.goalspace.metrics import fill_goal


def candidate_errors(z0: np.ndarray, z_goal: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Steering error of each candidate: z0, z_goal (n, d) or (d,); candidates (n, N, d) or (N, d).

    Returns (n, N) (or (N,) for a single probe). NaN in ``z_goal`` = unrequested (held at z0).
    """
    z0, z_goal, cand = (np.asarray(a, dtype=float) for a in (z0, z_goal, candidates))
    single = z0.ndim == 1
    if single:
        z0, z_goal, cand = z0[None], z_goal[None], cand[None]
    if cand.ndim != 3 or cand.shape[0] != z0.shape[0] or cand.shape[2] != z0.shape[1]:
        raise ValueError(f"candidates must be (n, N, d) matching z0 {z0.shape}, got {cand.shape}")
    goal = fill_goal(z0, z_goal)
    err = np.linalg.norm(cand - goal[:, None, :], axis=2)
    return err[0] if single else err


def best_of_n(z0: np.ndarray, z_goal: np.ndarray, candidates: np.ndarray) -> np.ndarray | int:
    """Index of the best candidate per probe (first one on ties); candidates with NaN never win
    unless all are NaN (then index 0)."""
    err = candidate_errors(z0, z_goal, candidates)
    filled = np.where(np.isnan(err), np.inf, err)
    idx = np.argmin(filled, axis=-1)
    return int(idx) if np.ndim(idx) == 0 else idx
