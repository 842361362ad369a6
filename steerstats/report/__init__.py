"""steerstats.report: publication tables, figures and the ``steerstats report`` command.

    from steerstats.data import load_study
    from steerstats.report import build_report, ReportContext
    study = load_study("vafa2025", "path/to/vafa2025")
    build_report(study, "out/report", context=ReportContext(seed=0, n_boot=2000))

Sections are registered in :mod:`steerstats.report.sections` (see its docstring to add one).
"""

from steerstats.report.artifacts import (
    Figure,
    Table,
    to_latex,
    to_markdown,
    write_figure,
    write_table,
)
from steerstats.report.build import ReportResult, build_report, manifest, package_versions
from steerstats.report.estimates import add_cluster_se, bootstrap_se
from steerstats.report.sections import SECTIONS, ReportContext, Section

__all__ = [
    "SECTIONS",
    "Figure",
    "ReportContext",
    "ReportResult",
    "Section",
    "Table",
    "add_cluster_se",
    "bootstrap_se",
    "build_report",
    "manifest",
    "package_versions",
    "to_latex",
    "to_markdown",
    "write_figure",
    "write_table",
]
