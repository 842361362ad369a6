"""Run the registered sections on a study and write the report with the run writer
(:mod:`steerstats.report.run`): OUT/tables, OUT/figures, OUT/posterior (with ``--bayes``),
OUT/report.md and OUT/manifest.json, atomically (a failed run leaves no partial OUT).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from steerstats._extras import missing_extra
from steerstats.data.study import Study
from steerstats.data.tifa160 import FeedbackStudy
from steerstats.errors import DataNotFoundError
from steerstats.report.artifacts import Figure, PosteriorArtifact, Table
from steerstats.report.run import Run, write_run
from steerstats.report.sections import ReportContext, Section, default_sections


@dataclass
class ReportResult:
    """What a run wrote: the tables, figures and posteriors (in memory), skipped sections, step times."""

    out: Path
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Figure] = field(default_factory=dict)
    posteriors: dict[str, Any] = field(default_factory=dict)  # name -> arviz InferenceData
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def _progress(sections: Sequence[Section], show: bool):
    from tqdm.auto import tqdm

    return tqdm(sections, desc="report", unit="section", disable=not show, file=sys.stderr)


def study_inputs(study: Study) -> list[dict[str, Any]]:
    """The manifest's input records of a loaded study (path, sha256, rows)."""
    return [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in study.files]


def run_sections(study: Study, context: ReportContext, sections: Sequence[Section] | None = None, *,
                 progress: bool = True) -> ReportResult:
    """Run ``sections`` (default: the registry) on ``study``; nothing is written."""
    sections = list(default_sections(study) if sections is None else sections)
    result = ReportResult(out=Path())
    start = time.perf_counter()
    bar = _progress(sections, progress)
    for section in bar:
        bar.set_postfix_str(section.name)
        t0 = time.perf_counter()
        try:
            artifacts = section.load()(study, context)
        except DataNotFoundError as err:
            result.skipped[section.name] = str(err)
            artifacts = []
        except ModuleNotFoundError as err:  # an optional extra: skip the section, say how to get it
            hint = missing_extra(err)
            if hint is None:
                raise
            result.skipped[section.name] = hint
            artifacts = []
        for item in artifacts:
            kind = {Table: result.tables, Figure: result.figures, PosteriorArtifact: result.posteriors}.get(type(item))
            if kind is None:
                raise TypeError(f"section {section.name!r} returned {type(item).__name__}")
            if item.name in kind:
                raise ValueError(f"two sections wrote {type(item).__name__.lower()} {item.name!r}")
            kind[item.name] = item.inference_data if isinstance(item, PosteriorArtifact) else item
        result.seconds[section.name] = time.perf_counter() - t0
    result.seconds["total"] = time.perf_counter() - start
    return result


def report_run(study: Study, context: ReportContext, result: ReportResult) -> Run:
    """The report as a :class:`~steerstats.report.run.Run`."""
    return Run(
        command="report",
        title=f"{'Feedback' if isinstance(study, FeedbackStudy) else 'Steerability'} report: {study.name}",
        summary=f"Source: `{study.source or study.name}`; seed {context.seed}; bootstrap B = {context.n_boot}.",
        tables=list(result.tables.values()),
        figures=list(result.figures.values()),
        posteriors=result.posteriors,
        dataset=study.name,
        config={k: v for k, v in asdict(context).items() if k != "caps"},
        seeds={"seed": context.seed},
        caps=dict(context.caps),
        inputs=study_inputs(study),
        warnings=[str(w) for w in study.warnings],
        skipped=result.skipped,
        seconds=result.seconds,
        truth=bool(study.truth),
        details={"source": study.source},
    )


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
    from steerstats._io import check_output_dir

    context = context or ReportContext(dataset=study.name)
    check_output_dir(out, "report", inputs=[study.source], force=force)  # fail before the work, not after
    result = run_sections(study, context, sections, progress=progress)
    result.out = Path(out)
    write_run(out, report_run(study, context, result), inputs=[study.source], force=force)
    return result
