"""Benchmark harness: the pandas baseline computes the same replicates (timings are not asserted)."""

from __future__ import annotations

import pandas as pd

from steerstats.cli import main
from steerstats.uncertainty.benchmark import bench_bootstrap


def test_bench_baseline_agrees_with_vectorised(vafa2025_dir):
    frame = pd.read_csv(vafa2025_dir / "image_generation" / "steering.csv")
    res = bench_bootstrap(frame, n_boot=500, n_loop=3, repeats=1)
    assert res.max_abs_diff < 1e-12
    assert (res.n_rows, res.n_clusters, res.n_groups) == (2770, 554, 10)
    assert res.per_replicate_ratio > 0


def test_bench_cli(vafa2025_dir, capsys):
    assert main(["bench", "bootstrap", "--data-dir", str(vafa2025_dir), "--n-boot", "200", "--n-loop", "2"]) == 0
    out = capsys.readouterr().out
    assert "per-replicate speed-up" in out and "0.00e+00" in out
