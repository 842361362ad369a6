"""``steerstats bench reward-models``: one paper-config CBM stage-1 run, three ways, same process.

Work (defaults: the paper's setting): N = 5,000 examples x 768-d embeddings, 12 attribute heads,
two hidden layers of 256, 100 epochs of batch-128 Adam (lr 1e-4), per-epoch reshuffles.

1. :func:`steerstats.models.training.train` — the whole run as one jitted program (``lax.scan``
   over epochs, a ``fori_loop`` over minibatches);
2. the same jitted step function driven by a Python loop over epochs and minibatches;
3. an equivalent PyTorch eager loop (``torch.nn`` + ``torch.optim.Adam``), CPU threads as set.

Also :func:`~steerstats.models.training.train_many` (vmap over ``--seeds`` runs) against the same
runs one after another, which decides whether the budget sweep should vmap on this machine.
Compilation is timed separately and excluded from the per-run times (the sweep reuses compiled
programs across seeds). Then the profile and the matmul roof (:mod:`steerstats.models.roofline`),
and the same whole run in a fresh process with XLA's oneDNN CPU path (``--xla_cpu_use_onednn=true``).
"""

from __future__ import annotations

import argparse
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from steerstats.models.mlp import init_params
from steerstats.models.roofline import measure_roofline, step_flops
from steerstats.models.training import TrainSpec, _loss_fn, train, train_many


def _data(n: int, dim: int, heads: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    y = (x[:, :heads] + 0.5 * rng.standard_normal((n, heads)) > 0).astype(np.float32)
    return x, y


def _timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = jax.block_until_ready(fn())
    return time.perf_counter() - t0, out


def _load() -> str:
    """The 1-minute load average: timings on a shared machine mean little without it."""
    try:
        return f"{os.getloadavg()[0]:.1f}"
    except OSError:
        return "n/a"


def jitted_step_loop(spec: TrainSpec, x: np.ndarray, y: np.ndarray, key: jax.Array) -> tuple:
    """The baseline: one jitted Adam step per minibatch, driven from Python."""
    loss = _loss_fn(spec)
    opt = optax.adam(spec.learning_rate)

    @jax.jit
    def step(p, s, xb, yb, w):
        value, g = jax.value_and_grad(loss)(p, xb, yb, w)
        updates, s = opt.update(g, s, p)
        return optax.apply_updates(p, updates), s, value

    k_init, k_data = jax.random.split(key)
    params = init_params(spec.module(), k_init, x.shape[1])
    state = opt.init(params)
    xd, yd = jnp.asarray(x), jnp.asarray(y)
    n, bs = x.shape[0], spec.batch_size
    for e in range(spec.epochs):
        perm = np.asarray(jax.random.permutation(jax.random.fold_in(k_data, e), n))
        for i in range(0, n, bs):
            idx = perm[i : i + bs]
            params, state, _ = step(params, state, xd[idx], yd[idx], jnp.ones(len(idx)))
    return params


def torch_loop(x: np.ndarray, y: np.ndarray, spec: TrainSpec, seed: int = 0) -> float:
    """Equivalent PyTorch eager training; returns the final epoch's mean loss."""
    import torch

    torch.manual_seed(seed)
    layers: list = []
    width = x.shape[1]
    for h in spec.hidden:
        layers += [torch.nn.Linear(width, h), torch.nn.ReLU()]
        width = h
    net = torch.nn.Sequential(*layers, torch.nn.Linear(width, y.shape[1]))
    opt = torch.optim.Adam(net.parameters(), lr=spec.learning_rate)
    lossf = torch.nn.BCEWithLogitsLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    gen = torch.Generator().manual_seed(seed)
    last = 0.0
    for _ in range(spec.epochs):
        perm = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for i in range(0, len(xt), spec.batch_size):
            idx = perm[i : i + spec.batch_size]
            opt.zero_grad()
            loss = lossf(net(xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += loss.item()
        last = total
    return last


def run(args: argparse.Namespace) -> int:
    spec = TrainSpec(hidden=(256, 256), n_out=args.heads, epochs=args.epochs)
    x, y = _data(args.n, args.dim, args.heads)
    print(f"reward-model training: N={args.n} x {args.dim}-d, {args.heads} heads, "
          f"{args.epochs} epochs, batch 128, Adam lr 1e-4; {jax.default_backend()}, "
          f"{os.cpu_count()} cores, load average {_load()}")
    compile_s, _ = _timed(lambda: train(spec, x, y, jax.random.key(100)).params)
    scan_s, _ = _timed(lambda: train(spec, x, y, jax.random.key(0)).params)
    steps = spec.epochs * -(-args.n // spec.batch_size)
    gflop = step_flops(spec.batch_size, args.dim, spec.hidden, args.heads) * steps / 1e9
    print(f"  lax.scan whole run      {scan_s:8.2f} s   (first call incl. compile {compile_s:.2f} s); "
          f"{gflop:.0f} GFLOP of matmuls = {gflop / scan_s:.0f} GFLOP/s")
    jitted_step_loop(TrainSpec(**{**spec.__dict__, "epochs": 1}), x, y, jax.random.key(1))  # compile
    loop_s, _ = _timed(lambda: jitted_step_loop(spec, x, y, jax.random.key(0)))
    print(f"  jitted-step Python loop {loop_s:8.2f} s   ratio loop / scan = {loop_s / scan_s:.2f}x")
    if not args.no_torch:
        import torch

        if args.torch_threads:
            torch.set_num_threads(args.torch_threads)
        t0 = time.perf_counter()
        torch_loop(x, y, spec)
        torch_s = time.perf_counter() - t0
        print(f"  PyTorch eager loop      {torch_s:8.2f} s   ratio torch / scan = {torch_s / scan_s:.2f}x"
              f"  (torch threads {torch.get_num_threads()})")
    if args.seeds > 1:
        keys = jax.random.split(jax.random.key(7), args.seeds)
        _timed(lambda: train_many(spec, x, y, keys)[0].params)  # compile
        many_s, _ = _timed(lambda: [r.params for r in train_many(spec, x, y, keys)])
        seq_s, _ = _timed(lambda: [train(spec, x, y, k).params for k in keys])
        print(f"  {args.seeds} seeds: vmap {many_s:.2f} s vs one after another {seq_s:.2f} s   "
              f"ratio sequential / vmap = {seq_s / many_s:.2f}x")
    if not args.no_roofline:
        _print_roofline(args, spec, scan_s, gflop)
        onednn = scan_seconds_in_fresh_process(args, "--xla_cpu_use_onednn=true")
        default = scan_seconds_in_fresh_process(args, "")
        print(f"  oneDNN CPU path (fresh processes): {onednn:.2f} s vs {default:.2f} s default, "
              f"ratio default / oneDNN = {default / onednn:.2f}x")
    print(f"  load average at the end {_load()}")
    return 0


def scan_seconds_in_fresh_process(args: argparse.Namespace, xla_flags: str) -> float:
    """Seconds of one (warm) whole training run in a new Python process with ``XLA_FLAGS`` set."""
    import subprocess
    import sys

    code = ("import time, jax; from steerstats.models.benchmark import _data; "
            "from steerstats.models.training import TrainSpec, train; "
            f"spec = TrainSpec(hidden=(256, 256), n_out={args.heads}, epochs={args.epochs}); "
            f"x, y = _data({args.n}, {args.dim}, {args.heads}); "
            "jax.block_until_ready(train(spec, x, y, jax.random.key(100)).params); t = time.perf_counter(); "
            "jax.block_until_ready(train(spec, x, y, jax.random.key(0)).params); print(time.perf_counter() - t)")
    env = {**os.environ, "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} {xla_flags}".strip()}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def _print_roofline(args: argparse.Namespace, spec: TrainSpec, scan_s: float, gflop: float) -> None:
    """The profile and the matmul roof at the model's shapes (steerstats.models.roofline)."""
    roof = measure_roofline(args.dim, spec.hidden, args.heads, batch=spec.batch_size, learning_rate=spec.learning_rate,
                            torch_baseline=not args.no_torch)
    overhead = roof.seconds["loop overhead (empty body)"]
    whole = roof.seconds["whole step"] - overhead
    print(f"  profile ({roof.steps} steps of batch {spec.batch_size}, each component its own lax.scan, the empty "
          f"loop's {overhead / roof.steps * 1e6:.1f} us/step subtracted; {roof.step_gflop * 1e3:.0f} MFLOP of matmuls a step):")
    for name, sec in roof.seconds.items():
        if name != "loop overhead (empty body)":
            own = sec - overhead
            print(f"    {name:<30} {own / roof.steps * 1e6:8.0f} us/step  {own / whole:6.0%} of the whole step")
    run_rate = gflop / scan_s
    print(f"  matmul roof at these shapes: XLA {roof.xla_dot_gflops:.0f} GFLOP/s"
          + (f", torch {roof.torch_dot_gflops:.0f}" if roof.torch_dot_gflops else "")
          + f"; square 2048^3: XLA {roof.xla_peak_gflops:.0f}"
          + (f", torch {roof.torch_peak_gflops:.0f}" if roof.torch_peak_gflops else "") + " GFLOP/s")
    best_roof = max(r for r in (roof.xla_dot_gflops, roof.torch_dot_gflops or 0.0) if r)
    print(f"  training runs at {run_rate:.0f} GFLOP/s = {run_rate / roof.xla_dot_gflops:.0%} of XLA's dot rate and "
          f"{run_rate / best_roof:.0%} of the best dot rate at its shapes")
