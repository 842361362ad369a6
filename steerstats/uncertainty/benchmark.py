"""Benchmark: vectorised cluster bootstrap vs a plain pandas resample loop, in one process.

The workload is the per-model mean DreamSim of ``steering.csv`` with goal images as clusters. The
baseline is the textbook loop (per replicate: draw clusters, concatenate their rows, group-by mean);
it uses the same cluster draws, so its replicates must equal the vectorised ones. Also timed on the
same sufficient statistics: an expert's numpy version (multinomial counts, two matmuls, all B at
once), and the floor any implementation pays (B x G uniform cluster indices and one histogram of
them: the draws alone); and the peak memory (tracemalloc) of B = 100,000 replicates over the
release's clusters and of B = 10,000 over 50,000 synthetic clusters.
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
    expert_s: float = float("nan")  # expert numpy on the same sums, all n_boot replicates
    floor_s: float = float("nan")  # the draws + one histogram alone
    peaks_mib: tuple[tuple[int, int, float], ...] = ()  # (B, G, peak MiB of grouped_mean_bootstrap)

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
            f"expert numpy (multinomial + matmuls): {self.expert_s:.3f} s = {self.expert_s / self.vectorised_s:.2f}x "
            f"the vectorised time",
            f"floor (B x G draws + one histogram): {self.floor_s:.3f} s; vectorised = "
            f"{self.vectorised_s / self.floor_s:.2f}x the floor",
            *(f"peak memory B = {b:,} x G = {g:,}: {mib:.1f} MiB" for b, g, mib in self.peaks_mib),
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


def expert_numpy_bootstrap(sums: np.ndarray, counts: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """What an expert writes in 5 lines: multinomial cluster counts, then [c @ S] / [c @ N]."""
    g = sums.shape[0]
    c = np.random.default_rng(seed).multinomial(g, np.full(g, 1.0 / g), size=n_boot).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (c @ sums) / (c @ counts)


def draws_floor(n_clusters: int, n_boot: int, seed: int) -> np.ndarray:
    """The work no cluster bootstrap avoids: B x G uniform indices and one histogram of them."""
    idx = np.random.default_rng(seed).integers(0, n_clusters, size=(n_boot, n_clusters), dtype=np.int32)
    idx += (np.arange(n_boot, dtype=np.int32) * n_clusters)[:, None]
    return np.bincount(idx.ravel(), minlength=n_boot * n_clusters)


def peak_memory_mib(n_boot: int, n_clusters: int, rows_per_cluster: int = 2, seed: int = 0) -> float:
    """Peak traced memory (MiB) of :func:`grouped_mean_bootstrap` on a synthetic frame."""
    import tracemalloc

    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"cluster": np.repeat(np.arange(n_clusters), rows_per_cluster),
                          "model": rng.integers(0, 10, n_clusters * rows_per_cluster),
                          "y": rng.random(n_clusters * rows_per_cluster)})
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        grouped_mean_bootstrap(frame, "y", "model", "cluster", n_boot=n_boot, seed=seed)
        return (tracemalloc.get_traced_memory()[1] - before) / 2**20
    finally:
        tracemalloc.stop()


def _best(fn, repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


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
    memory_sizes: tuple[tuple[int, int], ...] = ((100_000, 554), (10_000, 50_000)),
) -> BootstrapBenchmark:
    """Time the implementations on the same data and seed (module docstring)."""
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
    from steerstats.uncertainty.bootstrap import cluster_factor_codes, cluster_group_sums

    _, (ccodes,) = cluster_factor_codes(frame, cluster)
    gcodes, levels = pd.factorize(frame[group], sort=True)
    sums, counts = cluster_group_sums(frame[value].to_numpy(float), ccodes, gcodes, len(levels))
    expert_s = _best(lambda: expert_numpy_bootstrap(sums, counts, n_boot, seed), repeats)
    floor_s = _best(lambda: draws_floor(sums.shape[0], n_boot, seed), repeats)
    peaks = tuple((b, g, peak_memory_mib(b, g)) for b, g in memory_sizes)
    return BootstrapBenchmark(
        n_rows=len(frame),
        n_clusters=result.n_clusters[0],
        n_groups=result.replicates.shape[1],
        n_boot=n_boot,
        n_loop=n_loop,
        vectorised_s=min(times),
        loop_s=loop_s,
        max_abs_diff=diff,
        expert_s=expert_s,
        floor_s=floor_s,
        peaks_mib=peaks,
    )


def run(args) -> int:
    from steerstats.data import load_study
    from steerstats.data.location import benchmark_data_dir

    frame = load_study("vafa2025", benchmark_data_dir("vafa2025", args.data_dir)).require("steering")
    sizes = tuple(tuple(int(v) for v in part.lower().split("x")) for part in args.memory_sizes.split(",")
                  if part.strip() and part.strip() != "none")
    res = bench_bootstrap(
        frame, cluster=args.cluster, n_boot=args.n_boot, n_loop=args.n_loop, seed=args.seed, memory_sizes=sizes
    )
    print("cluster bootstrap of per-model mean dreamsim (steering.csv)")
    for line in res.lines():
        print("  " + line)
    return 0
