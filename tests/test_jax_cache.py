"""JAX's persistent compilation cache: where it lives, that the JAX-compiling commands turn it on,
that Dask workers share the driver's, and that a run from cached programs equals a fresh one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from steerstats._jax_cache import compilation_cache_dir, enable_compilation_cache


@pytest.fixture
def restore_jax_cache():
    import jax

    before = (jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs)
    env = {k: os.environ.get(k) for k in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS")}
    yield
    from steerstats._jax_cache import _forget_opened_cache

    jax.config.update("jax_compilation_cache_dir", before[0])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", before[1])
    _forget_opened_cache()
    for k, v in env.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("STEERSTATS_JAX_CACHE", str(tmp_path / "mine"))
    assert compilation_cache_dir() == tmp_path / "mine"
    monkeypatch.setenv("STEERSTATS_JAX_CACHE", "off")
    assert compilation_cache_dir() is None and enable_compilation_cache() is None


def test_compiled_programs_are_written_to_the_cache(monkeypatch, tmp_path, restore_jax_cache):
    import jax
    import jax.numpy as jnp

    monkeypatch.setenv("STEERSTATS_JAX_CACHE", str(tmp_path / "c"))
    assert enable_compilation_cache() == str(tmp_path / "c")
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "c")
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)  # this toy compiles in ms
    jax.jit(lambda x: jnp.tanh(x) * 3.25 + x.sum())(jnp.arange(7.0)).block_until_ready()
    assert any((tmp_path / "c").iterdir())


def test_jax_commands_turn_the_cache_on(monkeypatch, tmp_path, capsys, restore_jax_cache):
    import jax

    from steerstats.cli import main

    monkeypatch.setenv("STEERSTATS_JAX_CACHE", str(tmp_path / "cli"))
    assert main(["budget", "--config", "experiment1", "--out", str(tmp_path / "o"), "--scheduler", "local:0"]) == 2
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "cli")


@pytest.mark.slow
def test_dask_workers_share_the_drivers_cache(tmp_path, restore_jax_cache):
    from steerstats._executor import DaskExecutor

    enable_compilation_cache(tmp_path / "shared")
    with DaskExecutor(n_workers=1) as executor:
        seen = executor.client.run(lambda: os.environ.get("JAX_COMPILATION_CACHE_DIR"))
    assert list(seen.values()) == [str(tmp_path / "shared")]


@pytest.mark.slow
def test_a_sweep_from_cached_programs_equals_a_fresh_one(tmp_path, tiny_sweep_config):
    """Two fresh processes share one cache dir: the second loads the first's programs and gives
    bit-identical records."""
    config = tiny_sweep_config("cache", (60, 120), epochs=3, n=400)
    env = {**os.environ, "STEERSTATS_JAX_CACHE": str(tmp_path / "cache")}
    records = []
    for name in ("first", "second"):
        subprocess.run([sys.executable, "-m", "steerstats", "budget", "--config", str(config),
                        "--out", str(tmp_path / name), "--quiet"], check=True, env=env, capture_output=True)
        lines = (tmp_path / name / "results.jsonl").read_text().splitlines()
        records.append({r["key"]: {k: v for k, v in r.items() if k != "fit_seconds"} for r in map(json.loads, lines)})
        if name == "first":
            cached = sorted(p.name for p in (tmp_path / "cache").iterdir())
            assert cached  # the training programs took longer than the threshold to compile
    assert records[0] == records[1]
