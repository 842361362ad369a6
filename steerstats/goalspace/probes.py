"""Steerability probe sampling (Chang et al. 2025, Sec. 3.2; SPEC section 3).

Source texts are drawn with weights proportional to an estimate of the density ratio
u(z) / p(z) between the uniform distribution on the goal space [0,1]^d and the observed source
points: a logistic classifier (quadratic features) separates uniform draws from the observed
points, and its odds estimate the ratio. Texts in under-covered regions are drawn more often.

Each probe then requests a change on ``n_active`` of the ``active`` dimensions (chosen at random):
goal = source + delta with |delta| ~ Uniform[0.1, 0.7] in a direction that leaves room for at
least the minimum change, the magnitude capped by that room, so the goal stays in [0, 1] and every
requested change really is in [0.1, 0.7]. Other dimensions are unrequested (held at the source).
Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from steerstats.goalspace.dimensions import check_dims


@dataclass(frozen=True)
class Probes:
    """Sampled probes: source row indices, goals (n, d) and the active-dimension mask (n, d)."""

    source_index: np.ndarray  # (n,) int into the source points
    goal: np.ndarray  # (n, d), unrequested dimensions equal to the source value
    active: np.ndarray  # (n, d) bool
    weights: np.ndarray  # (n_sources,) sampling probabilities of the source points
    dims: tuple[str, ...]
    seed: int

    def delta(self, sources: np.ndarray) -> np.ndarray:
        """Requested change goal - source (n, d)."""
        return self.goal - np.asarray(sources, float)[self.source_index]


def coverage_weights(points: np.ndarray, *, seed: int = 0, n_uniform: int | None = None) -> np.ndarray:
    """Sampling probabilities of ``points`` (n, d) in [0,1]^d proportional to the estimated
    density ratio uniform / observed (logistic classifier odds, quadratic features)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import PolynomialFeatures, StandardScaler

    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or len(points) < 2:
        raise ValueError("need at least two source points (n, d)")
    if not np.isfinite(points).all():
        raise ValueError("source points contain NaN/inf: map every source text first")
    rng = np.random.default_rng(seed)
    n_uniform = n_uniform or max(len(points), 1000)
    uniform = rng.uniform(0.0, 1.0, size=(n_uniform, points.shape[1]))
    x = np.vstack([points, uniform])
    y = np.r_[np.zeros(len(points)), np.ones(n_uniform)]
    clf = make_pipeline(PolynomialFeatures(2), StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))
    clf.fit(x, y)
    log_odds = clf.decision_function(points)
    # odds * n_obs / n_uniform estimates u(z)/p(z); the constant cancels after normalising.
    w = np.exp(log_odds - log_odds.max())
    return w / w.sum()


def sample_probes(
    sources: np.ndarray,
    n_probes: int,
    *,
    dims: Sequence[str] | None = None,
    active: Sequence[str] | None = None,
    n_active: int | None = None,
    delta_range: tuple[float, float] = (0.1, 0.7),
    seed: int = 0,
) -> Probes:
    """Draw ``n_probes`` probes from normalised source points ``sources`` (n, d)."""
    dims = check_dims(dims)
    sources = np.asarray(sources, dtype=float)
    if sources.ndim != 2 or sources.shape[1] != len(dims):
        raise ValueError(f"sources must be (n, {len(dims)}), got {sources.shape}")
    active_dims = check_dims(active) if active is not None else dims
    missing = [a for a in active_dims if a not in dims]
    if missing:
        raise ValueError(f"active dimensions {missing} not among {list(dims)}")
    n_active = len(active_dims) if n_active is None else int(n_active)
    if not 1 <= n_active <= len(active_dims):
        raise ValueError(f"n_active must be in 1..{len(active_dims)}")
    lo, hi = map(float, delta_range)
    if not 0 < lo <= hi <= 1:
        raise ValueError("delta_range must satisfy 0 < lo <= hi <= 1")
    if n_probes < 1:
        raise ValueError("n_probes must be >= 1")

    weights = coverage_weights(sources, seed=seed)
    rng = np.random.default_rng([seed, 1])
    idx = rng.choice(len(sources), size=n_probes, replace=n_probes > len(sources), p=weights)
    z0 = sources[idx]
    cols = np.array([dims.index(a) for a in active_dims])
    # A random subset of n_active active dimensions per probe: the n_active smallest of uniform keys.
    keys = rng.uniform(size=(n_probes, len(cols)))
    chosen = np.argsort(keys, axis=1)[:, :n_active]
    mask = np.zeros((n_probes, len(dims)), dtype=bool)
    mask[np.arange(n_probes)[:, None], cols[chosen]] = True

    room_up, room_down = 1.0 - z0, z0
    can_up, can_down = room_up >= lo, room_down >= lo
    up = np.where(can_up & can_down, rng.uniform(size=z0.shape) < 0.5, can_up)
    room = np.minimum(np.where(up, room_up, room_down), hi)
    magnitude = lo + rng.uniform(size=z0.shape) * (room - lo)
    delta = np.where(up, magnitude, -magnitude)
    goal = np.where(mask, np.clip(z0 + delta, 0.0, 1.0), z0)
    return Probes(source_index=idx, goal=goal, active=mask, weights=weights, dims=dims, seed=seed)
