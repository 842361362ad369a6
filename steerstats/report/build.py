"""Run the registered sections on a study and write the report directory atomically.

    OUT/tables/NAME.{csv,md,tex}   every table
    OUT/figures/NAME.{png,pdf}     every figure
    OUT/report.md                  links + one line of interpretation per table
    OUT/manifest.json              versions, seed, B, input files (sha256), warnings, seconds per step

The directory is built in a temporary sibling and moved into place only when every step succeeded
(:func:`steerstats._io.atomic_directory`), so a failed run leaves no partial OUT.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from steerstats._io import atomic_directory, atomic_write_json, atomic_write_text
from steerstats.data.study import Study
from steerstats.errors import DataNotFoundError
from steerstats.report.artifacts import Figure, Table, write_figure, write_table
from steerstats.report.sections import SECTIONS, ReportContext, Section

PACKAGES = ("steerstats", "numpy", "scipy", "pandas", "matplotlib", "jax", "numpyro", "arviz")


@dataclass
class ReportResult:
    """What a run wrote: the tables and figures (in memory), skipped sections, step times."""

    out: Path
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def _progress(sections: Sequence[Section], show: bool):
    from tqdm.auto import tqdm

    return tqdm(sections, desc="report", unit="section", disable=not show, file=sys.stderr)


def report_markdown(study: Study, context: ReportContext, result: ReportResult) -> str:
    lines = [
        f"# Steerability report: {study.name}",
        "",
        f"Source: `{study.source or study.name}`; seed {context.seed}; bootstrap B = {context.n_boot}. "
        "See `manifest.json` for input files (sha256), package versions and timings.",
        "",
        "## Tables",
        "",
    ]
    for name, table in result.tables.items():
        lines += [
            f"### {table.title}",
            "",
            f"[{name}.md](tables/{name}.md) · [csv](tables/{name}.csv) · [tex](tables/{name}.tex)",
            "",
            table.interpretation,
            "",
            f"*SE:* {table.se_note}",
            "",
        ]
    if result.figures:
        lines += ["## Figures", ""]
        for name, fig in result.figures.items():
            lines += [f"### {fig.title}", "", f"![{fig.title}](figures/{name}.png) ([pdf](figures/{name}.pdf))",
                      "", fig.caption, ""]
    lines += ["## Data warnings", ""]
    lines += [f"- {w}" for w in study.warnings] or ["- none"]
    if result.skipped:
        lines += ["", "## Skipped sections", ""]
        lines += [f"- {name}: {why}" for name, why in result.skipped.items()]
    return "\n".join(lines) + "\n"


def manifest(study: Study, context: ReportContext, result: ReportResult) -> dict[str, Any]:
    return {
        "dataset": study.name,
        "source": study.source,
        "seed": context.seed,
        "n_boot": context.n_boot,
        "bayes": context.bayes,
        "packages": package_versions(),
        "inputs": [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in study.files],
        "warnings": [str(w) for w in study.warnings],
        "tables": sorted(result.tables),
        "figures": sorted(result.figures),
        "skipped": result.skipped,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
        "truth": bool(study.truth),
    }


def build_report(
    study: Study,
    out: str | Path,
    *,
    context: ReportContext | None = None,
    sections: Sequence[Section] | None = None,
    progress: bool = True,
    force: bool = False,
) -> ReportResult:
    """Run ``sections`` (default: the registry) on ``study`` and write the report to ``out``.

    ``out`` may be new, empty or a previous report (replaced); ``force`` also replaces another
    steerstats command's output (see :func:`steerstats._io.check_output_dir`)."""
    context = context or ReportContext(dataset=study.name)
    sections = list(SECTIONS if sections is None else sections)
    result = ReportResult(out=Path(out))
    start = time.perf_counter()
    with atomic_directory(out, command="report", inputs=[study.source], force=force) as tmp:
        (tmp / "tables").mkdir()
        (tmp / "figures").mkdir()
        bar = _progress(sections, progress)
        for section in bar:
            bar.set_postfix_str(section.name)
            t0 = time.perf_counter()
            try:
                artifacts = section.load()(study, context)
            except DataNotFoundError as err:
                result.skipped[section.name] = str(err)
                artifacts = []
            for item in artifacts:
                if isinstance(item, Table):
                    if item.name in result.tables:
                        raise ValueError(f"two sections wrote table {item.name!r}")
                    write_table(item, tmp / "tables")
                    result.tables[item.name] = item
                elif isinstance(item, Figure):
                    if item.name in result.figures:
                        raise ValueError(f"two sections wrote figure {item.name!r}")
                    write_figure(item, tmp / "figures")
                    result.figures[item.name] = item
                else:
                    raise TypeError(f"section {section.name!r} returned {type(item).__name__}")
            result.seconds[section.name] = time.perf_counter() - t0
        result.seconds["total"] = time.perf_counter() - start
        atomic_write_text(tmp / "report.md", report_markdown(study, context, result))
        atomic_write_json(tmp / "manifest.json", manifest(study, context, result))
    return result
