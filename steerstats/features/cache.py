"""On-disk embedding cache keyed by (embedder identity, text hash).

One ``.npz`` file per embedder identity holds the text hashes and their vectors. A lookup embeds
only the texts not yet stored, then rewrites the file atomically. A changed identity (another model,
or a TF-IDF fitted on other texts) is a different file, so stale vectors are never served; a file
that cannot be read is treated as empty and rewritten.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from steerstats._io import atomic_write_bytes
from steerstats.features.embedders import TextEmbedder, text_hash


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0


class EmbeddingCache:
    """Embed texts through ``embedder``, reusing vectors stored under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.stats = CacheStats()

    def path_for(self, identity: str) -> Path:
        key = hashlib.sha256(identity.encode("utf-8")).hexdigest()[:24]
        return self.root / f"{key}.npz"

    def _load(self, path: Path) -> dict[str, np.ndarray]:
        if not path.is_file():
            return {}
        try:
            with np.load(path, allow_pickle=False) as data:
                return dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
        except (OSError, ValueError, KeyError):
            return {}

    def embed(self, embedder: TextEmbedder, texts: Sequence[str]) -> np.ndarray:
        """(n, d) vectors of ``texts``; computes and stores only the missing ones."""
        path = self.path_for(embedder.identity)
        stored = self._load(path)
        hashes = [text_hash(t) for t in texts]
        missing: dict[str, str] = {}
        for h, t in zip(hashes, texts, strict=True):
            if h not in stored and h not in missing:
                missing[h] = t
        n_missing = sum(h in missing for h in hashes)
        self.stats.misses += n_missing
        self.stats.hits += len(hashes) - n_missing
        if missing:
            vectors = embedder.transform(list(missing.values()))
            stored.update(zip(missing.keys(), np.asarray(vectors, dtype=np.float64), strict=True))
            buf = io.BytesIO()
            keys = np.array(list(stored.keys()))
            np.savez(buf, keys=keys, vectors=np.stack([stored[k] for k in keys]))
            atomic_write_bytes(path, buf.getvalue())
        if not hashes:
            return np.zeros((0, 0))
        return np.stack([stored[h] for h in hashes])

    def clear(self) -> None:
        """Remove every stored vector."""
        for path in self.root.glob("*.npz"):
            path.unlink()


def embed_texts(
    embedder: TextEmbedder, texts: Sequence[str], cache: EmbeddingCache | None = None
) -> np.ndarray:
    """Embed ``texts`` (deduplicated) with or without a cache."""
    if cache is not None:
        return cache.embed(embedder, texts)
    unique, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    return np.asarray(embedder.transform(list(unique)), dtype=np.float64)[inverse]


def fit_and_embed(name: str, texts: Sequence[str], *, seed: int = 0, cache_dir: str | Path | None = None) -> np.ndarray:
    """Embed ``texts`` with the embedder called ``name``, fitted on their distinct values (TF-IDF
    needs that; pretrained ones ignore it), through the cache in ``cache_dir`` if given."""
    from steerstats.features.embedders import make_embedder

    embedder = make_embedder(name, seed=seed)
    embedder.fit(sorted(set(texts)))
    return embed_texts(embedder, list(texts), EmbeddingCache(cache_dir) if cache_dir else None)
