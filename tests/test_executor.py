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


def test_embedding_job_on_the_cluster_equals_the_local_run(cluster, tmp_path):
    """Images and texts sharded over the cluster's workers (shards of 3): the same table as a local run
    (vectors to float32 rounding: the workers' batches group other images), written by the driver;
    the workers filled the shared content-addressed cache, so a local rerun computes nothing."""
    import numpy as np
    from PIL import Image

    from steerstats.embed import embed_table, read_embeddings
    from steerstats.embed import sharded as sh
    from steerstats.embed.testing import tiny_embedder

    rng = np.random.default_rng(5)
    files = []
    for i in range(9):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / f"im{i}.png")
        files.append(f"im{i}.png")
    (tmp_path / "bad.png").write_bytes(b"not a png")
    files += ["bad.png", "im3.png"]  # an unreadable image and a repeated one
    pd.DataFrame({"id": range(len(files)), "file": files, "text": [f"goal {i % 4}" for i in range(len(files))]}).to_csv(
        tmp_path / "items.csv", index=False)
    shards, inverse = sh.make_shards("image", files, shard_size=3)
    assert sorted(u for s in shards for u in s) == list(range(10)) and inverse[-1] == inverse[3]

    def build():
        return tiny_embedder(batch_size=2)

    class Recording:  # the cluster, recording which processes returned shards
        name = cluster.name

        def __init__(self):
            self.pids = []

        def map(self, fn, tasks, **kwargs):
            for i, part in cluster.map(fn, tasks, **kwargs):
                self.pids.append(part["pid"])
                yield i, part

    image_run, text_run = Recording(), Recording()

    local = embed_table("images", tmp_path / "items.csv", "file", tmp_path / "local.parquet", embedder=build,
                        id_column="id", cache_dir=None, progress=False)
    remote_cache = tmp_path / "cache"
    remote = embed_table("images", tmp_path / "items.csv", "file", tmp_path / "remote.parquet", embedder=build,
                         id_column="id", cache_dir=remote_cache, progress=False, executor=image_run, shard_size=3)
    texts = embed_table("texts", tmp_path / "items.csv", "text", tmp_path / "texts.parquet", embedder=build,
                        id_column="id", cache_dir=None, progress=False, executor=text_run, shard_size=2)
    a, va, ma = read_embeddings(tmp_path / "local.parquet")
    b, vb, mb = read_embeddings(tmp_path / "remote.parquet")
    pd.testing.assert_frame_equal(a, b)
    assert b["status"].tolist() == ["ok"] * 9 + ["unreadable", "ok"]
    np.testing.assert_allclose(vb, va, rtol=0, atol=2e-6)
    assert {k: v for k, v in ma.items() if k != "source"} == {k: v for k, v in mb.items() if k != "source"}
    assert (remote.n_ok, remote.n_unreadable, remote.n_computed) == (local.n_ok, local.n_unreadable, 9)
    # shards ran in the cluster's worker processes, never the driver; how many workers took some is
    # the scheduler's choice (under load one worker may take them all), n_workers counts exactly those
    worker_pids = set(cluster.client.run(os.getpid).values())
    for run, result in ((image_run, remote), (text_run, texts)):
        assert set(run.pids) <= worker_pids and os.getpid() not in run.pids
        assert result.n_workers == len(set(run.pids)) >= 1
    assert pd.read_csv(tmp_path / "remote.unreadable.csv")["source"].tolist() == ["bad.png"]
    again = embed_table("images", tmp_path / "items.csv", "file", tmp_path / "again.parquet", embedder=build,
                        id_column="id", cache_dir=remote_cache, progress=False)
    assert again.n_computed == 0  # every vector came from the cache the workers wrote
    _, vt, _ = read_embeddings(tmp_path / "texts.parquet")
    np.testing.assert_allclose(vt, tiny_embedder().embed_texts([f"goal {i % 4}" for i in range(11)]), atol=2e-6)


def _scaled(task, *, factor):
    return task * factor


def test_consecutive_jobs_with_the_same_shared_data(cluster):
    """A second map right after the first, with equal shared data and the same label: its scattered
    data and task keys are its own (content-hashed keys released by the first were lost under it)."""
    for _ in range(3):
        out = dict(cluster.map(_scaled, [1, 2, 3], shared={"factor": 10}, label="same"))
        assert out == {0: 10, 1: 20, 2: 30}


def test_embed_command_on_a_local_cluster(tmp_path, capsys):
    """`steerstats embed images --scheduler local:2`: the CLI starts and stops its own cluster."""
    import numpy as np
    from PIL import Image

    from steerstats.cli import main
    from steerstats.embed import read_embeddings
    from steerstats.embed.testing import tiny_clip_config

    rng = np.random.default_rng(6)
    for i in range(4):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(tmp_path / f"c{i}.png")
    pd.DataFrame({"file": [f"c{i}.png" for i in range(4)]}).to_csv(tmp_path / "t.csv", index=False)
    (tmp_path / "tiny.json").write_text(json.dumps(tiny_clip_config()))
    common = ["embed", "images", "--model", "tiny-cluster", "--model-config", str(tmp_path / "tiny.json"),
              "--random-init", "--in", str(tmp_path / "t.csv"), "--column", "file", "--no-cache", "--quiet"]
    assert main([*common, "--out", str(tmp_path / "a.parquet"), "--scheduler", "local:2"]) == 0
    assert "4/4 embedded (0 from cache, 4 computed)" in capsys.readouterr().out
    assert main([*common, "--out", str(tmp_path / "b.parquet")]) == 0
    _, a, _ = read_embeddings(tmp_path / "a.parquet")
    _, b, _ = read_embeddings(tmp_path / "b.parquet")
    np.testing.assert_allclose(a, b, atol=2e-6)


def test_each_worker_pins_its_own_gpu(monkeypatch):
    """Worker named 3 on a 2-GPU node takes cuda:1; off a worker, or with < 2 GPUs, nothing is pinned."""
    import distributed
    import torch

    from steerstats.embed.sharded import pin_worker_gpu

    assert pin_worker_gpu() is None  # not on a worker
    chosen = []

    class FakeWorker:
        name = 3

    monkeypatch.setattr(distributed, "get_worker", lambda: FakeWorker())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    assert pin_worker_gpu() == 1 and chosen == [1]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert pin_worker_gpu() is None and chosen == [1]
    FakeWorker.name = "tcp://10.0.0.1:1234"  # a worker without an integer name
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert pin_worker_gpu() is None
