"""Report section (``steerstats report --bayes``): the interval comparison of
:func:`steerstats.uncertainty.bayes.compare.run_interval_comparison` as tables, and its posteriors
kept whole (``posterior/bayes_*.nc``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.data.study import Study
from steerstats.report.sections import ReportContext


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


def section(study: Study, context: ReportContext) -> list:
    if not context.bayes:
        return []
    from steerstats.report.artifacts import PosteriorArtifact, Table
    from steerstats.uncertainty.bayes import NutsSettings, request_host_devices
    from steerstats.uncertainty.bayes.compare import run_interval_comparison

    request_host_devices(4)  # effective only if nothing has started JAX yet; else chains run in turn
    opts = context.options
    settings = NutsSettings(
        num_warmup=int(opts.get("bayes_warmup", 1000)),
        num_samples=int(opts.get("bayes_samples", 1000)),
        progress=bool(opts.get("progress", True)),
    )
    note = ("`sem_*`: 95% mean +- 1.96 row SEM; `boot_*`: 95% cluster-bootstrap percentile interval over steering "
            f"users (B = {context.n_boot}, seed {context.seed}); `cgm_*`: 95% CGM two-way (steering user x rater) "
            "interval, t(G - 1) quantile below 50 clusters; `hdi_to_cluster_width`: HDI width / the cluster interval's "
            "width at 94%; `bayes_mean`, `hdi94_*`: posterior mean and 94% "
            "HDI of the hierarchical model's population-level quantity (NUTS, "
            f"{settings.num_chains} chains x {settings.num_samples} draws after {settings.num_warmup} warm-up); "
            "`bayes_status` is 'ok' only if every R-hat <= 1.01 and no transition diverged.")
    result = run_interval_comparison(study, n_boot=context.n_boot, seed=context.seed, settings=settings)
    sim, judge = result.similarity, result.judgements
    posteriors = [PosteriorArtifact("bayes_similarity", result.similarity_fit.posterior.inference_data())]
    posteriors += [PosteriorArtifact(f"bayes_{name}", fit.posterior.inference_data())
                   for name, fit in result.judgement_fits.items()]
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
