"""Steerability report on the released study, with the paper's printed numbers alongside.

    .venv/bin/python analyses/steerability_vafa2025.py --data-dir ../shared/data/vafa2025 --out out/vafa2025

Runs ``steerstats report`` on the release (Vafa et al. 2025) and prints the headline estimates
next to the values in the release's own ``image_generation/data/summary_metrics.csv`` ("Overall"
row). Similarity means and their row SEMs must agree to floating-point precision; the release's
improvement / POM rates are one unseeded draw of the chunk-of-3 majority procedure, so
steerstats' exact expectation differs from them by a fraction of their SEM. The release's rating
columns are on the 10-point scale (``sat_rating_10.csv``, not released), so they are not compared.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from steerstats.data import load_study
from steerstats.report import ReportContext, build_report

#: the release's summary_metrics.csv (image_generation/data and LLMs/data), row "Overall":
#: (label, steerstats table, estimate column, SE stem, paper value, paper SEM)
PAPER = (
    ("dreamsim", "similarity_by_model", "dreamsim_mean", "dreamsim", 0.6522720654088238, 0.0028972004395885044),
    ("clip", "similarity_by_model", "clip_mean", "clip", 0.8152664566298254, 0.002177990826258575),
    ("dreamsim first", "similarity_by_model", "dreamsim_first_mean", "dreamsim_first", 0.6211255956642895, 0.006788880598483365),
    ("dreamsim last", "similarity_by_model", "dreamsim_last_mean", "dreamsim_last", 0.6716323712242209, 0.006277218438409332),
    ("improvement", "judgement_rates", "improvement_rate", "improvement_rate", 0.6208206686930091, 0.013379581686146025),
    ("pom1", "judgement_rates", "pom1", "pom1", 0.5385964912280702, 0.020898546079417466),
    ("pom5", "judgement_rates", "pom5", "pom5", 0.6111888111888112, 0.018243491923752297),
    ("llm rating", "llm_steerability", "rating_mean", "rating", 2.5448979591836736, 0.030882466224339558),
    # the release's Overall very-satisfied SEM (0.382) omits the /n, so the binomial SEM is shown
    ("llm very satisfied", "llm_steerability", "very_satisfied", "very_satisfied", 0.17755102040816326, None),
    ("llm improvement", "llm_steerability", "improvement_rate", "improvement", 0.47229551451187335, 0.025677716724830307),
)


def comparison(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Pooled estimate, its SEs and the paper's value per headline quantity."""
    rows = []
    for label, table, column, stem, paper, paper_se in PAPER:
        pooled = tables[table].iloc[-1]
        paper_se = pooled[f"{stem}_se"] if paper_se is None else paper_se
        rows.append(
            {
                "quantity": label,
                "steerstats": pooled[column],
                "row_se": pooled[f"{stem}_se"],
                "goal_cluster_se": pooled[f"{stem}_se_cluster"],
                "paper": paper,
                "paper_se": paper_se,
                "difference_in_paper_ses": (pooled[column] - paper) / paper_se,
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", default="out/vafa2025")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-boot", type=int, default=2000)
    args = parser.parse_args()
    study = load_study("vafa2025", args.data_dir)
    result = build_report(study, Path(args.out), context=ReportContext(seed=args.seed, n_boot=args.n_boot))
    frames = {name: t.frame for name, t in result.tables.items()}
    with pd.option_context("display.width", 160, "display.float_format", "{:.4f}".format):
        print(comparison(frames).to_string(index=False))
    print(f"report: {args.out}/report.md ({result.seconds['total']:.1f} s)")


if __name__ == "__main__":
    main()
