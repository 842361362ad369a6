"""The executor on a Dask LocalCluster of 2 worker processes on 127.0.0.1 (started and stopped
here): a budget sweep and a coverage study equal their local runs, a killed worker loses no
task and records none twice, bad scheduler specs are one-line errors."""

from __future__ import annotations

import json
import os
import signal

import pandas as pd
import pytest

# distributed (steerstats._executor's cluster) comes with the 'dask' extra that `make setup`
# installs: a missing one is a broken set-up, so these tests fail rather than skip.
from steerstats._executor import DaskExecutor, LocalExecutor, make_executor
from steerstats.budget import parse_config, run_experiment
from steerstats.errors import ConfigError

pytestmark = pytest.mark.slow

SWEEP = {
    "budget": {"name": "dask", "sizes": [100, 200], "seeds": [0, 1], "n_boot": 50},
    "data": {"source": "synthetic", "n": 800, "test_fraction": 0.3, "seed": 0, "world": {"dim": 16, "target": "tree"}},
    "model": {"hidden": [8], "epochs": 5, "learning_rate": 3e-3},
    "arm": [{"name": "coarse", "kind": "coarse"}, {"name": "cbm", "kind": "cbm", "attributes": "tree"}],
}


def _by_key(records):
    return {r["key"]: {k: v for k, v in r.items() if k != "fit_seconds"} for r in records}


@pytest.fixture(scope="module")
def cluster():
    with DaskExecutor(n_workers=2) as executor:
        yield executor
    # the cluster and its worker processes are gone with the context


@pytest.fixture(scope="module")
def local_sweep(tmp_path_factory):
    return run_experiment(parse_config(SWEEP), tmp_path_factory.mktemp("local") / "out", progress=False)


def test_budget_sweep_on_the_cluster_equals_the_local_run(cluster, local_sweep, tmp_path):
    assert cluster.client.scheduler.address.startswith("tcp://127.0.0.1:")
    remote = run_experiment(parse_config(SWEEP), tmp_path / "out", progress=False, executor=cluster)
    assert _by_key(remote.records) == _by_key(local_sweep.records)  # bit-identical AUCs, replicates, curves


def test_coverage_study_on_the_cluster_equals_the_local_run(cluster, tmp_path):
    import dataclasses

    from steerstats.data import SimulationParams
    from steerstats.uncertainty.coverage import CoverageConfig, run_coverage

    params = dataclasses.replace(SimulationParams(), n_users=60)
    config = CoverageConfig(reps=4, reps_bayes=0, n_boot=50, scenarios=("nested", "crossed"))
    local = run_coverage(tmp_path / "local", params, config, progress=False)
    remote = run_coverage(tmp_path / "remote", params, config, progress=False, executor=cluster)
    # the same replications in the same order; intervals equal to float rounding (the CGM variance's
    # matrix products run on single-threaded BLAS in the workers: measured differences <= 2e-12)
    pd.testing.assert_frame_equal(local, remote, check_exact=False, rtol=1e-9, atol=1e-12)


def test_a_killed_worker_loses_no_task_and_records_none_twice(local_sweep, tmp_path):
    with DaskExecutor(n_workers=2) as executor:
        pids = executor.client.run(os.getpid)
        killed = []

        def kill_one(record):
            if not killed:  # after the first finished run, kill a worker that may hold others
                victim = sorted(pids.values())[0]
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)

        from steerstats.budget.runner import run_budget

        config = parse_config(SWEEP)
        records = run_budget(config, tmp_path / "out", progress=False, executor=executor, on_record=kill_one)
    assert killed
    lines = [json.loads(x) for x in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    keys = [r["key"] for r in lines]
    assert len(keys) == len(set(keys)) == 8  # every task exactly once
    assert _by_key(records) == _by_key(local_sweep.records)


def test_scheduler_specs():
    assert isinstance(make_executor("local"), LocalExecutor)
    assert isinstance(make_executor(None), LocalExecutor) or os.environ.get("STEERSTATS_SCHEDULER")
    for bad in ("local:0", "local:x", "dask"):
        with pytest.raises(ConfigError, match="scheduler"):
            make_executor(bad)


def test_budget_command_rejects_a_bad_scheduler(tmp_path, capsys):
    from steerstats.cli import main

    assert main(["budget", "--config", "experiment1", "--out", str(tmp_path / "o"), "--scheduler", "local:0"]) == 2
    assert "scheduler 'local:N'" in capsys.readouterr().err


def test_joblib_paths_honour_parallel_config(cluster):
    """parallel_map (the decomposition's refit bootstrap) runs on the cluster under joblib's dask backend."""
    import joblib

    from steerstats._parallel import parallel_map

    with joblib.parallel_config(backend="dask"):
        out = list(parallel_map(abs, [-3, -1, -4, -1, -5], n_jobs=2))
    assert out == [3, 1, 4, 1, 5]
    logs = cluster.client.run(lambda dask_worker: len(dask_worker.data) >= 0)  # the workers are alive after it
    assert len(logs) == 2
