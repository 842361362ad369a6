"""Content-addressed embedding cache: one SQLite file per (model, weights, preprocessing) namespace.

Key of an item: sha256 of its content (image file bytes, decoded pixels of an in-memory image, or
the UTF-8 text). Namespace: sha256 of everything else that changes the vector (model config,
weights identity, preprocessing or tokenizer, precision, kind). Stored value: the raw float32
model output (before L2 normalisation, so normalised and raw outputs share entries) and a BLAKE2b
checksum of key and bytes, verified on every read; a mismatch counts as a miss and is recomputed.

Why SQLite and not files: millions of items would be millions of files (slow to list, inode-hungry
on shared file systems), while per-batch shards need an index of their own. SQLite gives one file,
B-tree lookups by key, and one transaction per batch, so a run killed mid-batch loses that batch
only and the next run resumes from the last commit. WAL mode lets the loader threads read while
the main thread writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from steerstats._io import atomic_write_json

CACHE_FORMAT = 1


def namespace_key(identity: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of what determines a vector besides the item itself."""
    payload = json.dumps({"format": CACHE_FORMAT, **identity}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()


def _checksum(key: str, blob: bytes) -> bytes:
    return hashlib.blake2b(key.encode() + blob, digest_size=16).digest()


class VectorCache:
    """Float32 vectors of one dimension, by item key, in ``root/<namespace>.sqlite`` (the image
    embedding extractor's resumable store; texts of the predictors: :class:`steerstats.features.EmbeddingCache`)."""

    def __init__(self, root: str | Path, identity: dict[str, Any], dim: int) -> None:
        self.root = Path(root)
        self.identity = identity
        self.namespace = namespace_key(identity)
        self.dim = int(dim)
        self.path = self.root / f"{self.namespace}.sqlite"
        self.n_corrupt = 0
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)
        self._open_or_reset()
        describe = self.root / f"{self.namespace}.json"
        if not describe.exists():  # human-readable record of the namespace; not read back
            atomic_write_json(describe, identity)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        with self._lock:
            self._connections.append(conn)
        return conn

    def _open_or_reset(self) -> None:
        try:
            conn = self._connect()
            conn.execute(
                "CREATE TABLE IF NOT EXISTS vectors "
                "(key TEXT PRIMARY KEY, vec BLOB NOT NULL, checksum BLOB NOT NULL) WITHOUT ROWID"
            )
            conn.execute("SELECT count(*) FROM (SELECT key FROM vectors LIMIT 1)").fetchone()
            conn.commit()
        except sqlite3.DatabaseError as err:
            # An unreadable file (truncated, overwritten) is a cache, not data: set it aside.
            self.close()
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            self.path.replace(aside)
            warnings.warn(
                f"embedding cache {self.path} unreadable ({err}); moved to {aside.name}",
                stacklevel=3,
            )
            conn = self._connect()
            conn.execute(
                "CREATE TABLE vectors "
                "(key TEXT PRIMARY KEY, vec BLOB NOT NULL, checksum BLOB NOT NULL) WITHOUT ROWID"
            )
            conn.commit()
        self._writer = conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
            with self._lock:
                self._readers.append(conn)
        return conn

    def close_readers(self) -> None:
        """Close the per-thread read connections (call when a loader pool has finished)."""
        with self._lock:
            readers, self._readers = self._readers, []
            self._connections = [c for c in self._connections if all(c is not r for r in readers)]
        for conn in readers:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def _decode(self, key: str, blob: bytes, checksum: bytes) -> np.ndarray | None:
        if len(blob) != 4 * self.dim or _checksum(key, blob) != checksum:
            with self._lock:
                self.n_corrupt += 1
            return None
        return np.frombuffer(blob, dtype=np.float32).copy()

    def get(self, key: str) -> np.ndarray | None:
        """The verified vector of ``key``, or None (absent or failing its checksum). Thread-safe."""
        row = (
            self._reader()
            .execute("SELECT vec, checksum FROM vectors WHERE key = ?", (key,))
            .fetchone()
        )
        return None if row is None else self._decode(key, row[0], row[1])

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """Verified vectors of those ``keys`` that are present."""
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            part = unique[start : start + 500]
            marks = ",".join("?" * len(part))
            rows = (
                self._reader()
                .execute(f"SELECT key, vec, checksum FROM vectors WHERE key IN ({marks})", part)
                .fetchall()
            )
            for key, blob, checksum in rows:
                vec = self._decode(key, blob, checksum)
                if vec is not None:
                    found[key] = vec
        return found

    def put_many(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        """Store rows of ``vectors`` under ``keys`` in one transaction (overwriting)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.shape != (len(keys), self.dim):
            raise ValueError(f"expected ({len(keys)}, {self.dim}) vectors, got {vectors.shape}")
        rows = []
        for key, vec in zip(keys, vectors, strict=True):
            blob = vec.tobytes()
            rows.append((key, blob, _checksum(key, blob)))
        with self._writer:
            self._writer.executemany(
                "INSERT OR REPLACE INTO vectors (key, vec, checksum) VALUES (?, ?, ?)", rows
            )

    def __len__(self) -> int:
        return int(self._writer.execute("SELECT count(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            connections, self._connections, self._readers = self._connections, [], []
        for conn in connections:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
        self._local = threading.local()

    def __enter__(self) -> VectorCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
