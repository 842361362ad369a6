"""Multi-head MLP on frozen embeddings (Collins et al. 2024: two hidden layers of 256, ReLU).

``MLP(hidden=(256, 256), n_out=M)`` maps x (n, d) to M logits; the coarse reward model uses
``n_out=1``, the concept-bottleneck stage 1 one head per attribute. :class:`JointCBM` adds the
linear aggregator g(s) = w . sigmoid(s) + b on top of the concept logits for end-to-end training.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLP(nn.Module):
    """Dense-ReLU stack followed by a linear layer of ``n_out`` logits."""

    hidden: Sequence[int] = (256, 256)
    n_out: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.n_out)(x)


class JointCBM(nn.Module):
    """Concept logits s = f(x) and aggregate logit g(sigmoid(s)) (the joint CBM of Koh et al.)."""

    hidden: Sequence[int] = (256, 256)
    n_concepts: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        s = MLP(tuple(self.hidden), self.n_concepts, name="concepts")(x)
        agg = nn.Dense(1, name="aggregator")(jax.nn.sigmoid(s))
        return s, agg[:, 0]


class PairwiseReward(nn.Module):
    """A shared reward r(x) = MLP(x) applied to both halves of a pair row [x_a | x_b]: returns
    d = r(x_a) - r(x_b) (Bradley-Terry), and with ``ties`` also log nu, the Davidson (1970) tie
    parameter. ``reward`` scores single items (inputs of the half width)."""

    hidden: Sequence[int] = (256, 256)
    ties: bool = False

    def setup(self) -> None:
        self.net = MLP(tuple(self.hidden), 1, name="reward")
        if self.ties:
            self.log_nu = self.param("log_nu", nn.initializers.zeros, ())

    def reward(self, x: jax.Array) -> jax.Array:
        return self.net(x)[:, 0]

    def __call__(self, x: jax.Array) -> jax.Array | tuple[jax.Array, jax.Array]:
        half = x.shape[1] // 2
        d = self.reward(x[:, :half]) - self.reward(x[:, half:])
        return (d, self.log_nu) if self.ties else d


class ListReward(nn.Module):
    """A shared reward applied to each of ``n_items`` equal chunks of a row [x_1 | ... | x_m]:
    (n, m) rewards (the Plackett-Luce model of a ranked list); ``reward`` scores single items."""

    hidden: Sequence[int] = (256, 256)
    n_items: int = 2

    def setup(self) -> None:
        self.net = MLP(tuple(self.hidden), 1, name="reward")

    def reward(self, x: jax.Array) -> jax.Array:
        return self.net(x)[:, 0]

    def __call__(self, x: jax.Array) -> jax.Array:
        n, width = x.shape
        d = width // self.n_items
        return self.reward(x.reshape(n * self.n_items, d)).reshape(n, self.n_items)


class ConceptEmbedding(nn.Module):
    """Concept-embedding model (Espinosa Zarlenga et al. 2022): a backbone h(x); per concept i two
    embeddings c_i^+ and c_i^- (``emb`` wide, leaky ReLU) from h; its probability
    p_i = sigmoid(s([c_i^+, c_i^-])) with one scoring layer s shared by all concepts; the mixture
    c_i = p_i c_i^+ + (1 - p_i) c_i^-; the aggregate logit a linear layer on [c_1 .. c_M].
    ``known``/``mask`` replace p_i by the known value where mask is 1 (an intervention).
    Returns (concept logits (n, M), aggregate logit (n,))."""

    hidden: Sequence[int] = (256, 256)
    n_concepts: int = 1
    emb: int = 16

    @nn.compact
    def __call__(self, x: jax.Array, known: jax.Array | None = None, mask: jax.Array | None = None):
        h = x
        for width in self.hidden:
            h = nn.relu(nn.Dense(width)(h))
        n, m, e = x.shape[0], self.n_concepts, self.emb
        pos = nn.leaky_relu(nn.Dense(m * e, name="positive")(h)).reshape(n, m, e)
        neg = nn.leaky_relu(nn.Dense(m * e, name="negative")(h)).reshape(n, m, e)
        s = nn.Dense(1, name="score")(jnp.concatenate([pos, neg], axis=-1))[..., 0]
        p = jax.nn.sigmoid(s)
        if known is not None:
            p = jnp.where(mask > 0, known, p)
        mixed = p[..., None] * pos + (1 - p[..., None]) * neg
        agg = nn.Dense(1, name="aggregator")(mixed.reshape(n, m * e))[:, 0]
        return s, agg


def init_params(module: nn.Module, key: jax.Array, dim: int) -> dict:
    """Parameters of ``module`` for inputs of width ``dim`` (Flax default initialisers)."""
    return module.init(key, jnp.zeros((1, dim), jnp.float32))["params"]
