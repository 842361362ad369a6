"""Three kinds of interval side by side, for mean DreamSim by model and for the per-judgement
rates (improvement, POM-1, POM-5) of the release (``steerstats report --bayes``):

  - 95% interval from the plain row SEM (mean +- 1.96 SE; rows treated as independent),
  - 95% cluster interval (similarity: steering-user cluster-bootstrap percentile, goals being nested
    in users; judgements: CGM two-way steering user x rater, raters crossing users),
  - posterior mean and 94% HDI of the hierarchical model (:mod:`steerstats.uncertainty.bayes`), with
    the fit's status; a failed fit's numbers are blanked, never used.

Entry point :func:`run_interval_comparison`; presentation: :mod:`steerstats.report.section_bayes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from steerstats.data.study import Study
from steerstats.uncertainty.bayes.inference import NutsSettings

Z95 = float(norm.ppf(0.975))
JUDGEMENTS = {"improvement": ("improvement", "last_chosen"), "pom1": ("pom1", "ref_chosen"),
              "pom5": ("pom5", "ref_chosen")}


def _bayes_columns(fit) -> pd.DataFrame:
    s = fit.summary.rename(columns={"mean": "bayes_mean", "hdi_low": "hdi94_low", "hdi_high": "hdi94_high",
                                    "status": "bayes_status"})
    if not fit.ok:
        s[["bayes_mean", "hdi94_low", "hdi94_high"]] = np.nan
    return s


def _sem_columns(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    g = frame.groupby("model", sort=True)[value]
    mean, se = g.mean(), g.std(ddof=1) / np.sqrt(g.size())
    return pd.DataFrame({"model": mean.index, "n": g.size().to_numpy(), "mean": mean.to_numpy(),
                         "sem_low": (mean - Z95 * se).to_numpy(), "sem_high": (mean + Z95 * se).to_numpy()})


def _boot_columns(res, levels) -> pd.DataFrame:
    return pd.DataFrame({"model": levels, "boot_low": res.ci_low, "boot_high": res.ci_high})


def similarity_comparison(study: Study, *, n_boot: int, seed: int, settings: NutsSettings) -> tuple[pd.DataFrame, Any]:
    """Per model: row-SEM, steering-user cluster-bootstrap and Bayesian intervals of mean DreamSim."""
    from steerstats.uncertainty.bayes.inference import fit_similarity
    from steerstats.uncertainty.bootstrap import grouped_mean_bootstrap

    s = study.require("steering")
    res, levels = grouped_mean_bootstrap(s, "dreamsim", "model", "steering_user_id",
                                         n_boot=n_boot, seed=seed)
    fit = fit_similarity(s, "dreamsim", seed=seed, settings=settings)
    table = _sem_columns(s, "dreamsim").merge(_boot_columns(res, levels), on="model")
    table = table.merge(_bayes_columns(fit), on="model", validate="one_to_one")
    # the 94% HDI against the 95% bootstrap interval rescaled to 94% (normal ratio 1.881 / 1.960)
    table["hdi_to_cluster_width"] = (table["hdi94_high"] - table["hdi94_low"]) / (
        (table["boot_high"] - table["boot_low"]) * 1.8808 / 1.9600)
    table["nuts_seconds"] = fit.posterior.seconds
    return table, fit


def _share_stat(frame: pd.DataFrame, w, *, y: np.ndarray, codes: np.ndarray, k: int) -> np.ndarray:
    from steerstats.metrics.weighted import weighted_group_mean

    return weighted_group_mean(y, codes, k, w)


def judgement_comparison(study: Study, *, seed: int, settings: NutsSettings) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Per judgement and model: row-SEM, CGM two-way and Bayesian intervals of the yes-share."""
    from steerstats.uncertainty.bayes.inference import fit_binary
    from steerstats.uncertainty.clusters import cluster_robust_se

    parts, fits = [], {}
    for name, (attr, column) in JUDGEMENTS.items():
        f = study.require(attr)
        y = f[column].astype(float)
        codes, levels = pd.factorize(f["model"], sort=True)
        stat = partial(_share_stat, y=y.to_numpy(), codes=codes, k=len(levels))
        # raters cross steering users (goals are nested in users): CGM two-way, t(G - 1) below 50 clusters
        cgm = cluster_robust_se(stat, f, ["steering_user_id", "user_id"])
        half = cgm.critical(0.95) * cgm.se
        fit = fit_binary(f, column, seed=seed, settings=settings)
        fits[name] = fit
        cl = pd.DataFrame({"model": list(levels), "cgm_low": cgm.estimate - half, "cgm_high": cgm.estimate + half})
        part = _sem_columns(f.assign(_y=y), "_y").merge(cl, on="model")
        part = part.merge(_bayes_columns(fit), on="model", validate="one_to_one")
        part["hdi_to_cluster_width"] = (part["hdi94_high"] - part["hdi94_low"]) / (
            (part["cgm_high"] - part["cgm_low"]) * 1.8808 / 1.9600)
        part.insert(0, "judgement", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True), fits


@dataclass
class IntervalComparison:
    """What :func:`run_interval_comparison` computed: the two tables and the Bayesian fits."""

    similarity: pd.DataFrame
    judgements: pd.DataFrame
    similarity_fit: Any
    judgement_fits: dict[str, Any]
    settings: NutsSettings


def run_interval_comparison(study: Study, *, n_boot: int, seed: int, settings: NutsSettings) -> IntervalComparison:
    """Both comparisons on ``study`` (needs the steering and judgement files)."""
    sim, sim_fit = similarity_comparison(study, n_boot=n_boot, seed=seed, settings=settings)
    judge, fits = judgement_comparison(study, seed=seed, settings=settings)
    return IntervalComparison(sim, judge, sim_fit, fits, settings)
