"""Flow field of requested vs realised movement in a 2-D slice of goal space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def flow_field(
    z0: np.ndarray,
    z_goal: np.ndarray,
    z_out: np.ndarray,
    dims: Sequence[str],
    pair: tuple[str, str],
    *,
    grid: int = 6,
    ax=None,
    title: str | None = None,
):
    """Quiver of the mean requested move r = z* - z0 (grey) and mean realised move m = zh - z0
    (colour) per cell of a ``grid`` x ``grid`` partition of the source positions on two dimensions.

    Arrows start at the mean source position of their cell; arrow length is in goal-space units.
    Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    dims = list(dims)
    i, j = dims.index(pair[0]), dims.index(pair[1])
    z0, z_goal, z_out = (np.asarray(a, float)[:, [i, j]] for a in (z0, z_goal, z_out))
    z_goal = np.where(np.isnan(z_goal), z0, z_goal)
    ok = np.isfinite(z0).all(1) & np.isfinite(z_goal).all(1) & np.isfinite(z_out).all(1)
    z0, r, m = z0[ok], (z_goal - z0)[ok], (z_out - z0)[ok]
    cell = np.minimum((z0 * grid).astype(int), grid - 1)
    key = cell[:, 0] * grid + cell[:, 1]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4.5))
    starts, req, real, counts = [], [], [], []
    for k in np.unique(key):
        sel = key == k
        starts.append(z0[sel].mean(0))
        req.append(r[sel].mean(0))
        real.append(m[sel].mean(0))
        counts.append(sel.sum())
    if starts:
        s, q, w = np.array(starts), np.array(req), np.array(real)
        kw = dict(angles="xy", scale_units="xy", scale=1.0, width=0.006)
        ax.quiver(s[:, 0], s[:, 1], q[:, 0], q[:, 1], color="0.6", label="requested (mean r)", **kw)
        ax.quiver(s[:, 0], s[:, 1], w[:, 0], w[:, 1], color="C3", label="realised (mean m)", **kw)
        ax.scatter(s[:, 0], s[:, 1], s=8 + 2 * np.sqrt(counts), color="k", zorder=3)
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel(pair[0].replace("_", " "))
    ax.set_ylabel(pair[1].replace("_", " "))
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    ax.set_title(title or f"flow field, n={int(ok.sum())}", fontsize=9)
    return ax
