"""Embedding extraction sharded across the workers of an executor (:mod:`steerstats._executor`).

The unique items of a table are cut into shards by hash: texts by their content hash (the cache
key), images by the hash of their source name (reading every image on the driver to hash its bytes
would move all the I/O back to it; duplicates across names still share one cache entry, since each
worker keys the cache by content). Each shard is one pure task on a worker: build the embedder once
per worker process (from the driver's builder), embed the shard through the shared
content-addressed cache (each batch is one SQLite transaction, so workers write side by side and a
lost task's finished batches are cache hits when it is retried) and return the raw vectors with
their status. Only the driver assembles the table and writes files.

One GPU per worker: when a worker sees several CUDA devices and has an integer name (a
``LocalCluster`` or ``dask-cuda`` worker), it pins device ``name % count`` before building.

The cache directory must be on a file system with working POSIX locks that every worker can reach
(local disk for ``local:N``; one cache per node otherwise, not NFS).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from steerstats.embed.embedder import BatchedEmbedder, EmbedResult, l2_normalize
from steerstats.embed.sources import text_key
from steerstats.errors import InputError

#: unique items per shard (a few batches of the default 64: enough work to hide a task's ~0.5 s overhead)
SHARD_SIZE = 512

# the embedder built on this worker process, by the token of the job that built it
_WORKER_EMBEDDER: dict[str, BatchedEmbedder] = {}


def shard_key(kind: str, item: Any) -> str:
    """The hash that places an item in a shard: its content hash for texts, its name's for images."""
    if kind == "text":
        return text_key(item)
    return hashlib.sha256(b"source\0" + os.fspath(item).encode("utf-8", "surrogatepass")).hexdigest()


def make_shards(kind: str, items: Sequence[Any], shard_size: int = SHARD_SIZE) -> tuple[list[list[int]], np.ndarray]:
    """(shards of unique-item indices, row -> unique-item index): unique items in first-seen order,
    each in shard ``int(hash) mod n_shards`` with n_shards = ceil(unique / shard_size)."""
    if shard_size < 1:
        raise InputError(f"shard size must be at least 1, got {shard_size}")
    keys = [shard_key(kind, item) for item in items]
    first: dict[str, int] = {}
    inverse = np.array([first.setdefault(k, len(first)) for k in keys], dtype=np.int64)
    unique_keys = list(first)
    n_shards = max(1, -(-len(unique_keys) // shard_size))
    shards: list[list[int]] = [[] for _ in range(n_shards)]
    for u, key in enumerate(unique_keys):
        shards[int(key[:16], 16) % n_shards].append(u)
    return [s for s in shards if s], inverse


def pin_worker_gpu() -> int | None:
    """On a Dask worker with an integer name that sees several CUDA devices, make device
    ``name % count`` current (so "cuda" means that one); returns its index, else None."""
    try:
        import torch
        from distributed import get_worker

        name = get_worker().name
    except (ImportError, ValueError):  # not on a worker
        return None
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count < 2 or not str(name).lstrip("-").isdigit():
        return None
    index = int(name) % count
    torch.cuda.set_device(index)
    return index


def describe_embedder(embedder: BatchedEmbedder, kind: str) -> dict[str, Any]:
    """What the table's metadata records of the embedder that made its vectors."""
    return {
        "model": getattr(embedder, "model_name", type(embedder).__name__),
        "model_config": getattr(getattr(embedder, "loaded", None), "config", None),
        "weights": getattr(embedder, "weights_identity", None),
        "precision": getattr(embedder, "precision", None),
        "device": embedder.device.type,
        "dim": int(embedder.dim),
        "identity": embedder.identity(kind),
    }


def embed_shard(
    shard: tuple[int, list[Any]],
    *,
    build: Callable[[], BatchedEmbedder],
    token: str,
    kind: str,
    cache_dir: str | None,
    root: str | None,
) -> dict[str, Any]:
    """One task: embed the items of a shard (raw vectors, no normalisation) on this worker."""
    index, items = shard
    embedder = _WORKER_EMBEDDER.get(token)
    if embedder is None:
        _WORKER_EMBEDDER.clear()  # one model per worker: free the last job's
        gpu = pin_worker_gpu()
        embedder = _WORKER_EMBEDDER[token] = build()
    else:
        gpu = None
    result = embedder.embed(kind, items, normalize=False, cache=cache_dir, root=root)
    return {"shard": index, "vectors": result.vectors, "ok": result.ok, "errors": result.errors,
            "n_cached": result.n_cached, "n_computed": result.n_computed, "n_corrupt": result.n_corrupt_cache,
            "embedder": describe_embedder(embedder, kind), "gpu": gpu, "pid": os.getpid()}


def embed_sharded(
    kind: str,
    items: Sequence[Any],
    *,
    build: Callable[[], BatchedEmbedder],
    executor: Any,
    normalize: bool = True,
    cache_dir: str | Path | None = None,
    root: str | Path | None = None,
    shard_size: int | None = None,
    progress: bool = False,
) -> tuple[EmbedResult, dict[str, Any], int]:
    """Embed ``items`` with shards run by ``executor``; returns the result aligned with ``items``
    (as :meth:`BatchedEmbedder.embed` would give it; the cached / computed counts are over unique
    items), the description of the embedder the workers used (they must agree: same model,
    weights and preprocessing everywhere) and the number of worker processes that ran shards.
    ``shard_size``: unique items per shard (default :data:`SHARD_SIZE`)."""
    from tqdm.auto import tqdm

    items = list(items)
    shards, inverse = make_shards(kind, items, SHARD_SIZE if shard_size is None else shard_size)
    unique: dict[int, Any] = {}
    for row, u in enumerate(inverse):
        unique.setdefault(int(u), items[row])
    tasks = [(i, [unique[u] for u in shard]) for i, shard in enumerate(shards)]
    token = uuid.uuid4().hex  # names this job's embedder in the workers' memory
    shared = {"build": build, "token": token, "kind": kind,  # absolute paths: workers may run elsewhere
              "cache_dir": None if cache_dir is None else str(Path(cache_dir).resolve()),
              "root": None if root is None else str(Path(root).resolve())}
    n_unique = len(unique)
    dim: int | None = None
    vectors: np.ndarray | None = None
    ok = np.zeros(n_unique, dtype=bool)
    errors: list[str | None] = [None] * n_unique
    counts = {"n_cached": 0, "n_computed": 0, "n_corrupt": 0}
    described: dict[str, Any] | None = None
    workers: set[int] = set()
    bar = tqdm(total=n_unique, unit="img" if kind == "image" else "text", desc=f"embed ({executor.name})",
               disable=not progress)
    for _, part in executor.map(embed_shard, tasks, shared=shared, label="embed"):
        if described is None:
            described = part["embedder"]
            dim = described["dim"]
            vectors = np.full((n_unique, dim), np.nan, dtype=np.float32)
        elif part["embedder"]["identity"] != described["identity"]:
            raise InputError("workers embedded with different models, weights or preprocessing: "
                             f"{described['identity']} vs {part['embedder']['identity']}")
        rows = shards[part["shard"]]
        vectors[rows] = part["vectors"]
        ok[rows] = part["ok"]
        for u, err in zip(rows, part["errors"], strict=True):
            errors[u] = err
        for k in counts:
            counts[k] += int(part[k])
        workers.add(part["pid"])
        bar.update(len(rows))
    bar.close()
    if vectors is None:  # no items
        raise InputError("nothing to embed")
    out = vectors[inverse]
    result = EmbedResult(
        vectors=l2_normalize(out) if normalize else out, ok=ok[inverse], errors=[errors[u] for u in inverse],
        n_cached=counts["n_cached"], n_computed=counts["n_computed"], n_corrupt_cache=counts["n_corrupt"],
    )
    return result, described, len(workers)
