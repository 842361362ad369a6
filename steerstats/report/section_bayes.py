"""Report section (``steerstats report --bayes``): three kinds of interval side by side.

For mean DreamSim by model and for the per-judgement rates (improvement, POM-1, POM-5):
  - 95% interval from the plain row SEM (mean +- 1.96 SE; rows treated as independent),
  - 95% cluster-bootstrap percentile interval (similarity: steering users, in which goals are
    nested; judgements: goal image x rater, two-way product weights),
  - posterior mean and 94% HDI of the hierarchical model (steerstats.uncertainty.bayes), with
    the fit's status; a failed fit's numbers are blanked, never used.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from scipy.stats import norm

from steerstats.data.study import Study
from steerstats.report.sections import ReportContext

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


def _comparison(table: pd.DataFrame, what: str, cluster_text: str, shared: str, prefix: str = "boot") -> str:
    """One sentence, computed from the table: widths relative to the row-SEM interval, and the
    per-model range of the HDI / cluster-interval width ratio."""
    sem_w = (table["sem_high"] - table["sem_low"]).to_numpy()
    cl_w = (table[f"{prefix}_high"] - table[f"{prefix}_low"]).to_numpy()
    boot = float(np.mean(cl_w / sem_w))
    ok = table["bayes_status"] == "ok"
    text = (f"For {what}, the {cluster_text} interval is on average {boot:.1f}x as wide as "
            f"the row-SEM interval, which ignores that rows sharing {shared} are correlated")
    if ok.any():
        bay = float(np.mean(((table["hdi94_high"] - table["hdi94_low"]) / (table["sem_high"] - table["sem_low"]))[ok]))
        ratio = table.loc[ok, "hdi_to_cluster_width"]
        text += (f"; the Bayesian 94% HDI (random effects for every source of clustering, population-level "
                 f"quantity) is {bay:.1f}x as wide, and {ratio.min():.2f}-{ratio.max():.2f}x the {cluster_text} "
                 "interval model by model")
    failed = sorted(set(table.loc[~ok, "bayes_status"]))
    if failed:
        text += f"; the Bayesian fit FAILED its diagnostics ({failed[0]}) and is not shown"
    return text + "."


def similarity_comparison(study: Study, context: ReportContext, fit_kwargs: dict) -> tuple[pd.DataFrame, object]:
    from steerstats.uncertainty import grouped_mean_bootstrap
    from steerstats.uncertainty.bayes import fit_similarity

    s = study.require("steering")
    res, levels = grouped_mean_bootstrap(s, "dreamsim", "model", "steering_user_id",
                                         n_boot=context.n_boot, seed=context.seed)
    fit = fit_similarity(s, "dreamsim", seed=context.seed, **fit_kwargs)
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


def judgement_comparison(study: Study, context: ReportContext, fit_kwargs: dict) -> tuple[pd.DataFrame, dict]:
    from steerstats.uncertainty.bayes import fit_binary
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
        fit = fit_binary(f, column, seed=context.seed, **fit_kwargs)
        fits[name] = fit
        cl = pd.DataFrame({"model": list(levels), "cgm_low": cgm.estimate - half, "cgm_high": cgm.estimate + half})
        part = _sem_columns(f.assign(_y=y), "_y").merge(cl, on="model")
        part = part.merge(_bayes_columns(fit), on="model", validate="one_to_one")
        part["hdi_to_cluster_width"] = (part["hdi94_high"] - part["hdi94_low"]) / (
            (part["cgm_high"] - part["cgm_low"]) * 1.8808 / 1.9600)
        part.insert(0, "judgement", name)
        parts.append(part)
    return pd.concat(parts, ignore_index=True), fits


def section(study: Study, context: ReportContext) -> list:
    if not context.bayes:
        return []
    from steerstats.report.artifacts import PosteriorArtifact, Table
    from steerstats.uncertainty.bayes import NutsSettings, request_host_devices

    request_host_devices(4)  # effective only if nothing has started JAX yet; else chains run in turn
    opts = context.options
    settings = NutsSettings(
        num_warmup=int(opts.get("bayes_warmup", 1000)),
        num_samples=int(opts.get("bayes_samples", 1000)),
        progress=bool(opts.get("progress", True)),
    )
    fit_kwargs = {"settings": settings}
    note = ("`sem_*`: 95% mean +- 1.96 row SEM; `boot_*`: 95% cluster-bootstrap percentile interval over steering "
            f"users (B = {context.n_boot}, seed {context.seed}); `cgm_*`: 95% CGM two-way (steering user x rater) "
            "interval, t(G - 1) quantile below 50 clusters; `hdi_to_cluster_width`: HDI width / the cluster interval's "
            "width at 94%; `bayes_mean`, `hdi94_*`: posterior mean and 94% "
            "HDI of the hierarchical model's population-level quantity (NUTS, "
            f"{settings.num_chains} chains x {settings.num_samples} draws after {settings.num_warmup} warm-up); "
            "`bayes_status` is 'ok' only if every R-hat <= 1.01 and no transition diverged.")
    sim, sim_fit = similarity_comparison(study, context, fit_kwargs)
    judge, judge_fits = judgement_comparison(study, context, fit_kwargs)
    posteriors = [PosteriorArtifact("bayes_similarity", sim_fit.posterior.inference_data())]
    posteriors += [PosteriorArtifact(f"bayes_{name}", fit.posterior.inference_data()) for name, fit in judge_fits.items()]
    return [*posteriors,
        Table("bayes_similarity", sim, "Mean DreamSim by model: SEM, cluster bootstrap and Bayesian intervals",
              _comparison(sim, "mean DreamSim by model", "steering-user cluster-bootstrap", "a steering user (10 rows each)"), note,
              notes=("Bayes: logit-normal model with model means, attempt trend, and user, goal and attempt random "
                     "effects whose SDs differ by model (hierarchical prior across models); the population mean "
                     "integrates the random effects out.",)),
        Table("bayes_judgements", judge, "Judgement rates by model: SEM, cluster bootstrap and Bayesian intervals",
              _comparison(judge, "the per-judgement rates", "CGM two-way (steering user x rater)",
                          "a steering user or a rater", prefix="cgm"), note,
              notes=("Rates are plain shares of yes judgements (the `_share` columns of judgement_rates), not the "
                     "release's chunked majority votes. Bayes: logistic model with model effects, rater and goal "
                     "random effects; the population rate integrates them out. The CGM variance replaces the "
                     "product-weight two-way bootstrap, which counts the residual variance once per factor "
                     "(Owen 2007) and was ~1.4x too wide.",)),
    ]
