"""``steerstats bench compile``: the share of a budget sweep's wall time spent compiling, measured
with JAX's own compile-duration events (tracing, lowering, XLA compilation, persistent-cache reads).

The sweep is ``experiment2`` (Collins et al. 2024: 4 arms x 5 sizes, 768-d, 256-256, 100 epochs; by
default one seed: 20 runs). Three passes in this process, each starting with JAX's in-memory caches
cleared:

1. ``per-size``: every training set padded to its own size (one program per size and network
   shape: the behaviour before capacities were shared);
2. ``sweep``: as the runner trains (every size padded to the largest size's capacity: one program
   per network shape), with JAX's persistent compilation cache on in a fresh directory;
3. ``rerun``: the same sweep again with the in-memory caches cleared, reading the programs pass 2
   wrote to the persistent cache (what a rerun, a resumed sweep or another worker pays).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

COMPILE_EVENTS = ("/jax/core/compile/", "/jax/compilation_cache/")


@contextmanager
def compile_seconds() -> Iterator[dict[str, float]]:
    """Accumulate JAX's compile-duration events inside the block into ``{"seconds", "events"}``."""
    import jax

    total = {"seconds": 0.0, "events": 0}
    active = [True]

    def listen(name: str, seconds: float, **_: object) -> None:
        if active[0] and name.startswith(COMPILE_EVENTS) and not name.endswith("_time_saved_sec"):
            total["seconds"] += float(seconds)
            total["events"] += 1

    jax.monitoring.register_event_duration_secs_listener(listen)
    try:
        yield total
    finally:
        active[0] = False  # JAX has no public way to unregister a listener: silence it


@contextmanager
def _per_size_capacity() -> Iterator[None]:
    """Pad each training set to its own size (rounded to the batch): one program per size."""
    from steerstats.models import training

    original = training.row_capacity
    training.row_capacity = lambda n, batch_size: -(-max(int(n), 1) // batch_size) * batch_size
    try:
        yield
    finally:
        training.row_capacity = original


def run(args: argparse.Namespace) -> int:
    import dataclasses

    import jax

    from steerstats._jax_cache import _forget_opened_cache, enable_compilation_cache
    from steerstats.budget import load_config, run_experiment

    config = load_config(args.config)
    config = dataclasses.replace(config, seeds=tuple(range(args.seeds)), selection=None,
                                 model={**config.model, **({"epochs": args.epochs} if args.epochs else {})})
    root = Path(tempfile.mkdtemp(prefix="steerstats-bench-compile-"))
    rows = []
    previous_cache = jax.config.jax_compilation_cache_dir
    try:
        for name in ("per-size", "sweep", "rerun"):
            jax.clear_caches()
            if name == "per-size":
                jax.config.update("jax_compilation_cache_dir", None)
                _forget_opened_cache()
            elif name == "sweep":
                enable_compilation_cache(root / "jax_cache")
            with compile_seconds() as compiled:
                t0 = time.perf_counter()
                if name == "per-size":
                    with _per_size_capacity():
                        result = run_experiment(config, root / name, progress=False)
                else:
                    result = run_experiment(config, root / name, progress=False)
                wall = time.perf_counter() - t0
            rows.append({"pass": name, "runs": len(result.records), "wall_s": wall,
                         "compile_s": compiled["seconds"], "compile_share": compiled["seconds"] / wall})
    finally:
        jax.config.update("jax_compilation_cache_dir", previous_cache)
        _forget_opened_cache()
        shutil.rmtree(root, ignore_errors=True)
    print(f"budget sweep '{config.name}': {len(config.arms)} arms x sizes {list(config.sizes)} x {args.seeds} seed(s), "
          f"{config.model.get('epochs')} epochs (compile time from JAX's compile-duration events)")
    print(f"{'pass':<10} {'runs':>5} {'wall s':>8} {'compile s':>10} {'compile share':>14}")
    for r in rows:
        print(f"{r['pass']:<10} {r['runs']:>5} {r['wall_s']:>8.1f} {r['compile_s']:>10.1f} {r['compile_share']:>14.1%}")
    base = rows[0]
    for r in rows[1:]:
        print(f"{r['pass']}: compile time {r['compile_s'] / base['compile_s']:.2f}x of per-size, "
              f"wall time {r['wall_s'] / base['wall_s']:.2f}x")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0
