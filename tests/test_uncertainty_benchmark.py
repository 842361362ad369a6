"""Benchmark harness: the pandas baseline computes the same replicates (timings are not asserted)."""

from __future__ import annotations

import pandas as pd

from steerstats.cli import main
from steerstats.uncertainty.benchmark import bench_bootstrap


def test_bench_baseline_agrees_with_vectorised(vafa2025_dir):
    frame = pd.read_csv(vafa2025_dir / "image_generation" / "steering.csv")
    res = bench_bootstrap(frame, n_boot=500, n_loop=3, repeats=1, memory_sizes=((20_000, 554),))
    assert res.max_abs_diff < 1e-12
    assert (res.n_rows, res.n_clusters, res.n_groups) == (2770, 554, 10)
    assert res.per_replicate_ratio > 0 and res.expert_s > 0 and res.floor_s > 0
    # memory O(chunk x G): 20,000 x 554 replicates would take 85 MiB of float64 weights at once
    (b, g, mib), = res.peaks_mib
    assert (b, g) == (20_000, 554) and mib < 30


def test_expert_baseline_and_floor_are_the_same_bootstrap():
    """The expert's multinomial counts have the distribution of the index draws (each row sums to G,
    mean 1 per cell), and its replicates the vectorised SE (different draws: within MC error)."""
    import numpy as np

    from steerstats.uncertainty.benchmark import draws_floor, expert_numpy_bootstrap
    from steerstats.uncertainty.bootstrap import grouped_mean_bootstrap

    counts = draws_floor(50, 4000, 1).reshape(4000, 50)
    assert (counts.sum(axis=1) == 50).all() and abs(counts.mean() - 1) < 0.01
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"c": np.repeat(np.arange(80), 3), "m": rng.integers(0, 3, 240), "y": rng.normal(size=240)})
    ours, _ = grouped_mean_bootstrap(frame, "y", "m", "c", n_boot=4000, seed=0)
    from steerstats.uncertainty.bootstrap import cluster_group_sums

    sums, n = cluster_group_sums(frame["y"].to_numpy(), frame["c"].to_numpy(), frame["m"].to_numpy(), 3)
    expert = expert_numpy_bootstrap(sums, n, 4000, 5)
    np.testing.assert_allclose(expert.std(axis=0, ddof=1), ours.se, rtol=0.08)  # SE of a B = 4000 SE ~ 1.1%


def test_bench_cli(vafa2025_dir, capsys):
    assert main(["bench", "bootstrap", "--data-dir", str(vafa2025_dir), "--n-boot", "200", "--n-loop", "2",
                 "--memory-sizes", "1000x554"]) == 0
    out = capsys.readouterr().out
    assert "per-replicate speed-up" in out and "0.00e+00" in out
    assert "x the floor" in out and "peak memory B = 1,000 x G = 554" in out
