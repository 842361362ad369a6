"""The reward-model and compile benchmarks run end to end on tiny settings, and the FLOP count the
roofline divides by equals XLA's own count of the step's matmuls (timings are never asserted)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import pytest

from steerstats.cli import main
from steerstats.models.roofline import step_flops


def test_step_flops_equal_xla_cost_analysis_of_the_matmuls():
    b, d, hidden, k = 32, 20, (16, 8), 3
    ws = [jnp.ones(s) for s in ((d, 16), (16, 8), (8, k))]
    acts = [jnp.ones((b, a)) for a in (d, 16, 8)]
    grads = [jnp.ones((b, c)) for c in (16, 8, k)]

    def matmuls(ws, acts, grads):
        fwd = [a @ w for a, w in zip(acts, ws, strict=True)]
        wgrad = [a.T @ g for a, g in zip(acts, grads, strict=True)]
        igrad = [g @ w.T for g, w in zip(grads[1:], ws[1:], strict=True)]
        return fwd, wgrad, igrad

    cost = jax.jit(matmuls).lower(ws, acts, grads).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list) else cost
    assert step_flops(b, d, hidden, k) == pytest.approx(cost["flops"], rel=1e-9)


@pytest.mark.slow
def test_reward_model_bench_prints_the_profile_and_the_roof(capsys):
    assert main(["bench", "reward-models", "--n", "300", "--dim", "16", "--heads", "2", "--epochs", "2",
                 "--seeds", "1", "--no-torch"]) == 0
    out = capsys.readouterr().out
    for text in ("GFLOP/s", "Adam update", "shuffling gather", "matmul roof at these shapes", "of XLA's dot rate",
                 "oneDNN CPU path"):
        assert text in out


@pytest.mark.slow
def test_compile_bench_on_a_small_sweep(tmp_path, capsys, tiny_sweep_config):
    import json

    config = tiny_sweep_config()
    assert main(["bench", "compile", "--config", str(config), "--json", str(tmp_path / "c.json")]) == 0
    rows = json.loads((tmp_path / "c.json").read_text())
    assert [r["pass"] for r in rows] == ["per-size", "sweep", "rerun"] and all(r["runs"] == 2 for r in rows)
    assert all(0 < r["compile_s"] < r["wall_s"] for r in rows)
    assert "compile share" in capsys.readouterr().out


def test_report_bench_times_one_and_two_processes(capsys):
    assert main(["bench", "report", "--dataset", "synthetic", "--n-boot", "20", "--jobs", "2"]) == 0
    out = capsys.readouterr().out
    assert "jobs 1: load" in out and "jobs 2: load" in out and "x the wall time" in out
