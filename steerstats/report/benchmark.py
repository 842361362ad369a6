"""``steerstats bench report``: the steerability report built in this process, one process vs
``--jobs`` processes, each phase timed (load, sections, writing), as a ratio of the two runs.

Both runs compute the same tables (the test suite pins that); only the wall time differs. The
goal of issue 18 is the vafa2025 report under 8 s in-process on a 2-core machine.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def time_report(dataset: str, data_dir: str | None, *, jobs: int, n_boot: int, seed: int = 0) -> dict[str, float]:
    """Seconds of each phase of ``build_report`` (load, sections, write, in-process total)."""
    from steerstats.data import load_study
    from steerstats.report import ReportContext, build_report

    t0 = time.perf_counter()
    study = load_study(dataset, data_dir, seed)
    t1 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="steerstats-bench-report-") as tmp:
        result = build_report(study, Path(tmp) / "report", context=ReportContext(seed=seed, n_boot=n_boot, dataset=dataset),
                              progress=False, jobs=jobs)
    t2 = time.perf_counter()
    sections = result.seconds["total"]
    return {"load": t1 - t0, "sections": sections, "write": t2 - t1 - sections, "total": t2 - t0}


def run(args: argparse.Namespace) -> int:
    from steerstats.data.location import benchmark_data_dir

    data_dir = benchmark_data_dir(args.dataset, args.data_dir)
    runs = {jobs: time_report(args.dataset, data_dir, jobs=jobs, n_boot=args.n_boot, seed=args.seed)
            for jobs in (1, args.jobs)}
    print(f"steerstats report --dataset {args.dataset} (B = {args.n_boot}), in-process seconds")
    for jobs, t in runs.items():
        print(f"  jobs {jobs}: load {t['load']:.2f}  sections {t['sections']:.2f}  write {t['write']:.2f}  "
              f"total {t['total']:.2f}")
    if args.jobs != 1:
        print(f"  jobs {args.jobs} / jobs 1: {runs[args.jobs]['total'] / runs[1]['total']:.2f}x the wall time")
    return 0
