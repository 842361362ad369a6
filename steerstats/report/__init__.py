"""steerstats.report: publication tables, figures and the ``steerstats report`` command.

    from steerstats.data import load_study
    from steerstats.report import build_report, ReportContext
    study = load_study("vafa2025", "path/to/vafa2025")
    build_report(study, "out/report", context=ReportContext(seed=0, n_boot=2000))

Each table is also a function of a study (estimates with n, row SEM and cluster-bootstrap SEs):

    from steerstats.report import similarity_tables
    by_model, by_attempt, design = similarity_tables(study, ReportContext(seed=0, n_boot=2000))

Sections are registered in :mod:`steerstats.report.sections` (see its docstring to add one).
"""

from steerstats.report.artifacts import (
    Figure,
    PosteriorArtifact,
    Table,
    to_latex,
    to_markdown,
    write_figure,
    write_table,
)
from steerstats.report.build import ReportResult, build_report, run_sections
from steerstats.report.run import (
    MANIFEST_KEYS,
    Run,
    manifest,
    package_versions,
    write_run,
    write_run_beside_state,
)
from steerstats.report.sections import SECTIONS, ReportContext, Section
from steerstats.report.steerability import (
    blind_steering_table,
    judgement_table,
    llm_table,
    satisfaction_table,
    seed_choice_table,
    seed_constraint_table,
    similarity_tables,
)
from steerstats.report.tidy import long_table

__all__ = [
    "MANIFEST_KEYS",
    "SECTIONS",
    "Figure",
    "PosteriorArtifact",
    "ReportContext",
    "ReportResult",
    "Run",
    "Section",
    "Table",
    "blind_steering_table",
    "build_report",
    "judgement_table",
    "llm_table",
    "long_table",
    "manifest",
    "package_versions",
    "run_sections",
    "satisfaction_table",
    "seed_choice_table",
    "seed_constraint_table",
    "similarity_tables",
    "to_latex",
    "to_markdown",
    "write_figure",
    "write_run",
    "write_run_beside_state",
    "write_table",
]
