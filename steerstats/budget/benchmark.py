"""``steerstats bench sweep``: the same small budget sweep and coverage study run locally and on a
Dask ``LocalCluster`` in this process: runs per minute, the cluster's speed-up, and the driver's
overhead per task (the cluster's wall time minus the tasks' own compute, divided by the tasks).

Scaling to N workers, on paper: with per-task compute c and driver overhead o per task (scatter,
submit, result transfer, the JSONL append), W workers finish a sweep of T tasks in about
T (c / W + o) once T >> W; the speed-up saturates near (c + o) / o when W grows past c / o, where
the single driver (scheduling and writing every result) becomes the bottleneck.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path


def _sweep_config(n_runs: int, epochs: int) -> dict:
    sizes = [250, 500, 1000, 2000][: max(1, min(4, n_runs // 2))]
    seeds = list(range(max(1, n_runs // (2 * len(sizes)))))
    return {
        "budget": {"name": "bench", "sizes": sizes, "seeds": seeds, "n_boot": 100},
        "data": {"source": "synthetic", "n": 3000, "test_fraction": 0.3, "seed": 0, "world": {"dim": 256, "target": "tree"}},
        "model": {"hidden": [128, 128], "epochs": epochs, "learning_rate": 1e-3},
        "arm": [{"name": "coarse", "kind": "coarse"}, {"name": "cbm", "kind": "cbm", "attributes": "tree"}],
    }


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from steerstats._executor import DaskExecutor
    from steerstats.budget import parse_config, run_experiment
    from steerstats.data import SimulationParams
    from steerstats.uncertainty.coverage import CoverageConfig, run_coverage

    config = parse_config(_sweep_config(args.runs, args.epochs))
    cov_params = dataclasses.replace(SimulationParams(), n_users=80)
    cov_config = CoverageConfig(reps=args.reps, reps_bayes=0, n_boot=200, scenarios=("nested",))
    root = Path(tempfile.mkdtemp(prefix="steerstats-bench-sweep-"))
    out: dict = {}
    try:
        def budget(executor, name):
            t = time.perf_counter()
            result = run_experiment(config, root / f"budget_{name}", progress=False, executor=executor)
            return time.perf_counter() - t, result.records

        def coverage(executor, name):
            t = time.perf_counter()
            run_coverage(root / f"coverage_{name}", cov_params, cov_config, progress=False, executor=executor)
            return time.perf_counter() - t

        budget(None, "local_warm")  # both sides timed warm: imports and JIT compilation paid beforehand
        coverage(None, "local_warm")
        t_local, records = budget(None, "local")
        c_local = coverage(None, "local")
        t0 = time.perf_counter()
        with DaskExecutor(n_workers=args.workers) as executor:
            startup = time.perf_counter() - t0
            # warm the workers (imports, JIT) on a throwaway sweep so the timing is the steady state
            budget(executor, "warm")
            coverage(executor, "warm")
            t_dask, _ = budget(executor, "dask")
            c_dask = coverage(executor, "dask")
        compute = sum(r["fit_seconds"] for r in records)
        n = len(records)
        out = {
            "workers": args.workers, "budget_runs": n, "coverage_reps": args.reps,
            "budget_local_s": t_local, "budget_dask_s": t_dask, "budget_speedup": t_local / t_dask,
            "budget_runs_per_min_local": 60 * n / t_local, "budget_runs_per_min_dask": 60 * n / t_dask,
            "coverage_local_s": c_local, "coverage_dask_s": c_dask, "coverage_speedup": c_local / c_dask,
            "coverage_reps_per_min_dask": 60 * args.reps / c_dask, "cluster_startup_s": startup,
            "task_compute_s": compute / n,
            "driver_overhead_per_task_s": max(0.0, (t_dask * args.workers - compute) / n),
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)
    for k, v in out.items():
        print(f"{k:32s} {v:.3f}" if isinstance(v, float) else f"{k:32s} {v}")
    c, o = out["task_compute_s"], out["driver_overhead_per_task_s"]
    if o > 0:
        print(f"scaling: speed-up saturates near (c + o) / o = {(c + o) / o:.1f}x, reached at about W = c / o = {c / o:.1f} workers")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0
