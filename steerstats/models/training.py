"""Whole-run training in one jitted function: ``lax.scan`` over epochs, and over minibatches inside.

Each epoch shuffles the rows by sorting one uniform per row, drawn from ``fold_in(fold_in(key,
epoch), row)``; the last, short minibatch is padded with zero-weight rows so every step has a static
shape and the run matches a PyTorch ``DataLoader(shuffle=True, drop_last=False)`` loop exactly in
what it averages.

Compile once per sweep: the training rows are padded to a capacity (:func:`row_capacity`: 256,
1024, 4096, ... rows, or the floor a sweep sets with :func:`training_capacity`) and the real count
is a traced argument, so runs of different sizes share one compiled program; the minibatch loop
runs ceil(n / batch) steps (a ``fori_loop`` with a traced trip count), so a run costs what its own
rows cost. A padded row never enters the shuffle of the real rows (each row's uniform comes from
its own key) and weighs 0, so the result does not depend on the capacity. Targets may be soft
(in [0, 1]; binary cross-entropy with soft targets) and may be NaN where a label is missing (masked
out of the loss). With a validation set the validation loss (minibatch losses weighted by their
rows) is computed after every epoch inside the scan and the parameters of the best epoch are kept ("restore best" early stopping: the scan still
runs all epochs — a static trip count is what makes it one compiled program).

Losses (mean over the minibatch of per-example losses):
- ``"heads"``: mean over heads k of BCE(logit_k, y_k) — coarse model (1 head) and CBM stage 1;
- ``"joint"``: BCE(aggregate logit, y) + lambda * mean_k BCE(concept logit_k, c_k);
- ``"bradley_terry"``: rows are pairs [x_a | x_b], y = 1 (a preferred), 0 (b) or 0.5 (a tie counted
  as half a win each); BCE(r(x_a) - r(x_b), y) (Bradley & Terry 1952);
- ``"davidson"``: the same pairs with ties modelled (Davidson 1970): with d = r_a - r_b,
  P(a) : P(b) : P(tie) = e^{d/2} : e^{-d/2} : nu, nu = e^{log_nu} learned; -log P(outcome);
- ``"cem"``: the concept-embedding model, y = [aggregate, concepts (M), intervention mask (M)]:
  BCE(aggregate logit, y) + lambda * mean_k BCE(concept logit_k, c_k), where the forward pass
  uses the true c_k in place of p_k wherever the row's mask is 1 (training-time interventions);
- ``"plackett_luce"``: rows are lists [x_1 | ... | x_m] (best first), y (n, m) marks each slot
  1 = ranked, 2 = in the choice set but unranked (a partial / top-k ranking), 0 = padding;
  -sum over ranked slots j of [r_j - logsumexp_{l >= j, y_l > 0} r_l] (Plackett 1975; Luce 1959).

:func:`train_many` vmaps the same run over a batch of PRNG keys (several seeds at once). On the
2-core CPU this was written on it is no faster than running the seeds one after another
(``steerstats bench reward-models``: sequential / vmap = 0.94-1.02x), so the budget sweep trains
runs one at a time (which also lets every finished run be saved at once); on a GPU, vmap pays.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from steerstats.models.mlp import (
    MLP,
    ConceptEmbedding,
    JointCBM,
    ListReward,
    PairwiseReward,
    init_params,
)

PAIRWISE_LOSSES = ("bradley_terry", "davidson", "plackett_luce")


@dataclass(frozen=True)
class TrainSpec:
    """Everything that fixes the compiled training program (hashable: it keys the jit cache)."""

    hidden: tuple[int, ...] = (256, 256)
    n_out: int = 1
    loss: str = "heads"  # "heads" | "joint"
    concept_weight: float = 1.0  # lambda of the joint loss
    epochs: int = 100
    batch_size: int = 128
    learning_rate: float = 1e-4
    concept_embedding: int = 16  # width of each concept's embeddings ("cem")

    def module(self) -> Any:
        if self.loss == "cem":
            return ConceptEmbedding(self.hidden, self.n_out, self.concept_embedding)
        if self.loss == "joint":
            return JointCBM(self.hidden, self.n_out)
        if self.loss == "plackett_luce":
            return ListReward(self.hidden, self.n_out)
        if self.loss in PAIRWISE_LOSSES:
            return PairwiseReward(self.hidden, ties=self.loss == "davidson")
        return MLP(self.hidden, self.n_out)


@dataclass(frozen=True)
class TrainResult:
    params: Any
    train_loss: np.ndarray  # (epochs,) mean minibatch loss per epoch
    val_loss: np.ndarray  # (epochs,) NaN when there is no validation set
    best_epoch: int  # 0-based epoch whose parameters were kept


def _masked_bce(logits: jax.Array, targets: jax.Array) -> jax.Array:
    """Per-element BCE with soft targets; NaN targets contribute 0."""
    mask = ~jnp.isnan(targets)
    loss = optax.sigmoid_binary_cross_entropy(logits, jnp.where(mask, targets, 0.0))
    return jnp.where(mask, loss, 0.0), mask


def _heads_loss(out: jax.Array, y: jax.Array, w: jax.Array) -> jax.Array:
    loss, mask = _masked_bce(out, y)
    weight = w[:, None] * mask
    return jnp.sum(loss * weight) / jnp.maximum(jnp.sum(weight), 1e-12)


def _joint_loss(out: tuple, y: jax.Array, w: jax.Array, lam: float) -> jax.Array:
    concept_logits, agg_logit = out
    agg = _heads_loss(agg_logit[:, None], y[:, :1], w)
    return agg + lam * _heads_loss(concept_logits, y[:, 1:], w)


def _davidson_loss(out: tuple, y: jax.Array, w: jax.Array) -> jax.Array:
    d, log_nu = out
    logits = jnp.stack([d / 2, -d / 2, jnp.broadcast_to(log_nu, d.shape)], axis=1)
    outcome = jnp.where(y[:, 0] == 1.0, 0, jnp.where(y[:, 0] == 0.0, 1, 2))
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, outcome)
    return jnp.sum(nll * w) / jnp.maximum(jnp.sum(w), 1e-12)


def _plackett_luce_loss(r: jax.Array, y: jax.Array, w: jax.Array) -> jax.Array:
    in_set = y > 0
    ranked = y == 1
    masked = jnp.where(in_set, r, -1e9)  # finite: no inf - inf in the gradient of padded slots
    # logsumexp over slots l >= j: a reversed cumulative logsumexp
    tail = jnp.flip(jax.lax.cumlogsumexp(jnp.flip(masked, axis=1), axis=1), axis=1)
    nll = jnp.where(ranked, tail - r, 0.0).sum(axis=1)
    return jnp.sum(nll * w) / jnp.maximum(jnp.sum(w), 1e-12)


def _loss_fn(spec: TrainSpec):
    module = spec.module()

    def loss(params, x, y, w):
        if spec.loss == "cem":
            m = spec.n_out
            concepts, mask = y[:, 1:1 + m], y[:, 1 + m:]
            out = module.apply({"params": params}, x, jnp.nan_to_num(concepts), mask * ~jnp.isnan(concepts))
            return _joint_loss(out, y[:, : 1 + m], w, spec.concept_weight)
        out = module.apply({"params": params}, x)
        if spec.loss == "joint":
            return _joint_loss(out, y, w, spec.concept_weight)
        if spec.loss == "davidson":
            return _davidson_loss(out, y, w)
        if spec.loss == "plackett_luce":
            return _plackett_luce_loss(out, y, w)
        if spec.loss == "bradley_terry":
            return _heads_loss(out[:, None], y, w)
        return _heads_loss(out, y, w)

    return loss


def _run(spec: TrainSpec, params, key, x, y, xv, yv, n, n_val):
    """One whole training run on the first ``n`` of the (capacity, d) rows of ``x`` (the rest is
    padding) and the first ``n_val`` validation rows; traced once per spec and capacity."""
    capacity = x.shape[0]  # a multiple of the batch size (row_capacity)
    bs = spec.batch_size
    loss = _loss_fn(spec)
    opt = optax.adam(spec.learning_rate)
    grad = jax.value_and_grad(loss)
    has_val = xv.shape[0] > 0
    rows = jnp.arange(capacity)
    n_steps = (n + bs - 1) // bs

    def val_loss(p):
        """Validation loss in minibatches over the real rows only: sum_b loss_b * rows_b / n_val,
        the same operations whatever the capacity (one full-length reduction would round differently)."""
        def batch(j, total):
            start = j * bs
            idx = start + jnp.arange(bs)
            w = (idx < n_val).astype(jnp.float32)
            return total + loss(p, xv[idx], yv[idx], w) * jnp.sum(w)

        return jax.lax.fori_loop(0, (n_val + bs - 1) // bs, batch, jnp.zeros((), jnp.float32)) / n_val

    def epoch(carry, e):
        p, s, best_p, best_val, best_e = carry
        epoch_key = jax.random.fold_in(key, e)
        # one uniform per row from its own key: the real rows' order does not depend on the padding
        u = jax.vmap(lambda i: jax.random.uniform(jax.random.fold_in(epoch_key, i)))(rows)
        order = jnp.argsort(jnp.where(rows < n, u, jnp.inf))  # the real rows first, shuffled

        def step(j, state):
            p, s, total = state
            start = j * bs
            idx = jax.lax.dynamic_slice(order, (start,), (bs,))
            w = ((start + jnp.arange(bs)) < n).astype(jnp.float32)  # the last batch's padding weighs 0
            value, g = grad(p, x[idx], y[idx], w)
            updates, s = opt.update(g, s, p)
            return optax.apply_updates(p, updates), s, total + value

        p, s, total = jax.lax.fori_loop(0, n_steps, step, (p, s, jnp.zeros((), jnp.float32)))
        if has_val:
            val = val_loss(p)
            better = val < best_val
            best_p = jax.tree_util.tree_map(lambda a, b: jnp.where(better, a, b), p, best_p)
            best_val = jnp.where(better, val, best_val)
            best_e = jnp.where(better, e, best_e)
        else:
            val = jnp.nan
            best_p, best_e = p, e
        return (p, s, best_p, best_val, best_e), (total / n_steps, val)

    init = (params, opt.init(params), params, jnp.inf, jnp.asarray(0))
    (_, _, best_p, _, best_e), (tl, vl) = jax.lax.scan(epoch, init, jnp.arange(spec.epochs))
    return best_p, tl, vl, best_e


@functools.lru_cache(maxsize=64)
def _compiled(spec: TrainSpec):
    return jax.jit(functools.partial(_run, spec))


@functools.lru_cache(maxsize=16)
def _compiled_many(spec: TrainSpec):
    return jax.jit(jax.vmap(functools.partial(_run, spec), in_axes=(0, 0, None, None, None, None, None, None)))


#: smallest padded row capacity, and the factor between capacities: sizes 1-256 share one
#: compiled program, 257-1024 the next, ... (a training run pads its rows up to its capacity)
CAPACITY_BASE = 256
CAPACITY_GROWTH = 4
_CAPACITY_FLOOR: contextvars.ContextVar[int] = contextvars.ContextVar("capacity_floor", default=0)


def row_capacity(n: int, batch_size: int) -> int:
    """Rows a run on ``n`` rows is padded to: the first of 256, 1024, 4096, ... that holds
    max(n, the :func:`training_capacity` floor), rounded up to a multiple of the batch size."""
    return -(-_bucket(max(int(n), _CAPACITY_FLOOR.get())) // batch_size) * batch_size


def _bucket(n: int) -> int:
    """The first of 256, 1024, 4096, ... that holds n rows."""
    cap = CAPACITY_BASE
    while cap < n:
        cap *= CAPACITY_GROWTH
    return cap


@contextlib.contextmanager
def training_capacity(n_rows: int) -> Iterator[None]:
    """Within the block, pad every training set to at least ``n_rows`` rows (and validation sets
    likewise), so the runs of a sweep over sizes up to ``n_rows`` share one compiled program.
    Padding never changes a result (the padded rows weigh 0 and do not enter the shuffle)."""
    token = _CAPACITY_FLOOR.set(max(int(n_rows), 0))
    try:
        yield
    finally:
        _CAPACITY_FLOOR.reset(token)


def _padded(a: np.ndarray, rows: int) -> jax.Array:
    out = np.zeros((rows, *a.shape[1:]), np.float32)
    out[: len(a)] = a
    return jnp.asarray(out)


def _as_arrays(spec: TrainSpec, x, y, x_val, y_val):
    """(x, y, xv, yv) padded to their capacities, and the real row counts (n, n_val)."""
    x = np.asarray(x, np.float32)
    y = np.asarray(y, np.float32).reshape(x.shape[0], -1)
    n = x.shape[0]
    if n == 0:
        raise ValueError("no training rows")
    cap = row_capacity(n, spec.batch_size)
    if x_val is None:
        xv = jnp.zeros((0, x.shape[1]), jnp.float32)
        yv = jnp.zeros((0, y.shape[1]), jnp.float32)
        n_val = 0
    else:
        x_val = np.asarray(x_val, np.float32)
        n_val = x_val.shape[0]
        val_cap = row_capacity(n_val, spec.batch_size)
        xv = _padded(x_val, val_cap)
        yv = _padded(np.asarray(y_val, np.float32).reshape(n_val, -1), val_cap)
    return _padded(x, cap), _padded(y, cap), xv, yv, jnp.int32(n), jnp.int32(n_val)


def train(
    spec: TrainSpec,
    x: np.ndarray,
    y: np.ndarray,
    key: jax.Array,
    *,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
) -> TrainResult:
    """Initialise from ``split(key)[0]`` and train on (x, y) with shuffles from ``split(key)[1]``.

    ``y`` is (n, n_out) for ``loss="heads"`` and (n, 1 + n_concepts) = [aggregate, concepts...] for
    ``loss="joint"``.
    """
    x, y, xv, yv, n, n_val = _as_arrays(spec, x, y, x_val, y_val)
    k_init, k_data = jax.random.split(key)
    params = init_params(spec.module(), k_init, x.shape[1])
    p, tl, vl, be = _compiled(spec)(params, k_data, x, y, xv, yv, n, n_val)
    return TrainResult(p, np.asarray(tl), np.asarray(vl), int(be))


def train_many(
    spec: TrainSpec,
    x: np.ndarray,
    y: np.ndarray,
    keys: jax.Array,
    *,
    x_val: np.ndarray | None = None,
    y_val: np.ndarray | None = None,
) -> list[TrainResult]:
    """:func:`train` for each key in ``keys`` (k, 2), all runs in one vmapped program."""
    x, y, xv, yv, n, n_val = _as_arrays(spec, x, y, x_val, y_val)
    split = jax.vmap(jax.random.split)(keys)
    params = jax.vmap(lambda k: init_params(spec.module(), k, x.shape[1]))(split[:, 0])
    p, tl, vl, be = _compiled_many(spec)(params, split[:, 1], x, y, xv, yv, n, n_val)
    return [
        TrainResult(
            jax.tree_util.tree_map(lambda a, i=i: a[i], p),
            np.asarray(tl[i]),
            np.asarray(vl[i]),
            int(be[i]),
        )
        for i in range(keys.shape[0])
    ]


def apply(spec: TrainSpec, params: Any, x: np.ndarray, batch: int = 8192) -> Any:
    """Network outputs for ``x`` (logits; a (concepts, aggregate) pair for the joint CBM), in
    chunks of ``batch`` rows, each padded to a bucket of 256, 1024, 4096, ... rows (so inputs of
    many sizes share a few compiled programs; the padded rows' outputs are dropped)."""
    fn = _compiled_apply(spec)
    x = np.asarray(x, np.float32)
    outs = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        m = len(chunk)
        out = fn(params, _padded(chunk, min(_bucket(m), max(batch, m))))
        outs.append(jax.tree_util.tree_map(lambda a, m=m: np.asarray(a)[:m], out))
    if not outs:
        outs = [jax.tree_util.tree_map(np.asarray, fn(params, jnp.zeros((0, x.shape[1]), jnp.float32)))]
    return jax.tree_util.tree_map(lambda *a: np.concatenate(a), *outs)


@functools.lru_cache(maxsize=64)
def _compiled_apply(spec: TrainSpec):
    module = spec.module()
    if spec.loss in PAIRWISE_LOSSES:  # a comparison model scores single items: r(x)
        method = ListReward.reward if spec.loss == "plackett_luce" else PairwiseReward.reward
        return jax.jit(lambda params, x: module.apply({"params": params}, x, method=method))
    return jax.jit(lambda params, x: module.apply({"params": params}, x))


@functools.lru_cache(maxsize=16)
def _compiled_intervene(spec: TrainSpec):
    module = spec.module()
    return jax.jit(lambda params, x, known, mask: module.apply({"params": params}, x, known, mask))


def apply_intervened(spec: TrainSpec, params: Any, x: np.ndarray, known: np.ndarray, mask: np.ndarray) -> Any:
    """Outputs of a concept-embedding network with p_k replaced by ``known`` where ``mask`` is set."""
    fn = _compiled_intervene(spec)
    return jax.tree_util.tree_map(np.asarray, fn(params, jnp.asarray(x, jnp.float32), jnp.asarray(known, jnp.float32),
                                                 jnp.asarray(mask, jnp.float32)))
