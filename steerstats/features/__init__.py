"""Features of a steering attempt: model identity, prompt and goal embeddings (cached text embedders)."""

from steerstats.features.cache import CacheStats, EmbeddingCache, embed_texts
from steerstats.features.design import BLOCKS, Design, FeatureBuilder, as_keyed
from steerstats.features.embedders import (
    EMBEDDERS,
    ClipTextEmbedder,
    MiniLMEmbedder,
    TextEmbedder,
    TfidfEmbedder,
    make_embedder,
    text_hash,
)

__all__ = [
    "BLOCKS",
    "EMBEDDERS",
    "CacheStats",
    "ClipTextEmbedder",
    "Design",
    "EmbeddingCache",
    "FeatureBuilder",
    "MiniLMEmbedder",
    "TextEmbedder",
    "TfidfEmbedder",
    "as_keyed",
    "embed_texts",
    "make_embedder",
    "text_hash",
]
