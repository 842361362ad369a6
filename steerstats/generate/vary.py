"""Latent variations (Vafa et al. 2025, Sec. 5 and App. C.2; SPEC Eq. 8).

A variation of latent z with mixture scale s in [0, 1] and eps ~ N(0, I):

    z' = sqrt(1 / (s^2 + (1 - s)^2)) * ((1 - s) * z + s * eps)

The factor keeps the variance: if z ~ N(0, I) independent of eps then z' ~ N(0, I), so a variation
is again a typical latent. s = 0 returns z, s = 1 a fresh draw.
"""

from __future__ import annotations

import numpy as np


def mixture_coefficients(mixture_scale: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) with z' = a z + b eps and a^2 + b^2 = 1."""
    s = np.asarray(mixture_scale, dtype=float)
    if np.any(~np.isfinite(s)) or np.any((s < 0.0) | (s > 1.0)):
        raise ValueError(f"mixture scale must lie in [0, 1], got {mixture_scale!r}")
    c = 1.0 / np.sqrt(s**2 + (1.0 - s) ** 2)
    return c * (1.0 - s), c * s


def mix_latent(
    z: np.ndarray, eps: np.ndarray, mixture_scale: float | np.ndarray
) -> np.ndarray:
    """SPEC Eq. 8 for given noise; ``mixture_scale`` broadcasts against ``z`` and ``eps``."""
    a, b = mixture_coefficients(mixture_scale)
    return a * np.asarray(z, dtype=float) + b * np.asarray(eps, dtype=float)


def vary_latent(
    z: np.ndarray, mixture_scale: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` variations of one latent ``z``: shape (n, *z.shape)."""
    z = np.asarray(z, dtype=float)
    eps = rng.standard_normal((n, *z.shape))
    return mix_latent(z[None], eps, mixture_scale)
