"""Backends, the candidate container and latent variations (SPEC Eq. 8)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steerstats.errors import InputError
from steerstats.generate import (
    Candidates,
    GenerationBackend,
    LatentBackend,
    PoolBackend,
    SteeringWorld,
    SyntheticBackend,
    concat_candidates,
    expected_aggregate,
    mix_latent,
    mixture_coefficients,
    vary_latent,
)


# vary ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("s", [0.0, 0.1, 0.3, 0.5, 0.77, 1.0])
def test_mixture_coefficients_preserve_unit_norm(s):
    a, b = mixture_coefficients(s)
    assert a**2 + b**2 == pytest.approx(1.0)
    assert a == pytest.approx((1 - s) / np.sqrt(s**2 + (1 - s) ** 2))


def test_vary_endpoints_and_formula():
    rng = np.random.default_rng(0)
    z, eps = rng.standard_normal(5), rng.standard_normal(5)
    np.testing.assert_allclose(mix_latent(z, eps, 0.0), z)
    np.testing.assert_allclose(mix_latent(z, eps, 1.0), eps)
    s = 0.3
    expected = np.sqrt(1 / (s**2 + (1 - s) ** 2)) * ((1 - s) * z + s * eps)
    np.testing.assert_allclose(mix_latent(z, eps, s), expected)


def test_vary_preserves_the_standard_normal():
    """z, eps ~ N(0, I) iid -> z' ~ N(0, I): unit variance, zero mean, no cross-coordinate
    correlation, and corr(z', z) = (1 - s) / sqrt(s^2 + (1 - s)^2)."""
    rng = np.random.default_rng(1)
    n, d, s = 200_000, 4, 0.35
    z, eps = rng.standard_normal((n, d)), rng.standard_normal((n, d))
    zp = mix_latent(z, eps, s)
    np.testing.assert_allclose(zp.mean(axis=0), 0.0, atol=0.01)
    np.testing.assert_allclose(np.cov(zp.T), np.eye(d), atol=0.015)
    a, _ = mixture_coefficients(s)
    np.testing.assert_allclose([np.corrcoef(zp[:, j], z[:, j])[0, 1] for j in range(d)], a, atol=0.01)
    from scipy import stats

    assert stats.kstest(zp[:20_000, 0], "norm").pvalue > 0.01


def test_vary_latent_is_seeded_and_validates():
    z = np.arange(6.0).reshape(2, 3)
    a = vary_latent(z, 0.4, 3, np.random.default_rng(7))
    b = vary_latent(z, 0.4, 3, np.random.default_rng(7))
    assert a.shape == (3, 2, 3)
    np.testing.assert_array_equal(a, b)
    for bad in (-0.1, 1.5, np.nan):
        with pytest.raises(ValueError):
            mixture_coefficients(bad)


# candidates -------------------------------------------------------------------------------------
def _cands(n=4, offset=0):
    return Candidates(
        ids=np.array([f"c{i + offset}" for i in range(n)], dtype=object),
        prompt=np.array(["p"] * n, dtype=object),
        seed=np.arange(n),
        embedding=np.arange(n * 2, dtype=float).reshape(n, 2),
        attributes=pd.DataFrame({"bright": np.arange(n) % 2}),
        aggregate=np.linspace(0, 1, n),
    )


def test_candidates_take_concat_frame():
    c = _cands()
    t = c.take([2, 0])
    assert list(t.ids) == ["c2", "c0"] and t.embedding[0, 0] == 4.0
    assert list(t.attributes["bright"]) == [0, 0]
    both = concat_candidates([c, _cands(2, offset=4)])
    assert len(both) == 6 and both.attributes.shape == (6, 1)
    frame = c.frame()
    assert list(frame.columns) == ["id", "prompt", "seed", "aggregate", "bright"]
    with pytest.raises(ValueError):
        Candidates(ids=np.array(["a"]), prompt=np.array(["p", "q"]), seed=np.array([0]))


# steering world (a latent backend) ----------------------------------------------------------------
def test_steering_world_is_a_latent_backend():
    w = SteeringWorld()
    assert isinstance(w, LatentBackend)
    c = w.generate(["a dog", "a cat"], 3, seed=5)
    assert len(c) == 6 and c.latent.shape == (6, w.latent_dim) and c.embedding.shape == (6, w.embed_dim)
    np.testing.assert_array_equal(c.embedding, w.generate(["a dog", "a cat"], 3, seed=5).embedding)
    same = w.vary(c.take([1]), 0.0, 2, seed=0)
    np.testing.assert_allclose(same.embedding, np.repeat(c.embedding[1:2], 2, axis=0))
    moved = w.vary(c.take([1]), 0.6, 2, seed=0)
    assert not np.allclose(moved.latent, c.latent[1])


# synthetic backend ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic():
    return SyntheticBackend(dim=32, target="tree")


def test_synthetic_backend_candidates_carry_truth(synthetic):
    assert isinstance(synthetic, GenerationBackend)
    c = synthetic.generate(["p0", "p1", "p2"], 5, seed=3)
    assert len(c) == 15 and list(c.prompt[:5]) == ["p0"] * 5
    assert c.embedding.shape == (15, 32)
    assert set(np.unique(c.attributes.to_numpy())) <= {0.0, 1.0}
    assert np.all((c.aggregate >= 0) & (c.aggregate <= 1))
    again = synthetic.generate(["p0", "p1", "p2"], 5, seed=3)
    np.testing.assert_array_equal(c.embedding, again.embedding)
    other = synthetic.generate(["p0", "p1", "p2"], 5, seed=4)
    assert not np.allclose(c.embedding, other.embedding)


@pytest.mark.parametrize("target", ["tree", "human"])
def test_expected_aggregate_is_calibrated(target):
    """P(aggregate = 1 | latent) matches the frequency of the world's own sampled aggregate."""
    backend = SyntheticBackend(dim=8, target=target)
    sample = backend.world.sample(60_000, seed=11)
    p = expected_aggregate(backend.world, sample.latent)
    bins = np.digitize(p, [0.2, 0.4, 0.6, 0.8])
    for b in range(5):
        sel = bins == b
        assert sel.sum() > 1000
        assert sample.aggregate[sel].mean() == pytest.approx(p[sel].mean(), abs=0.02)


# pool backend -----------------------------------------------------------------------------------
def _pool_table(n_per=5):
    rows = []
    for p in ("cat", "dog"):
        for i in range(n_per):
            rows.append({"id": f"{p}{i}", "prompt": p, "emb_0": i, "emb_1": -i, "aggregate": i / n_per})
    return pd.DataFrame(rows)


def test_pool_samples_within_prompt_without_replacement(tmp_path):
    path = tmp_path / "pool.csv"
    _pool_table().to_csv(path, index=False)
    pool = PoolBackend.from_file(path)
    c = pool.generate(["dog", "cat"], 4, seed=1)
    assert list(c.prompt) == ["dog"] * 4 + ["cat"] * 4
    assert len(set(c.ids[:4])) == 4 and all(i.startswith("dog") for i in c.ids[:4])
    np.testing.assert_allclose(c.embedding[:, 0], -c.embedding[:, 1])
    np.testing.assert_array_equal(c.ids, pool.generate(["dog", "cat"], 4, seed=1).ids)
    assert pool.prompts == ["cat", "dog"]


def test_pool_list_embeddings_and_side_npy(tmp_path):
    t = _pool_table(3)
    lists = t.drop(columns=["emb_0", "emb_1"]).assign(embedding=[[float(i), 1.0] for i in range(6)])
    lists.to_parquet(tmp_path / "pool.parquet")
    c = PoolBackend.from_file(tmp_path / "pool.parquet").generate(["cat"], 3, seed=0)
    assert c.embedding.shape == (3, 2)
    np.save(tmp_path / "e.npy", np.ones((6, 3)))
    t.drop(columns=["emb_0", "emb_1"]).to_csv(tmp_path / "p.csv", index=False)
    c = PoolBackend.from_file(tmp_path / "p.csv", embeddings=tmp_path / "e.npy").generate(["dog"], 2, seed=0)
    assert c.embedding.shape == (2, 3)


@pytest.mark.parametrize(
    ("edit", "row", "column"),
    [
        (lambda t: t.assign(id=["a", "b", "a", *[f"x{i}" for i in range(7)]]), 3, "id"),
        (lambda t: t.astype({"emb_1": float}).assign(emb_1=[0, 0, 0, 0, np.inf, 0, 0, 0, 0, 0]), 5, "emb_1"),
        (lambda t: t.assign(aggregate=["0.1"] * 6 + ["high"] + ["0.2"] * 3), 7, "aggregate"),
    ],
)
def test_pool_bad_input_names_file_row_column(tmp_path, edit, row, column):
    path = tmp_path / "bad.csv"
    edit(_pool_table()).to_csv(path, index=False)
    with pytest.raises(InputError) as info:
        PoolBackend.from_file(path)
    err = info.value
    assert (err.file, err.row, err.column) == (str(path), row, column)
    assert str(path) in str(err) and f"row {row}" in str(err)


def test_pool_too_few_items_or_unknown_prompt(tmp_path):
    pool = PoolBackend(_pool_table(3))
    with pytest.raises(InputError, match="fewer than"):
        pool.generate(["cat"], 4, seed=0)
    with pytest.raises(InputError, match="not in the pool"):
        pool.generate(["bird"], 1, seed=0)
