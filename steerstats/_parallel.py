"""Process-parallel maps through joblib, honouring the user's ``joblib.parallel_config``.

:func:`parallel_map` runs ``fn`` over ``items`` with ``n_jobs`` workers of whatever joblib backend
is configured (loky by default; ``dask`` or ``ray`` when the user selects them with
``joblib.parallel_config``) and yields results in input order. Workers that the default loky
backend started for the call are shut down when it ends, so none outlives it (a later fork-free
JAX or torch step, and the test suite, rely on that).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any


def parallel_map(fn: Callable[..., Any], items: Iterable[Any], n_jobs: int) -> Iterator[Any]:
    """``fn(item)`` for every item, in order; ``n_jobs == 1`` runs in-process."""
    if n_jobs == 1:
        yield from (fn(item) for item in items)
        return
    from joblib import Parallel, delayed

    runner = Parallel(n_jobs=n_jobs, return_as="generator")
    try:
        yield from runner(delayed(fn)(item) for item in items)
    finally:
        shutdown_local_workers()


def shutdown_local_workers() -> None:
    """Stop loky's reusable process pool if one is running (no-op otherwise)."""
    from joblib.externals.loky import reusable_executor

    executor = getattr(reusable_executor, "_executor", None)
    if executor is not None:
        executor.shutdown(wait=True, kill_workers=True)
