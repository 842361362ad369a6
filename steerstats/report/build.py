"""Run the registered sections on a study and write the report with the run writer
(:mod:`steerstats.report.run`): OUT/tables, OUT/figures, OUT/posterior (with ``--bayes``),
OUT/report.md and OUT/manifest.json, atomically (a failed run leaves no partial OUT).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from steerstats._extras import missing_extra
from steerstats.data.study import Study
from steerstats.data.tifa160 import FeedbackStudy
from steerstats.errors import ConfigError, DataNotFoundError
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


def study_inputs(study: Study) -> list[dict[str, Any]]:
    """The manifest's input records of a loaded study (path, sha256, rows)."""
    return [{"path": f.path, "sha256": f.sha256, "rows": f.rows} for f in study.files]


def _run_section(section: Section, study: Study, context: ReportContext) -> tuple[list, str | None, float]:
    """(artifacts, why it was skipped or None, seconds) of one section."""
    t0 = time.perf_counter()
    try:
        return section.load()(study, context), None, time.perf_counter() - t0
    except DataNotFoundError as err:
        return [], str(err), time.perf_counter() - t0
    except ModuleNotFoundError as err:  # an optional extra: skip the section, say how to get it
        hint = missing_extra(err)
        if hint is None:
            raise
        return [], hint, time.perf_counter() - t0


_WORKER_STUDY: list = []  # the study a worker process received once, at start


def _start_worker(study_file: str, bayes: bool) -> None:
    import pickle

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one BLAS thread per worker: the workers share the cores
    if bayes:  # as the CLI does before anything starts JAX
        from steerstats.uncertainty.bayes.devices import request_host_devices

        request_host_devices(4)
    with open(study_file, "rb") as fh:
        _WORKER_STUDY[:] = [pickle.load(fh)]


def _run_section_rendered(section: Section, study: Study, context: ReportContext) -> tuple[list, str | None, float, dict]:
    """:func:`_run_section` with its figures rendered to bytes (picklable) and the caps the
    section recorded in ``context`` returned (a worker's copy of the context is not the parent's)."""
    from steerstats.report.artifacts import render_figure

    before = dict(context.caps)
    artifacts, skipped, seconds = _run_section(section, study, context)
    artifacts = [render_figure(a) if isinstance(a, Figure) else a for a in artifacts]
    caps = {k: v for k, v in context.caps.items() if k not in before or before[k] != v}
    return artifacts, skipped, seconds, caps


def _run_section_in_worker(section: Section, context: ReportContext) -> tuple[list, str | None, float, dict]:
    return _run_section_rendered(section, _WORKER_STUDY[0], context)


def _run_parallel(sections: Sequence[Section], study: Study, context: ReportContext, jobs: int, bar) -> list:
    """Every section's :func:`_run_section_rendered` outcome, in ``sections`` order, from this
    process and ``jobs - 1`` spawned workers (each reads the study once). Sections are taken
    costliest first (:attr:`Section.cost`) by whichever is free: a worker is handed one section at
    a time, and this process runs the next one itself while the workers are busy. The pool is shut
    down before returning, so no worker outlives the call."""
    import multiprocessing
    import pickle
    import tempfile
    from concurrent.futures import ProcessPoolExecutor

    from threadpoolctl import threadpool_limits

    pending = sorted(range(len(sections)), key=lambda i: -sections[i].cost)
    outcomes: list = [None] * len(sections)

    def done(i: int, outcome: tuple) -> None:
        outcomes[i] = outcome
        bar.set_postfix_str(sections[i].name)
        bar.update()

    # the workers read the study from a file: handed over as an initializer argument, its pickle
    # would block the start of every worker until that worker had imported steerstats and read it
    with tempfile.TemporaryDirectory(prefix="steerstats-report-") as tmp:
        study_file = Path(tmp) / "study.pickle"
        study_file.write_bytes(pickle.dumps(study, protocol=pickle.HIGHEST_PROTOCOL))
        with ProcessPoolExecutor(max_workers=jobs - 1, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_start_worker, initargs=(str(study_file), context.bayes)) as pool, \
                threadpool_limits(1):  # as in the workers: one BLAS thread per process, they share the cores
            _schedule(sections, study, context, pool, jobs - 1, pending, done)
    return outcomes


def _schedule(sections: Sequence[Section], study: Study, context: ReportContext, pool, workers: int,
              pending: list[int], done: Callable[[int, tuple], None]) -> None:
    """Hand ``pending`` sections (in order) to idle workers one at a time; run the next one here
    whenever all workers are busy."""
    from concurrent.futures import FIRST_COMPLETED, wait

    running: dict = {}
    while pending or running:
        while pending and len(running) < workers:
            i = pending.pop(0)
            running[pool.submit(_run_section_in_worker, sections[i], context)] = i
        if pending:
            i = pending.pop(0)
            done(i, _run_section_rendered(sections[i], study, context))
            finished = [f for f in running if f.done()]
        else:
            finished = list(wait(running, return_when=FIRST_COMPLETED).done)
        for future in finished:
            done(running.pop(future), future.result())


def run_sections(study: Study, context: ReportContext, sections: Sequence[Section] | None = None, *,
                 progress: bool = True, jobs: int = 1) -> ReportResult:
    """Run ``sections`` (default: the registry) on ``study``; nothing is written. ``jobs`` > 1 runs
    them in that many worker processes (the same artifacts, in registry order; figures rendered
    by the workers)."""
    from tqdm.auto import tqdm

    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, got {jobs}")
    sections = list(default_sections(study) if sections is None else sections)
    result = ReportResult(out=Path())
    start = time.perf_counter()
    bar = tqdm(total=len(sections), desc="report", unit="section", disable=not progress, file=sys.stderr)
    if jobs == 1:
        outcomes = []
        for section in sections:
            bar.set_postfix_str(section.name)
            outcomes.append((*_run_section(section, study, context), {}))
            bar.update()
    else:
        outcomes = _run_parallel(sections, study, context, min(jobs, len(sections)), bar)
    bar.close()
    for section, (artifacts, skipped, seconds, caps) in zip(sections, outcomes, strict=True):
        context.caps.update(caps)
        if skipped is not None:
            result.skipped[section.name] = skipped
        for item in artifacts:
            kind = {Table: result.tables, Figure: result.figures, PosteriorArtifact: result.posteriors}.get(type(item))
            if kind is None:
                raise TypeError(f"section {section.name!r} returned {type(item).__name__}")
            if item.name in kind:
                raise ValueError(f"two sections wrote {type(item).__name__.lower()} {item.name!r}")
            kind[item.name] = item.inference_data if isinstance(item, PosteriorArtifact) else item
        result.seconds[section.name] = seconds
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
    jobs: int = 1,
) -> ReportResult:
    """Run ``sections`` (default: the registry) on ``study`` and write the report to ``out``.

    ``out`` may be new, empty or a previous report (replaced); ``force`` also replaces another
    steerstats command's output (see :func:`steerstats._io.check_output_dir`); ``jobs``: worker
    processes for the sections (:func:`run_sections`)."""
    from steerstats._io import check_output_dir

    context = context or ReportContext(dataset=study.name)
    check_output_dir(out, "report", inputs=[study.source], force=force)  # fail before the work, not after
    result = run_sections(study, context, sections, progress=progress, jobs=jobs)
    result.out = Path(out)
    write_run(out, report_run(study, context, result), inputs=[study.source], force=force)
    return result
