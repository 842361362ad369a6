"""One executor for the embarrassingly parallel jobs (budget sweeps, coverage replications):
``local`` (in this process, the default) or a Dask ``distributed`` cluster.

A job is a pure function ``fn(task, **shared)`` of one task (e.g. ``(arm, N, seed)``) and data
shared by every task (the config, the data split); it returns a record and writes nothing. The
driver consumes ``(task index, record)`` pairs as tasks finish and is the only writer, so results
equal the local ones for the same seeds (to float rounding where a result goes through multi-
threaded BLAS: workers run single-threaded) and a task is recorded once however the cluster behaves:
a task whose worker dies is run again elsewhere (``retries``), and one that finished is never
resubmitted.

Scheduler specs (``--scheduler`` or ``$STEERSTATS_SCHEDULER``): ``local``; ``local:N`` starts a
``LocalCluster`` of N single-threaded worker processes on 127.0.0.1 for the job and stops it after;
``tcp://HOST:PORT`` connects to a running scheduler.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from steerstats.errors import ConfigError

ENV_VAR = "STEERSTATS_SCHEDULER"


class LocalExecutor:
    """Tasks one after another in this process, in order."""

    name = "local"

    def map(self, fn: Callable[..., Any], tasks: Sequence[Any], *, shared: Mapping[str, Any] | None = None,
            label: str = "task") -> Iterator[tuple[int, Any]]:
        shared = dict(shared or {})
        for i, task in enumerate(tasks):
            yield i, fn(task, **shared)

    def close(self) -> None:
        pass

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class DaskExecutor:
    """Tasks on a Dask distributed cluster, yielded as they finish (``retries`` per task)."""

    def __init__(self, address: str | None = None, *, n_workers: int | None = None, retries: int = 3) -> None:
        # a missing package raises ModuleNotFoundError: the CLI turns it into the install hint
        from distributed import Client, LocalCluster

        self.retries = int(retries)
        self.cluster = None
        if address is None:
            self.cluster = LocalCluster(n_workers=int(n_workers or 2), threads_per_worker=1, processes=True,
                                        host="127.0.0.1", dashboard_address="127.0.0.1:0")  # any free port
            self.client = Client(self.cluster)
            self.name = f"local:{int(n_workers or 2)}"
        else:
            self.client = Client(address)
            self.name = address
        from steerstats._jax_cache import active_cache_dir

        driver_cache = active_cache_dir()
        if driver_cache is not None:  # workers (and those that replace them) share the driver's compiled programs
            self.client.register_plugin(_jax_cache_plugin(driver_cache if address is None else None))

    def map(self, fn: Callable[..., Any], tasks: Sequence[Any], *, shared: Mapping[str, Any] | None = None,
            label: str = "task") -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        # hash=False: a key of its own per call (a content-hashed key released by the previous call
        # with the same data can be forgotten under this one: "lost dependencies")
        scattered = {k: self.client.scatter(v, broadcast=True, hash=False) for k, v in (shared or {}).items()}
        job = uuid.uuid4().hex[:12]  # keys unique per call: a finished call's keys are being cancelled
        futures = {self.client.submit(fn, task, key=f"{label}-{job}-{i}", pure=False, retries=self.retries,
                                      **scattered): i for i, task in enumerate(tasks)}
        try:
            for future in as_completed(futures):
                yield futures[future], future.result()
        finally:
            self.client.cancel(list(futures))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _jax_cache_plugin(path: str | None) -> Any:
    """Dask worker plugin: JAX's persistent compilation cache at ``path`` (None: the worker's own
    default location, for a remote cluster whose nodes cannot see the driver's disk). Set up on
    every worker, including those that replace a dead one."""
    from distributed import WorkerPlugin

    class JaxCachePlugin(WorkerPlugin):
        name = "steerstats-jax-cache"

        def setup(self, worker: Any) -> None:
            from steerstats._jax_cache import enable_on_worker

            enable_on_worker(path)

    return JaxCachePlugin()


def make_executor(spec: str | None = None) -> LocalExecutor | DaskExecutor:
    """The executor a scheduler spec names (module docstring); ``None`` reads ``$STEERSTATS_SCHEDULER``."""
    spec = spec if spec is not None else os.environ.get(ENV_VAR, "local")
    spec = spec.strip() or "local"
    if spec == "local":
        return LocalExecutor()
    if spec.startswith("local:"):
        n = spec.split(":", 1)[1]
        if not n.isdigit() or int(n) < 1:
            raise ConfigError(f"scheduler 'local:N' needs a positive number of workers, got {spec!r}")
        return DaskExecutor(n_workers=int(n))
    if spec.startswith(("tcp://", "tls://", "inproc://", "ws://", "wss://")):
        return DaskExecutor(spec)
    raise ConfigError(f"scheduler must be 'local', 'local:N' or a Dask address such as tcp://HOST:PORT, got {spec!r}")
