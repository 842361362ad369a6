"""Compile once per sweep: training rows padded to a capacity give exactly the unpadded result,
for every loss, and sizes within one capacity share one compiled program."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from steerstats.models.training import (
    TrainSpec,
    _compiled,
    row_capacity,
    train,
    train_many,
    training_capacity,
)


def _data(loss: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    d = 6
    if loss in ("bradley_terry", "davidson"):
        x = rng.standard_normal((n, 2 * d)).astype(np.float32)
        y = rng.choice([0.0, 0.5, 1.0], size=(n, 1)).astype(np.float32)
    elif loss == "plackett_luce":
        x = rng.standard_normal((n, 3 * d)).astype(np.float32)
        y = np.tile([1.0, 2.0, 0.0], (n, 1)).astype(np.float32)
    elif loss == "cem":
        x = rng.standard_normal((n, d)).astype(np.float32)
        c = (rng.random((n, 3)) < 0.5).astype(np.float32)
        c[rng.random((n, 3)) < 0.2] = np.nan  # attributes not elicited
        y = np.concatenate([(rng.random((n, 1)) < 0.5), c, rng.random((n, 3)) < 0.3], axis=1).astype(np.float32)
    else:
        heads = 1 if loss == "heads" else 4
        x = rng.standard_normal((n, d)).astype(np.float32)
        y = (rng.random((n, heads)) < 0.5).astype(np.float32)
        y[rng.random(y.shape) < 0.1] = np.nan
    return x, y


SPECS = {
    "heads": TrainSpec(hidden=(8,), n_out=1, loss="heads", epochs=4, batch_size=16, learning_rate=1e-2),
    "joint": TrainSpec(hidden=(8,), n_out=3, loss="joint", epochs=4, batch_size=16, learning_rate=1e-2),
    "bradley_terry": TrainSpec(hidden=(8,), loss="bradley_terry", epochs=4, batch_size=16, learning_rate=1e-2),
    "davidson": TrainSpec(hidden=(8,), loss="davidson", epochs=4, batch_size=16, learning_rate=1e-2),
    "plackett_luce": TrainSpec(hidden=(8,), n_out=3, loss="plackett_luce", epochs=4, batch_size=16,
                               learning_rate=1e-2),
    "cem": TrainSpec(hidden=(8,), n_out=3, loss="cem", epochs=4, batch_size=16, learning_rate=1e-2,
                     concept_embedding=4),
}


def _same(a, b) -> None:
    jax.tree_util.tree_map(lambda u, v: np.testing.assert_array_equal(np.asarray(u), np.asarray(v)), a.params, b.params)
    np.testing.assert_array_equal(a.train_loss, b.train_loss)
    np.testing.assert_array_equal(a.val_loss, b.val_loss)
    assert a.best_epoch == b.best_epoch


@pytest.mark.parametrize("loss", sorted(SPECS))
def test_padded_training_equals_unpadded(loss):
    spec = SPECS[loss]
    x, y = _data(loss, 90)
    xv, yv = _data(loss, 23, seed=1)
    plain = train(spec, x, y, jax.random.key(3), x_val=xv, y_val=yv)
    assert row_capacity(90, spec.batch_size) == 256
    with training_capacity(3000):
        assert row_capacity(90, spec.batch_size) == 4096
        padded = train(spec, x, y, jax.random.key(3), x_val=xv, y_val=yv)
    _same(plain, padded)  # bit-identical: the padding never enters the shuffle, a batch or a loss


def test_sizes_in_one_capacity_share_one_program_and_vmap_agrees():
    spec = TrainSpec(hidden=(5,), n_out=2, loss="heads", epochs=3, batch_size=8, learning_rate=1e-2)
    compiled = _compiled(spec)
    before = compiled._cache_size()
    results = {}
    for n in (10, 37, 200):
        x, y = _data("joint", n)
        results[n] = train(spec, x, y[:, :2], jax.random.key(0))
    assert compiled._cache_size() - before == 1  # three sizes, one compilation
    x, y = _data("joint", 37)
    many = train_many(spec, x, y[:, :2], jax.random.split(jax.random.key(9), 2))
    one = train(spec, x, y[:, :2], jax.random.split(jax.random.key(9), 2)[1])
    jax.tree_util.tree_map(lambda u, v: np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6), many[1].params, one.params)
