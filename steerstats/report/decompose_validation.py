"""``decompose --validate``'s written output: the simulation study of the decomposition
estimators (:func:`steerstats.decompose.validate_decomposition`) as a Run."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from steerstats.report.artifacts import Table
from steerstats.report.run import Run


def validation_line(summary: pd.DataFrame, *, n_sims: int, n_boot: int, n_splits: int) -> str:
    """One sentence per (scenario, estimator, interval): max |bias| / SD and the coverage range of
    the steering and producible terms, against the criteria."""
    terms = summary[summary["term"].isin(["steering_term", "producible_term"])]
    parts = [
        f"{scenario} / {estimator} ({interval.split(',')[0]}): max |bias| / SD {g['bias_over_sd'].abs().max():.2f} "
        f"(criterion < 0.2), coverage {g['coverage'].min():.3f}-{g['coverage'].max():.3f} "
        f"(criterion 0.93-0.97; MC error ~{g['coverage_mcse'].mean():.3f})"
        for (scenario, estimator, interval), g in terms.groupby(["scenario", "estimator", "interval"], sort=False)
    ]
    return (f"R = {n_sims} simulated studies per scenario (influence intervals over {n_splits} splits; "
            f"refit bootstraps with B = {n_boot}), steering and producible terms: " + "; ".join(parts) + ".")


def validation_run(sims: pd.DataFrame, summary: pd.DataFrame, *, scenarios: Sequence[str], n_sims: int, n_boot: int,
                   n_splits: int, seed: int, interval: str | None, seconds: float,
                   components: int | None = None) -> Run:
    """The validation study's summary and per-simulation draws as a Run."""
    from steerstats.decompose.validate import SCENARIOS

    line = validation_line(summary, n_sims=n_sims, n_boot=n_boot, n_splits=n_splits)
    table = Table(
        name="decomposition_validation",
        frame=summary,
        title="Decomposition estimators on simulated studies with known truth",
        interpretation=line,
        se_note="bias_mcse = empirical_sd / sqrt(R) (Monte Carlo SE of the bias); bias_over_sd = bias / empirical_sd "
        "(the SD of one estimate); coverage_mcse = sqrt(c (1 - c) / R).",
        notes=(*(f"{k}: {v}" for k, v in SCENARIOS.items() if k in scenarios),
               "Goals represented by their true feature vectors"
               + (f", reduced to their {components} leading principal components" if components else "")
               + "; 95% intervals clustered on steering users: "
               "influence-function t intervals for the interacted estimator (unless --interval bootstrap), "
               "percentile intervals of the refit bootstrap for the additive one."),
        se_stems={},
    )
    return Run(
        command="decompose --validate",
        title=table.title,
        summary=line,
        tables=[table],
        data=[("decomposition_validation_draws", sims)],
        dataset="simulation",
        config={"n_sims": n_sims, "n_boot": n_boot, "scenarios": list(scenarios), "interval": interval or "default",
                "n_splits": n_splits, "components": components},
        seeds={"simulation": seed},
        caps={"n_boot": n_boot},
        seconds={"total": seconds},
        truth=True,
    )
