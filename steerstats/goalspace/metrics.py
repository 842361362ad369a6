"""Steering error, miscalibration and orthogonality in goal space (SPEC section 3; Chang et al. 2025).

For source z0, goal z* (unrequested dimensions: z* = z0) and output zh, with e = zh - z*,
r = z* - z0 and m = zh - z0 (so e = m - r):

- steering error  ||e||
- miscalibration  |<e, r>| / ||r||^2        (0: moved exactly as far as asked; 1: did not move, or
                                             overshot by 100%)
- orthogonality   ||e - (<e,r>/||r||^2) r|| / ||m||  (sin of the angle between m and r)
- overshoot       <e, r> / ||r||^2           (signed miscalibration: > 0 went past the goal along r,
                                             < 0 fell short; -1 did not move)

Limits (documented choices): if m = 0 (the output did not move) orthogonality is 0, as the SPEC's
second test vector states. If r = 0 (no change requested) miscalibration and overshoot are undefined
(NaN: there is no requested direction to be calibrated against) and any movement is pure side
effect, so orthogonality is 1 (0 if m = 0 as well).

Binned mode (Chang et al.'s direct-prompt evaluation): every coordinate's change from the source is
mapped to one of 7 bins by the cut points -1, -.5, -.2, -.1, .1, .2, .5, 1 (bin k holds changes in
[c_k, c_k+1), indexed -3..3, the middle bin being "no change") and divided by 7; the same formulas
then apply to the binned r, m and e = m - r. Changes are rounded to 9 decimals before binning so that
0.5 - 0.4 lands in the +.1 bin like the 0.1 it is meant to be. (The reference code bins against
source-shifted cut points clipped to [0, 1]; that agrees with this except for outputs of exactly 1.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

Mode = Literal["continuous", "binned"]

#: Cut points on the change of one coordinate (binned mode).
CUT_POINTS = np.array([-1.0, -0.5, -0.2, -0.1, 0.1, 0.2, 0.5, 1.0])
N_BINS = len(CUT_POINTS) - 1
_EPS = 1e-12


@dataclass(frozen=True)
class SteerabilityMetrics:
    """Per-probe metrics, each of shape (n,)."""

    steering_error: np.ndarray
    miscalibration: np.ndarray
    orthogonality: np.ndarray
    overshoot: np.ndarray  # signed <e,r>/||r||^2
    requested: np.ndarray  # ||r||
    moved: np.ndarray  # ||m||
    mode: str

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "steering_error": self.steering_error,
                "miscalibration": self.miscalibration,
                "orthogonality": self.orthogonality,
                "overshoot": self.overshoot,
                "requested": self.requested,
                "moved": self.moved,
            }
        )


def bin_change(delta: np.ndarray) -> np.ndarray:
    """Bin index -3..3 of each change (binned mode), as float."""
    delta = np.round(np.asarray(delta, dtype=float), 9)
    return np.digitize(delta, CUT_POINTS[1:-1], right=False).astype(float) - (N_BINS // 2)


def fill_goal(z0: np.ndarray, z_goal: np.ndarray) -> np.ndarray:
    """Goal with unrequested (NaN) dimensions held at the source value."""
    z0, z_goal = np.asarray(z0, float), np.asarray(z_goal, float)
    return np.where(np.isnan(z_goal), z0, z_goal)


def _as_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return x[None, :] if x.ndim == 1 else x


def steerability_metrics(
    z0: np.ndarray, z_goal: np.ndarray, z_out: np.ndarray, *, mode: Mode = "continuous"
) -> SteerabilityMetrics:
    """Metrics of SPEC section 3 for n probes at once: arrays (n, d) or (d,) in normalised goal space.

    NaN in ``z_goal`` marks an unrequested dimension (held at the source value).
    """
    z0, z_out = _as_2d(z0), _as_2d(z_out)
    z_goal = fill_goal(z0, _as_2d(z_goal))
    if not z0.shape == z_goal.shape == z_out.shape:
        raise ValueError(f"shapes differ: z0 {z0.shape}, goal {z_goal.shape}, output {z_out.shape}")
    if mode == "continuous":
        r, m = z_goal - z0, z_out - z0
    elif mode == "binned":
        r, m = bin_change(z_goal - z0) / N_BINS, bin_change(z_out - z0) / N_BINS
    else:
        raise ValueError(f"mode must be 'continuous' or 'binned', not {mode!r}")
    e = m - r
    rr = np.einsum("ij,ij->i", r, r)
    er = np.einsum("ij,ij->i", e, r)
    has_r = rr > _EPS
    with np.errstate(invalid="ignore", divide="ignore"):
        proj = np.where(has_r, er / np.where(has_r, rr, 1.0), np.nan)
        rejection = np.linalg.norm(e - np.nan_to_num(proj)[:, None] * r, axis=1)
        moved = np.linalg.norm(m, axis=1)
        ortho = np.clip(rejection / moved, 0.0, 1.0)
    ortho = np.where(moved <= _EPS, 0.0, np.where(has_r, ortho, 1.0))
    # NaN inputs (unmeasurable texts) stay NaN everywhere.
    bad = np.isnan(e).any(axis=1)
    ortho = np.where(bad, np.nan, ortho)
    return SteerabilityMetrics(
        steering_error=np.linalg.norm(e, axis=1),
        miscalibration=np.abs(proj),
        orthogonality=ortho,
        overshoot=proj,
        requested=np.sqrt(rr),
        moved=moved,
        mode=mode,
    )


def median_iqr(values: np.ndarray) -> tuple[float, float, float]:
    """(median, 25th, 75th percentile) ignoring NaN; all NaN when no value is finite."""
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).any():
        return np.nan, np.nan, np.nan
    med, q1, q3 = np.nanpercentile(values, [50, 25, 75])
    return float(med), float(q1), float(q3)


def summarize(
    frame: pd.DataFrame,
    by: str | list[str] | None = None,
    metrics: tuple[str, ...] = ("steering_error", "miscalibration", "orthogonality"),
) -> pd.DataFrame:
    """Median, IQR bounds and n of each metric per group (SPEC: report median (IQR) over probes)."""
    keys = [] if by is None else ([by] if isinstance(by, str) else list(by))
    groups = frame.groupby(keys, sort=True) if keys else [((), frame)]
    rows = []
    for key, sub in groups:
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row["n"] = len(sub)
        for name in metrics:
            med, q1, q3 = median_iqr(sub[name].to_numpy())
            row[f"{name}_median"], row[f"{name}_q25"], row[f"{name}_q75"] = med, q1, q3
            row[f"{name}_n"] = int(np.isfinite(sub[name].to_numpy()).sum())
        rows.append(row)
    return pd.DataFrame(rows)
