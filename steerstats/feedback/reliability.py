"""Inter-rater reliability of the human judgements: the ceiling any scorer or reward model can reach.

- Krippendorff's alpha (ordinal; the ``krippendorff`` package) of a panel's ratings, missing
  ratings allowed;
- ICC(2,1) and ICC(2,k): two-way random effects, absolute agreement (Shrout & Fleiss 1979, case 2),
  from the ANOVA of the complete images x raters table;
- between panels: the ICC of the two panels' mean ratings (interval scale, two "raters") and the
  Spearman correlation of the panel means (on the same scale as the scorer agreement).

Intervals: percentile, cluster bootstrap over prompts (a prompt's images are resampled together).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.config import check_n_boot


def icc2(table: np.ndarray) -> tuple[float, float]:
    """(ICC(2,1), ICC(2,k)) of a complete (n targets, k raters) table (Shrout & Fleiss case 2)."""
    x = np.asarray(table, float)
    n, k = x.shape
    grand = x.mean()
    ms_rows = k * np.sum((x.mean(axis=1) - grand) ** 2) / (n - 1)
    ms_cols = n * np.sum((x.mean(axis=0) - grand) ** 2) / (k - 1)
    resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
    ms_err = np.sum(resid**2) / ((n - 1) * (k - 1))
    single = (ms_rows - ms_err) / (ms_rows + (k - 1) * ms_err + k * (ms_cols - ms_err) / n)
    average = (ms_rows - ms_err) / (ms_rows + (ms_cols - ms_err) / n)
    return float(single), float(average)


def _replicate_rows(weights: np.ndarray | None, n: int) -> list[np.ndarray]:
    """Row indices of each replicate: row i repeated weights[b, i] times (integer counts)."""
    if weights is None:
        return [np.arange(n)]
    w = np.atleast_2d(np.asarray(weights))
    return [np.repeat(np.arange(n), np.rint(row).astype(int)) for row in w]


def _stack(values: list[np.ndarray], weights: np.ndarray | None) -> np.ndarray:
    out = np.array(values)
    return out[0] if weights is None or np.ndim(weights) == 1 else out


@dataclass(frozen=True)
class Reliability:
    """What :func:`run_reliability` computed."""

    table: pd.DataFrame  # one row per (panel, statistic): value, value_se, value_ci_low/high, n_images, n_raters
    n_boot: int
    seed: int
    level: float


def _panel_wide(ratings: pd.DataFrame, panel: str) -> pd.DataFrame:
    r = ratings[ratings["panel"] == panel]
    return r.pivot_table(index=["image_id", "prompt_id"], columns="rater", values="rating", aggfunc="first").reset_index()


def run_reliability(ratings: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, level: float = 0.95) -> Reliability:
    """Reliability within each panel of ``ratings`` (image_id, prompt_id, panel, rater, rating) and
    between the panels' means (module docstring)."""
    import krippendorff
    from scipy.stats import spearmanr

    from steerstats.uncertainty.bootstrap import cluster_bootstrap

    check_n_boot(n_boot)
    rows = []
    panels = list(dict.fromkeys(ratings["panel"]))
    for panel in panels:
        wide = _panel_wide(ratings, panel)
        raters = [c for c in wide.columns if c not in ("image_id", "prompt_id")]
        x = wide[raters].to_numpy(float)
        complete = np.isfinite(x).all(axis=1)

        def statistic(frame: pd.DataFrame, weights: np.ndarray | None, x=x, complete=complete) -> np.ndarray:
            out = []
            for idx in _replicate_rows(weights, len(x)):
                sub = x[idx]
                alpha = krippendorff.alpha(reliability_data=sub.T, level_of_measurement="ordinal",
                                           value_domain=[1, 2, 3, 4, 5])
                out.append([alpha, *icc2(sub[complete[idx]])])
            return _stack(out, weights)

        boot = cluster_bootstrap(statistic, wide, "prompt_id", n_boot=n_boot, seed=seed, level=level)
        for j, name in enumerate(("krippendorff_alpha_ordinal", "icc_2_1", "icc_2_k")):
            rows.append({"panel": panel, "statistic": name, "value": boot.estimate[j], "value_se": boot.se[j],
                         "value_ci_low": boot.ci_low[j], "value_ci_high": boot.ci_high[j],
                         "n_images": int(complete.sum()) if name.startswith("icc") else len(x),
                         "n_raters": len(raters)})
    if len(panels) == 2:
        means = ratings.groupby(["image_id", "prompt_id", "panel"])["rating"].mean().unstack("panel").reset_index()
        m = means[panels].to_numpy(float)

        def between(frame: pd.DataFrame, weights: np.ndarray | None) -> np.ndarray:
            out = []
            for idx in _replicate_rows(weights, len(m)):
                out.append([icc2(m[idx])[0], spearmanr(m[idx, 0], m[idx, 1]).statistic])
            return _stack(out, weights)

        boot = cluster_bootstrap(between, means, "prompt_id", n_boot=n_boot, seed=seed, level=level)
        for j, name in enumerate(("icc_2_1_of_panel_means", "spearman_of_panel_means")):
            rows.append({"panel": " vs ".join(panels), "statistic": name, "value": boot.estimate[j], "value_se": boot.se[j],
                         "value_ci_low": boot.ci_low[j], "value_ci_high": boot.ci_high[j], "n_images": len(m),
                         "n_raters": 2})
    return Reliability(pd.DataFrame(rows), n_boot, seed, level)
