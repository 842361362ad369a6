"""Cluster bootstrap: reference implementation, BCa, two-way weights, determinism, fast path."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from steerstats.errors import InputError
from steerstats.metrics.weighted import weighted_group_mean
from steerstats.uncertainty import (
    bca_interval,
    cluster_bootstrap,
    cluster_counts,
    grouped_mean_bootstrap,
    jackknife_acceleration,
    product_weights,
)


def small_frame(seed: int = 0, n_clusters: int = 12) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n_clusters):
        u = rng.normal(0, 0.5)
        for _ in range(rng.integers(1, 5)):
            rows.append({"cl": f"c{c:02d}", "user": f"u{c % 4}", "g": rng.integers(0, 3), "y": u + rng.normal()})
    return pd.DataFrame(rows)


def group_mean_stat(frame: pd.DataFrame, weights):
    return weighted_group_mean(frame["y"].to_numpy(), frame["g"].to_numpy(), 3, weights)


def slow_reference(frame: pd.DataFrame, cluster: str, n_boot: int, seed: int) -> np.ndarray:
    """The textbook loop: per replicate, draw cluster ids, concatenate their rows, group-by."""
    rng = np.random.default_rng(seed)
    ids = np.sort(frame[cluster].unique())
    groups = {k: v for k, v in frame.groupby(cluster)}
    out = []
    for counts in cluster_counts(len(ids), n_boot, rng):
        parts = [groups[ids[i]] for i in range(len(ids)) for _ in range(counts[i])]
        resampled = pd.concat(parts)
        means = resampled.groupby("g")["y"].mean().reindex(range(3))
        out.append(means.to_numpy())
    return np.array(out)


def test_vectorised_matches_slow_reference():
    frame = small_frame()
    fast = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=200, seed=3)
    slow = slow_reference(frame, "cl", 200, 3)
    np.testing.assert_allclose(fast.replicates, slow, rtol=1e-12, equal_nan=True)


def test_grouped_fast_path_matches_generic_path():
    frame = small_frame(1)
    generic = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=500, seed=5, method="bca")
    fast, levels = grouped_mean_bootstrap(frame, "y", "g", "cl", n_boot=500, seed=5, method="bca")
    assert levels == [0, 1, 2]
    np.testing.assert_allclose(fast.replicates, generic.replicates, rtol=1e-12)
    np.testing.assert_allclose(fast.ci_low, generic.ci_low, rtol=1e-12)
    np.testing.assert_allclose(fast.ci_high, generic.ci_high, rtol=1e-12)


def test_same_seed_bit_identical_and_other_seed_differs():
    frame = small_frame(2)
    a = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=300, seed=9, method="bca")
    b = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=300, seed=9, method="bca")
    c = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=300, seed=10, method="bca")
    assert np.array_equal(a.replicates, b.replicates, equal_nan=True)
    assert np.array_equal(a.ci_low, b.ci_low) and np.array_equal(a.ci_high, b.ci_high)
    assert not np.array_equal(a.replicates, c.replicates, equal_nan=True)


def test_bca_matches_scipy_on_iid_data_with_scipy_replicates():
    """Given scipy's own replicates, our BCa formula reproduces scipy.stats.bootstrap's interval."""
    rng = np.random.default_rng(0)
    x = rng.lognormal(size=40)
    res = stats.bootstrap((x,), np.mean, n_resamples=4000, method="BCa", random_state=1)
    jack = np.array([np.delete(x, i).mean() for i in range(len(x))])[:, None]
    lo, hi = bca_interval(
        res.bootstrap_distribution[:, None], np.array([x.mean()]), jackknife_acceleration([jack]), 0.95
    )
    assert lo[0] == pytest.approx(res.confidence_interval.low, rel=1e-10)
    assert hi[0] == pytest.approx(res.confidence_interval.high, rel=1e-10)


def test_bca_singleton_clusters_close_to_scipy():
    rng = np.random.default_rng(4)
    x = rng.exponential(size=60)
    frame = pd.DataFrame({"y": x, "g": 0, "cl": np.arange(60)})
    ours, _ = grouped_mean_bootstrap(frame, "y", None, "cl", n_boot=20000, seed=2, method="bca")
    ref = stats.bootstrap((x,), np.mean, n_resamples=20000, method="BCa", random_state=2)
    assert ours.ci_low[0] == pytest.approx(ref.confidence_interval.low, abs=0.02)
    assert ours.ci_high[0] == pytest.approx(ref.confidence_interval.high, abs=0.02)
    # skewed data: BCa shifts the interval up relative to the percentile interval
    pct, _ = grouped_mean_bootstrap(frame, "y", None, "cl", n_boot=20000, seed=2)
    assert ours.ci_high[0] > pct.ci_high[0]


def test_acceleration_zero_for_symmetric_jackknife():
    jack = np.array([[-1.0], [0.0], [1.0]])
    assert jackknife_acceleration([jack])[0] == 0.0


def test_two_way_product_weights():
    a = np.array([0, 0, 1, 2, 2])
    b = np.array([0, 1, 1, 0, 2])
    w = product_weights([a, b], 50, 0)
    ca = cluster_counts(3, 50, np.random.default_rng(0))  # factor 1: the one-way stream
    cb = cluster_counts(3, 50, np.random.default_rng(np.random.SeedSequence([0, 1])))  # factor 2: its own
    np.testing.assert_array_equal(w, ca[:, a] * cb[:, b])
    # each factor's counts sum to its number of clusters
    assert (ca.sum(axis=1) == 3).all() and (cb.sum(axis=1) == 3).all()


def test_two_way_bootstrap_wider_than_one_way_for_crossed_effects():
    rng = np.random.default_rng(0)
    users, goals = 15, 15
    u = rng.normal(0, 1, users)
    g = rng.normal(0, 1, goals)
    rows = [{"user": i, "goal": j, "g": 0, "y": u[i] + g[j] + rng.normal()} for i in range(users) for j in range(goals)]
    frame = pd.DataFrame(rows)

    def stat(f, w):
        return weighted_group_mean(f["y"].to_numpy(), f["g"].to_numpy(), 1, w)

    one = cluster_bootstrap(stat, frame, "user", n_boot=1000, seed=0)
    two = cluster_bootstrap(stat, frame, ["user", "goal"], n_boot=1000, seed=0, method="bca")
    assert two.cluster == ("user", "goal") and two.n_clusters == (15, 15)
    assert two.se[0] > 1.2 * one.se[0]
    assert two.ci_low[0] < two.estimate[0] < two.ci_high[0]


def test_bad_input_errors():
    frame = small_frame()
    with pytest.raises(InputError, match="nope"):
        cluster_bootstrap(group_mean_stat, frame, "nope", n_boot=10)
    with pytest.raises(InputError, match="method"):
        cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=10, method="studentized")
    bad = frame.copy()
    bad.loc[3, "y"] = np.nan
    with pytest.raises(InputError, match="row 4"):
        grouped_mean_bootstrap(bad, "y", "g", "cl", n_boot=10)
    bad = frame.copy()
    bad.loc[2, "cl"] = None
    with pytest.raises(InputError, match="row 3"):
        cluster_bootstrap(group_mean_stat, bad, "cl", n_boot=10)


def test_steering_per_model_dreamsim(vafa2025_dir):
    frame = pd.read_csv(vafa2025_dir / "image_generation" / "steering.csv")
    res, levels = grouped_mean_bootstrap(
        frame, "dreamsim", "model", "goal_image", n_boot=10_000, seed=0, method="bca", pooled=True
    )
    assert len(levels) == 11 and levels[-1] == "all"
    assert res.replicates.shape == (10_000, 11)
    np.testing.assert_allclose(res.estimate[:-1], frame.groupby("model")["dreamsim"].mean().to_numpy())
    assert (res.ci_low < res.estimate).all() and (res.estimate < res.ci_high).all()


def test_chunked_evaluation_gives_the_same_replicates(monkeypatch):
    import steerstats.uncertainty.bootstrap as bs

    frame = small_frame(5)
    whole = cluster_bootstrap(group_mean_stat, frame, ["cl", "user"], n_boot=300, seed=1, method="bca")
    monkeypatch.setattr(bs, "MAX_WEIGHT_CELLS", 7 * len(frame))  # chunks of 7 replicates
    monkeypatch.setattr(bs, "MAX_COUNT_CELLS", 10**9)
    chunked = cluster_bootstrap(group_mean_stat, frame, ["cl", "user"], n_boot=300, seed=1, method="bca")
    # chunks change the BLAS memory layout of the weighted sums: equal to float rounding, not bits
    np.testing.assert_allclose(whole.replicates, chunked.replicates, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(whole.ci_low, chunked.ci_low, rtol=1e-12, atol=1e-15)
    w = product_weights([pd.factorize(frame[c], sort=True)[0] for c in ("cl", "user")], 300, 1)
    np.testing.assert_allclose(whole.replicates, group_mean_stat(frame, w), rtol=1e-12, atol=1e-15)
    again = cluster_bootstrap(group_mean_stat, frame, ["cl", "user"], n_boot=300, seed=1, method="bca")
    assert np.array_equal(chunked.replicates, again.replicates, equal_nan=True)  # same call: bit-identical


def test_count_chunks_equal_one_draw_for_any_chunk_size():
    from steerstats.uncertainty.bootstrap import count_chunks

    whole = cluster_counts(37, 101, np.random.default_rng(5))
    for size in (1, 2, 7, 100, 101, 500):
        parts = list(count_chunks(37, 101, np.random.default_rng(5), size))
        np.testing.assert_array_equal(np.vstack([c for _, c in parts]), whole)
        assert [sl.stop for sl, _ in parts][-1] == 101


def test_grouped_and_generic_paths_are_chunk_invariant(monkeypatch):
    """Bounded-memory chunks give the replicates of one big draw (to float rounding of the matmul)."""
    import steerstats.uncertainty.bootstrap as bs
    from steerstats.uncertainty import grouped_mean_bootstrap

    frame = small_frame(7)
    big, _ = grouped_mean_bootstrap(frame, "y", "g", "cl", n_boot=400, seed=3)
    generic = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=400, seed=3)
    monkeypatch.setattr(bs, "MAX_COUNT_CELLS", 3 * frame["cl"].nunique())  # 3 replicates per chunk
    monkeypatch.setattr(bs, "MAX_WEIGHT_CELLS", 5 * len(frame))
    small, _ = grouped_mean_bootstrap(frame, "y", "g", "cl", n_boot=400, seed=3)
    generic_small = cluster_bootstrap(group_mean_stat, frame, "cl", n_boot=400, seed=3)
    np.testing.assert_allclose(small.replicates, big.replicates, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(generic_small.replicates, generic.replicates, rtol=1e-12, atol=1e-15)
    # the fast path and the generic weighted statistic draw the same clusters
    np.testing.assert_allclose(small.replicates, generic_small.replicates, rtol=1e-10, atol=1e-12)


def test_bootstrap_memory_is_bounded_by_the_chunk():
    """B = 20,000 replicates over G = 20,000 clusters: one (B x G) draw would take 3.2 GB of int64
    counts; the chunked path's peak traced allocation stays under 100 MB."""
    import tracemalloc

    from steerstats.uncertainty import grouped_mean_bootstrap

    rng = np.random.default_rng(0)
    g = 20_000
    frame = pd.DataFrame({"cl": np.arange(g), "model": rng.integers(0, 3, g).astype(str), "dreamsim": rng.random(g)})
    tracemalloc.start()
    res, _ = grouped_mean_bootstrap(frame, "dreamsim", "model", "cl", n_boot=20_000, seed=0)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert res.replicates.shape == (20_000, 3)
    assert peak < 100 * 2**20, peak


def test_cluster_count_weights_act_as_their_dense_matrix():
    from steerstats.metrics.weighted import ClusterCountWeights, as_weights

    rng = np.random.default_rng(4)
    codes = np.array([0, 2, 2, 1, 3, 3, 3, 0, 4])
    counts = rng.integers(0, 4, (6, 5))
    w = ClusterCountWeights(counts, codes)
    dense = counts[:, codes].astype(float)
    x = rng.normal(size=(9, 3))
    assert w.shape == dense.shape and len(w) == 6 and np.ndim(w) == 2 and as_weights(w, 9) is w
    np.testing.assert_array_equal(np.asarray(w), dense)
    np.testing.assert_allclose(w @ x, dense @ x, rtol=1e-13, atol=1e-14)
    np.testing.assert_allclose(w @ x[:, 0], dense @ x[:, 0], rtol=1e-13, atol=1e-14)
    np.testing.assert_array_equal(w.sum(axis=1), dense.sum(axis=1))
    np.testing.assert_array_equal(w[:, [1, 4]], dense[:, [1, 4]])
    np.testing.assert_array_equal(w * x[:, 0], dense * x[:, 0])
    np.testing.assert_array_equal(np.einsum("bn,n->b", w, x[:, 1]), np.einsum("bn,n->b", dense, x[:, 1]))
    with pytest.raises(ValueError, match="columns for 8 rows"):
        as_weights(w, 8)


def test_one_way_replicates_equal_the_dense_weight_evaluation():
    """The one-way path hands statistics factored weights (W @ X = counts @ cluster sums): the
    replicates equal the statistic on the dense (B, n) matrix of the same draws, to rounding."""
    from steerstats.metrics.weighted import ClusterCountWeights
    from steerstats.uncertainty.bootstrap import cluster_weights

    frame = small_frame(8)
    seen = []

    def stat(f, w):  # a mean, a total ratio and a slice: the operations report statistics use
        seen.append(type(w))
        y = f["y"].to_numpy()
        if w is None:
            return np.array([y.mean(), y[:3].sum() / 3])
        return np.column_stack([(w @ y) / w.sum(axis=1), (w[:, :3] @ y[:3]) / 3])

    res = cluster_bootstrap(stat, frame, "cl", n_boot=300, seed=2)
    assert ClusterCountWeights in seen
    dense = cluster_weights(pd.factorize(frame["cl"], sort=True)[0], 300, np.random.default_rng(2))
    np.testing.assert_allclose(res.replicates, stat(frame, dense), rtol=1e-12, atol=1e-15)
