"""Text embedders, the on-disk embedding cache and the design blocks of the predictors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from steerstats.data.embedding_table import read_embedding_table
from steerstats.errors import ConfigError, InputError
from steerstats.features import (
    EmbeddingCache,
    FeatureBuilder,
    TfidfEmbedder,
    make_embedder,
)

TEXTS = [
    "a red castle on a hill at sunset",
    "a blue robot in a garden",
    "a castle made of glass in the desert",
    "a robot playing the violin",
    "a dragon flying over a harbor",
    "a garden with a red lantern",
]


class CountingEmbedder:
    """A deterministic fake embedder that counts what it is asked to embed."""

    name = "counting"

    def __init__(self, version: str = "v1") -> None:
        self.version = version
        self.calls: list[list[str]] = []

    @property
    def identity(self) -> str:
        return f"counting:{self.version}"

    def fit(self, texts):
        return self

    def transform(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("a"), ord(self.version[-1])] for t in texts], dtype=float)


def test_tfidf_identity_depends_on_fitted_texts():
    a = TfidfEmbedder(n_components=3).fit(TEXTS)
    b = TfidfEmbedder(n_components=3).fit(list(reversed(TEXTS)))  # same set, other order
    c = TfidfEmbedder(n_components=3).fit([*TEXTS[:4], "an entirely different sentence here"])
    assert a.identity == b.identity
    assert a.identity != c.identity
    out = a.transform(["a red robot", "unseen words only"])
    assert out.shape == (2, 3)
    assert np.allclose(out[1], 0.0)  # no training vocabulary -> the origin
    with pytest.raises(ConfigError):
        _ = TfidfEmbedder().identity  # unfitted


def test_cache_hit_miss_and_partial(tmp_path):
    cache = EmbeddingCache(tmp_path)
    emb = CountingEmbedder()
    first = cache.embed(emb, TEXTS[:3] + TEXTS[:1])
    assert (cache.stats.hits, cache.stats.misses) == (0, 4)
    assert emb.calls == [TEXTS[:3]]  # duplicates embedded once
    second = cache.embed(emb, TEXTS[:3])
    assert (cache.stats.hits, cache.stats.misses) == (3, 4)
    assert len(emb.calls) == 1  # all hits: the embedder is not called
    np.testing.assert_array_equal(second, first[:3])
    cache.embed(emb, TEXTS[2:5])
    assert emb.calls[-1] == TEXTS[3:5]  # only the new texts
    # a fresh cache object on the same directory reads what was stored
    again = EmbeddingCache(tmp_path)
    np.testing.assert_array_equal(again.embed(emb, TEXTS[:3]), first[:3])
    assert again.stats.misses == 0


def test_cache_invalidation_by_identity_and_corruption(tmp_path):
    cache = EmbeddingCache(tmp_path)
    v1, v2 = CountingEmbedder("v1"), CountingEmbedder("v2")
    cache.embed(v1, TEXTS)
    out = cache.embed(v2, TEXTS)  # another identity: nothing is reused
    assert len(v2.calls) == 1 and cache.stats.misses == 2 * len(TEXTS)
    assert not np.array_equal(out, cache.embed(v1, TEXTS))
    # a refitted tf-idf is another identity too
    t1 = TfidfEmbedder(n_components=2).fit(TEXTS)
    t2 = TfidfEmbedder(n_components=2).fit([*TEXTS[:5], "some other training text entirely"])
    assert cache.path_for(t1.identity) != cache.path_for(t2.identity)
    # a corrupted file is treated as empty and rewritten
    cache.path_for(v1.identity).write_bytes(b"not a npz file")
    n_calls = len(v1.calls)
    cache.embed(v1, TEXTS[:2])
    assert len(v1.calls) == n_calls + 1
    cache.clear()
    assert not list(tmp_path.glob("*.npz"))


def _frame():
    return pd.DataFrame(
        {
            "model": ["m1", "m2", "m1", "m2"],
            "prompt": TEXTS[:4],
            "reference_prompt": TEXTS[2:6],
            "goal_image": ["g1", "g2", "g3", "g4"],
            "dreamsim": [0.5, 0.6, 0.7, 0.4],
        }
    )


def test_design_blocks_and_model_swap():
    frame = _frame()
    fb = FeatureBuilder(("model", "prompt", "goal"), CountingEmbedder())
    design = fb.fit_transform(frame)
    x, pen = design.matrix()
    assert x.shape == (4, 2 + 3 + 3)
    np.testing.assert_array_equal(x[:, :2], [[1, 0], [0, 1], [1, 0], [0, 1]])
    assert not pen[:2].any() and pen[2:].all()
    x2, _ = design.matrix(model="m2")
    np.testing.assert_array_equal(x2[:, :2], [[0, 1]] * 4)
    np.testing.assert_array_equal(x2[:, 2:], x[:, 2:])
    assert design.block_slices == {"prompt": slice(0, 3), "goal": slice(3, 6)}
    # without a model block the unpenalised column is an intercept
    xm, penm = FeatureBuilder((), None).fit_transform(frame).matrix()
    assert xm.shape == (4, 1) and not penm.any()


def test_design_errors_name_the_problem():
    frame = _frame()
    fb = FeatureBuilder(("model",), None).fit(frame)
    bad = frame.assign(model=["m1", "m3", "m1", "m1"])
    with pytest.raises(InputError, match=r"row 2.*model"):
        fb.transform(bad)
    with pytest.raises(ConfigError):
        FeatureBuilder(("model", "prompt"), None)
    table = read_embedding_table(pd.DataFrame({"goal_image": ["g1", "g2"], "e0": [0.1, 0.2]}), "goal_image")
    with pytest.raises(InputError, match="no embedding for goal_image 'g3'"):
        table.lookup(["g1", "g3"])
    with pytest.raises(InputError, match="row 2"):
        read_embedding_table(pd.DataFrame({"goal_image": ["g1", "g1"], "e0": [0.1, 0.2]}), "goal_image")
    np.testing.assert_array_equal(table.lookup(["g2", "g1", "g2"])[:, 0], [0.2, 0.1, 0.2])


def test_goal_table_replaces_reference_text():
    frame = _frame()
    table = pd.DataFrame({"goal_image": ["g4", "g3", "g2", "g1"], "e0": [4.0, 3.0, 2.0, 1.0], "e1": [0, 0, 1, 1]})
    design = FeatureBuilder(("model", "goal"), None, goal_embeddings=table).fit_transform(frame)
    raw = design.features[:, 0]
    assert np.corrcoef(raw, [1, 2, 3, 4])[0, 1] == pytest.approx(1.0)


def test_minilm_embeds_offline_384d(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    emb = make_embedder("minilm")
    out = emb.transform(["a castle at sunset", "a castle at dusk", "a spreadsheet of numbers"])
    assert out.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert out[0] @ out[1] > out[0] @ out[2]  # related sentences are closer
    assert emb.identity.startswith("minilm:all-MiniLM-L6-v2")


def test_clip_text_embedder_through_steerstats_embed(tmp_path):
    from steerstats.embed import testing

    inner = testing.tiny_embedder(seed=0, batch_size=4)
    emb = make_embedder("clip", embedder=inner)
    cache = EmbeddingCache(tmp_path)
    out = cache.embed(emb, TEXTS[:3])
    assert out.shape[0] == 3 and np.isfinite(out).all()
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(cache.embed(emb, TEXTS[:3]), out)
    assert cache.stats.hits == 3
    other = make_embedder("clip", embedder=testing.tiny_embedder(seed=1, batch_size=4))
    assert other.identity != emb.identity
    with pytest.raises(ConfigError, match="weights"):
        _ = make_embedder("clip").identity
