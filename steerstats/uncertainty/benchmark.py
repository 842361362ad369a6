"""Benchmark: vectorised cluster bootstrap vs a plain pandas resample loop, in one process.

The workload is the per-model mean DreamSim of ``steering.csv`` with goal images as clusters. The
baseline is the textbook loop (per replicate: draw clusters, concatenate their rows, group-by mean);
it uses the same cluster draws, so its replicates must equal the vectorised ones.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from steerstats.uncertainty.bootstrap import cluster_counts, grouped_mean_bootstrap


@dataclass(frozen=True)
class BootstrapBenchmark:
    n_rows: int
    n_clusters: int
    n_groups: int
    n_boot: int
    n_loop: int
    vectorised_s: float  # best of ``repeats`` for all n_boot replicates
    loop_s: float  # for n_loop replicates
    max_abs_diff: float  # between the loop's replicates and the first n_loop vectorised ones

    @property
    def per_replicate_ratio(self) -> float:
        return (self.loop_s / self.n_loop) / (self.vectorised_s / self.n_boot)

    def lines(self) -> list[str]:
        return [
            f"data: {self.n_rows} rows, {self.n_clusters} clusters, {self.n_groups} groups",
            f"vectorised: {self.n_boot} replicates in {self.vectorised_s:.3f} s "
            f"({1e6 * self.vectorised_s / self.n_boot:.1f} us/replicate)",
            f"pandas loop: {self.n_loop} replicates in {self.loop_s:.3f} s "
            f"({1e3 * self.loop_s / self.n_loop:.2f} ms/replicate)",
            f"per-replicate speed-up: {self.per_replicate_ratio:,.0f}x",
            f"max |loop - vectorised| over the shared replicates: {self.max_abs_diff:.2e}",
        ]


def pandas_loop_bootstrap(
    frame: pd.DataFrame, value: str, group: str, cluster: str, n_boot: int, seed: int
) -> np.ndarray:
    """Baseline: one pandas concat + group-by per replicate (B, K), groups sorted."""
    ids = np.sort(frame[cluster].unique())
    parts = dict(tuple(frame.groupby(cluster, sort=True)))
    levels = np.sort(frame[group].unique())
    counts = cluster_counts(len(ids), n_boot, np.random.default_rng(seed))
    out = np.empty((n_boot, len(levels)))
    for b in range(n_boot):
        drawn = np.repeat(np.arange(len(ids)), counts[b])
        resampled = pd.concat([parts[ids[i]] for i in drawn], ignore_index=True)
        out[b] = resampled.groupby(group)[value].mean().reindex(levels).to_numpy()
    return out


def bench_bootstrap(
    frame: pd.DataFrame,
    *,
    value: str = "dreamsim",
    group: str = "model",
    cluster: str = "goal_image",
    n_boot: int = 10_000,
    n_loop: int = 200,
    seed: int = 0,
    repeats: int = 3,
) -> BootstrapBenchmark:
    """Time both implementations on the same data and seed."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result, _ = grouped_mean_bootstrap(frame, value, group, cluster, n_boot=n_boot, seed=seed)
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    loop = pandas_loop_bootstrap(frame, value, group, cluster, n_loop, seed)
    loop_s = time.perf_counter() - t0
    shared = min(n_loop, n_boot)
    diff = float(np.nanmax(np.abs(loop[:shared] - result.replicates[:shared])))
    return BootstrapBenchmark(
        n_rows=len(frame),
        n_clusters=result.n_clusters[0],
        n_groups=result.replicates.shape[1],
        n_boot=n_boot,
        n_loop=n_loop,
        vectorised_s=min(times),
        loop_s=loop_s,
        max_abs_diff=diff,
    )


def run(args) -> int:
    from steerstats.data import load_study

    frame = load_study("vafa2025", args.data_dir).require("steering")
    res = bench_bootstrap(
        frame, cluster=args.cluster, n_boot=args.n_boot, n_loop=args.n_loop, seed=args.seed
    )
    print("cluster bootstrap of per-model mean dreamsim (steering.csv)")
    for line in res.lines():
        print("  " + line)
    return 0
