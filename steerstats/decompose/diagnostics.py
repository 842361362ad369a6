"""How good is the cross-fitted predictor of mu_i? (What the decomposition's terms rest on.)

:func:`predictor_diagnostics` compares each row's cross-fitted prediction under its own model,
mu_{m(i)}(x_i), with its outcome y_i (every prediction comes from a fit that never saw the row's
goal):

- per model: n, MSE, R^2 = 1 - sum (y - mu)^2 / sum (y - mean_model(y))^2 (the share of the
  within-model variance the goal features explain out of sample), and the mean error y - mu;
- calibration: rows binned by deciles of mu; mean mu against mean y in each (a calibrated
  predictor has mean y - mu near 0 in every bin, not only on average).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.decompose.estimate import DecompositionData


def predictor_diagnostics(data: DecompositionData, mu: np.ndarray, n_bins: int = 10) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per-model fit, calibration by decile of mu) of cross-fitted ``mu`` (n, K)."""
    own = mu[np.arange(len(data.y)), data.codes]
    err = data.y - own
    rows = []
    for k, model in enumerate(data.models):
        sel = data.codes == k
        y = data.y[sel]
        sst = float(((y - y.mean()) ** 2).sum())
        sse = float((err[sel] ** 2).sum())
        rows.append({"model": model, "n": int(sel.sum()), "mse": sse / max(sel.sum(), 1),
                     "r2_within": 1.0 - sse / sst if sst > 0 else np.nan, "mean_error": float(err[sel].mean())})
    sst = float(((data.y - data.y.mean()) ** 2).sum())
    rows.append({"model": "all", "n": len(data.y), "mse": float((err**2).mean()),
                 "r2_within": 1.0 - float((err**2).sum()) / sst if sst > 0 else np.nan, "mean_error": float(err.mean())})
    fit = pd.DataFrame(rows)
    edges = np.quantile(own, np.linspace(0, 1, n_bins + 1))
    bins = np.clip(np.searchsorted(edges, own, side="right") - 1, 0, n_bins - 1)
    calib = pd.DataFrame({"bin": bins, "mu": own, "y": data.y}).groupby("bin").agg(
        n=("y", "size"), mean_mu=("mu", "mean"), mean_y=("y", "mean"))
    calib["mean_error"] = calib["mean_y"] - calib["mean_mu"]
    calib["error_se"] = pd.DataFrame({"bin": bins, "e": err}).groupby("bin")["e"].std(ddof=1) / np.sqrt(calib["n"])
    return fit, calib.reset_index()
