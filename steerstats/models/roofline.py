"""Where a reward-model training run's time goes, against the machine's matmul roof.

FLOPs are counted from the matmul shapes of one Adam step of an MLP d -> h_1 -> ... -> h_L -> k on
a minibatch of b rows: forward 2 b sum_l (in_l x out_l); backward the weight gradients (the same
again) and the input gradients of every layer but the first (the same minus the first layer's).
Elementwise work (ReLU, the loss, Adam) is not counted: it is memory-bound, and the profile times
it separately.

The roof is measured in the same process at the model's own shapes: the step's forward and
backward matmuls alone, as one jitted ``lax.scan`` over the same number of steps (XLA's dot rate at
these shapes), and the same matmuls through torch (MKL/oneDNN), plus one square 2048^3 matmul in
each (the machine's dense peak). Profile components, each its own scan of the same length:
the shuffling gather of a minibatch, the loss and its gradient on fixed logits, Adam's update on
fixed gradients, the full value-and-gradient without Adam, and the whole step.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax


def layer_shapes(dim: int, hidden: Sequence[int], n_out: int) -> list[tuple[int, int]]:
    widths = [dim, *hidden, n_out]
    return list(itertools.pairwise(widths))


def step_flops(batch: int, dim: int, hidden: Sequence[int], n_out: int) -> float:
    """Matmul FLOPs of one training step (module docstring)."""
    shapes = layer_shapes(dim, hidden, n_out)
    forward = sum(2.0 * batch * a * b for a, b in shapes)
    weight_grads = forward
    input_grads = forward - 2.0 * batch * shapes[0][0] * shapes[0][1]
    return forward + weight_grads + input_grads


def _time(fn: Callable[[], object], repeats: int = 3) -> float:
    jax.block_until_ready(fn())  # compile and warm
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - t0)
    return float(best)


@dataclass(frozen=True)
class Roofline:
    steps: int
    step_gflop: float
    seconds: dict[str, float]  # component -> seconds for `steps` steps
    xla_dot_gflops: float  # the step's matmuls alone under XLA (GFLOP/s)
    torch_dot_gflops: float | None  # the same matmuls through torch
    xla_peak_gflops: float  # 2048^3 under XLA
    torch_peak_gflops: float | None


def _matmul_chain(shapes: list[tuple[int, int]], batch: int, key: jax.Array):
    """Operands of the step's forward and backward matmuls at the model's shapes."""
    keys = jax.random.split(key, 2 * len(shapes) + 1)
    weights = [jax.random.normal(keys[i], s, jnp.float32) * 0.05 for i, s in enumerate(shapes)]
    acts = [jax.random.normal(keys[len(shapes) + i], (batch, a), jnp.float32) for i, (a, _) in enumerate(shapes)]
    grads = [jax.random.normal(keys[-1], (batch, b), jnp.float32) for _, b in shapes]
    return weights, acts, grads


def measure_roofline(dim: int, hidden: Sequence[int], n_out: int, *, batch: int = 128, steps: int = 400,
                     learning_rate: float = 1e-4, torch_baseline: bool = True, seed: int = 0) -> Roofline:
    """Time the profile components and the roof for ``steps`` steps (module docstring)."""
    from steerstats.models.mlp import MLP, init_params

    shapes = layer_shapes(dim, hidden, n_out)
    key = jax.random.key(seed)
    weights, acts, grads = _matmul_chain(shapes, batch, key)
    n_rows = 40 * batch
    x = jax.random.normal(key, (n_rows, dim), jnp.float32)
    y = (jax.random.uniform(key, (n_rows, n_out)) < 0.5).astype(jnp.float32)
    module = MLP(tuple(hidden), n_out)
    params = init_params(module, key, dim)
    opt = optax.adam(learning_rate)
    state = opt.init(params)
    w = jnp.ones((batch,), jnp.float32)

    def loss(p, xb, yb):
        out = module.apply({"params": p}, xb)
        return jnp.mean(optax.sigmoid_binary_cross_entropy(out, yb) * w[:, None])

    value_grad = jax.value_and_grad(loss)
    index = jax.random.randint(key, (steps, batch), 0, n_rows)
    logits = jax.random.normal(key, (batch, n_out))
    fixed_grads = jax.tree_util.tree_map(lambda a: a * 1e-3, params)
    data = {"x": x, "y": y, "weights": weights, "acts": acts, "grads": grads, "logits": logits,
            "fixed_grads": fixed_grads}

    # every array reaches the program as an argument (a closed-over array would be baked in as a
    # constant) and every component depends on the carry (so nothing is hoisted out of the loop)
    def scan(body, init) -> float:
        """Seconds of ``steps`` iterations of ``body`` (compiled once, then timed)."""
        run = jax.jit(lambda c, ops, idx: jax.lax.scan(lambda c, i: (body(c, i, ops), None), c, idx)[0])
        return _time(lambda: run(init, data, index))

    def dots(c, _, ops):
        out = c
        for wt, a, g in zip(ops["weights"], ops["acts"], ops["grads"], strict=True):
            a = a + c * 1e-30
            out = out + jnp.sum(a @ wt) + jnp.sum(a.T @ g)  # forward; weight gradient
        for wt, g in zip(ops["weights"][1:], ops["grads"][1:], strict=True):
            out = out + jnp.sum((g + c * 1e-30) @ wt.T)  # input gradients (not the first layer's)
        return out

    def empty(c, _, ops):
        return c + 1.0

    def gather(c, idx, ops):
        return c + jnp.sum(ops["x"][idx]) + jnp.sum(ops["y"][idx])

    def loss_only(c, _, ops):
        z = ops["logits"] + c * 1e-30
        value, g = jax.value_and_grad(lambda z: jnp.mean(optax.sigmoid_binary_cross_entropy(z, ops["y"][:batch])))(z)
        return c + value + jnp.sum(g)

    def adam_only(carry, _, ops):
        p, s = carry
        updates, s = opt.update(ops["fixed_grads"], s, p)
        return optax.apply_updates(p, updates), s

    def grad_only(c, idx, ops):
        value, g = value_grad(params, ops["x"][idx] + c * 1e-30, ops["y"][idx])
        return c + value + sum(jnp.sum(v) for v in jax.tree_util.tree_leaves(g))

    def full(carry, idx, ops):
        p, s = carry
        _, g = value_grad(p, ops["x"][idx], ops["y"][idx])
        updates, s = opt.update(g, s, p)
        return optax.apply_updates(p, updates), s

    zero = jnp.zeros((), jnp.float32)
    seconds = {
        "loop overhead (empty body)": scan(empty, zero),
        "matmuls (forward + backward)": scan(dots, zero),
        "shuffling gather": scan(gather, zero),
        "loss + its gradient": scan(loss_only, zero),
        "Adam update": scan(adam_only, (params, state)),
        "value and gradient (no Adam)": scan(grad_only, zero),
        "whole step": scan(full, (params, state)),
    }
    gflop = step_flops(batch, dim, hidden, n_out) / 1e9
    big = jax.random.normal(key, (2048, 2048), jnp.float32)
    square = jax.jit(lambda a: a @ a)
    xla_peak = 2 * 2048**3 / 1e9 / _time(lambda: square(big))  # one jitted function, compiled by the warm-up
    torch_dot = torch_peak = None
    if torch_baseline:
        torch_dot, torch_peak = _torch_rates(shapes, batch, steps)
    return Roofline(steps=steps, step_gflop=gflop, seconds=seconds,
                    xla_dot_gflops=gflop * steps / seconds["matmuls (forward + backward)"],
                    torch_dot_gflops=torch_dot, xla_peak_gflops=xla_peak, torch_peak_gflops=torch_peak)


def _torch_rates(shapes: list[tuple[int, int]], batch: int, steps: int) -> tuple[float, float]:
    """GFLOP/s of the step's matmuls and of a 2048^3 matmul through torch."""
    import torch

    gen = torch.Generator().manual_seed(0)
    weights = [torch.randn(s, generator=gen) * 0.05 for s in shapes]
    acts = [torch.randn(batch, a, generator=gen) for a, _ in shapes]
    grads = [torch.randn(batch, b, generator=gen) for _, b in shapes]

    def chain() -> None:
        for _ in range(steps):
            for wt, a, g in zip(weights, acts, grads, strict=True):
                a @ wt
                a.T @ g
            for wt, g in zip(weights[1:], grads[1:], strict=True):
                g @ wt.T

    def timed(fn) -> float:
        fn()
        best = np.inf
        for _ in range(3):
            t0 = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t0)
        return best

    with torch.inference_mode():
        flop = step_flops(batch, shapes[0][0], [b for _, b in shapes[:-1]], shapes[-1][1])
        dot = flop * steps / 1e9 / timed(chain)
        big = torch.randn(2048, 2048, generator=gen)
        peak = 2 * 2048**3 / 1e9 / timed(lambda: big @ big)
    return dot, peak
