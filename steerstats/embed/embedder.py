"""`ClipEmbedder`: batched open_clip image and text embeddings with a cache and a parallel loader.

Images are read, hashed, looked up in the cache and (on a miss) decoded and preprocessed by a pool
of threads, two batches ahead of the model, so decoding overlaps the forward pass. Threads, not
processes: PIL and torch release the GIL for decoding, resizing and tensor maths, and forking a
process after JAX has started its threads can deadlock. Embeddings are L2-normalised by default
(CLIP's cosine geometry, Radford et al. 2021, sec. 2.3); the cache holds the raw model output.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from steerstats.embed.cache import VectorCache
from steerstats.embed.device import autocast, resolve_device, resolve_precision
from steerstats.embed.models import LoadedModel, load_model, register_model_config
from steerstats.embed.sources import ImageSource, UnreadableImage, load_image, text_key
from steerstats.errors import ConfigError, InputError

KINDS = ("image", "text")
_LOOKAHEAD_BATCHES = 2
BatchCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class EmbedResult:
    """Vectors aligned with the input items; failed items have NaN rows, ``ok`` False and an error."""

    vectors: np.ndarray
    ok: np.ndarray
    errors: list[str | None]
    n_cached: int
    n_computed: int
    n_corrupt_cache: int

    @property
    def n_failed(self) -> int:
        return int((~self.ok).sum())


def l2_normalize(vectors: np.ndarray) -> np.ndarray:
    """Rows divided by their Euclidean norm (NaN rows stay NaN; zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


def _default_workers() -> int:
    return max(1, min(16, os.cpu_count() or 1))


class _Run:
    """The state of one ``embed`` call: outputs filled batch by batch, counts, cache, progress."""

    def __init__(
        self,
        n: int,
        dim: int,
        batches: list[range],
        cache: VectorCache | None,
        on_batch: BatchCallback | None,
    ) -> None:
        self.vectors = np.full((n, dim), np.nan, dtype=np.float32)
        self.ok = np.zeros(n, dtype=bool)
        self.errors: list[str | None] = [None] * n
        self.batches = batches
        self.cache = cache
        self.on_batch = on_batch
        self.n_cached = 0
        self.n_computed = 0
        self.bar: Any = None

    def hit(self, row: int, vector: np.ndarray) -> None:
        self.vectors[row] = vector
        self.ok[row] = True
        self.n_cached += 1

    def store(self, rows: list[int], keys: list[str], raw: np.ndarray) -> None:
        self.vectors[rows] = raw
        self.ok[rows] = True
        self.n_computed += len(rows)
        if self.cache is not None:  # one transaction per batch: the unit of resumption
            self.cache.put_many(keys, raw)

    def batch_done(self, bi: int) -> None:
        self.bar.update(len(self.batches[bi]))
        if self.on_batch is not None:
            self.on_batch(bi, int(self.batches[bi].stop))


def _split_preprocess(preprocess: Any) -> tuple[Any, tuple[Any, Any] | None]:
    """Split open_clip's ``Compose([..PIL steps.., ToTensor, Normalize])`` at ``ToTensor``.

    Loader threads then ship uint8 pixels (a quarter of the bytes to copy and pin) and the
    device does ``x / 255``, ``(x - mean) / std``: the same float32 operations as ``ToTensor`` and
    ``Normalize``. Returns ``(None, None)`` for a pipeline of another shape (used whole).
    """
    from torchvision.transforms import Compose, Normalize, ToTensor

    steps = list(getattr(preprocess, "transforms", []))
    if len(steps) < 2 or not isinstance(steps[-2], ToTensor) or not isinstance(steps[-1], Normalize):
        return None, None
    norm = steps[-1]
    return Compose(steps[:-2]), (tuple(norm.mean), tuple(norm.std))


class BatchedEmbedder:
    """The batched, cached, resumable pipeline shared by every embedder of images (and texts).

    A subclass sets ``device``, ``batch_size``, ``num_workers`` and ``dim`` and implements
    :meth:`identity` (the cache namespace), ``_to_pixels`` (loader-thread preprocessing of one
    PIL image), ``_encode_pixels`` (a stacked batch -> (n, dim) float32) and, if it embeds texts,
    ``_encode_texts``.
    """

    kinds: tuple[str, ...] = KINDS
    device: torch.device
    batch_size: int
    num_workers: int
    dim: int

    def identity(self, kind: str) -> dict[str, Any]:
        raise NotImplementedError

    def _to_pixels(self, img: Any) -> torch.Tensor:
        raise NotImplementedError

    def _encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        raise NotImplementedError

    def _encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        raise ConfigError(f"{type(self).__name__} embeds images only")

    def open_cache(self, kind: str, root: str | Path) -> VectorCache:
        return VectorCache(root, self.identity(kind), self.dim)

    # -- the batched pipeline --------------------------------------------------------------
    def _prepare_image(
        self, source: ImageSource, root: Path | None, cache: VectorCache | None
    ) -> tuple[str, str | None, Any]:
        """("hit", key, vector) | ("miss", key, pixel tensor) | ("fail", None, message)."""
        try:
            key, loader = load_image(source, root)
            if cache is not None and (vec := cache.get(key)) is not None:
                return "hit", key, vec
            return "miss", key, self._to_pixels(loader())
        except UnreadableImage as err:
            return "fail", None, str(err)
        except (OSError, ValueError) as err:  # preprocessing of an odd image
            return "fail", None, f"cannot preprocess: {err}"

    def embed(
        self,
        kind: str,
        items: Sequence[Any],
        *,
        normalize: bool = True,
        cache: VectorCache | str | Path | None = None,
        root: str | Path | None = None,
        progress: bool = False,
        on_batch: BatchCallback | None = None,
    ) -> EmbedResult:
        """Embed ``items`` (image sources or texts) in batches; never stops on an unreadable image.

        ``cache``: an :class:`VectorCache` or its root directory; each batch is committed to it
        before ``on_batch(batch_index, n_done)`` runs, so an interrupted call resumes on re-run.
        ``root``: directory that relative image paths are taken from.
        """
        if kind not in self.kinds:
            raise ConfigError(f"{type(self).__name__}: kind must be one of {self.kinds}, got '{kind}'")
        items = list(items)  # positions, not labels (a pandas Series indexes by label)
        own_cache = cache is not None and not isinstance(cache, VectorCache)
        store = self.open_cache(kind, cache) if own_cache else cache
        try:
            return self._embed(kind, items, normalize, store, root, progress, on_batch)
        finally:
            if own_cache and store is not None:
                store.close()

    def _embed(
        self,
        kind: str,
        items: Sequence[Any],
        normalize: bool,
        cache: VectorCache | None,
        root: str | Path | None,
        progress: bool,
        on_batch: BatchCallback | None,
    ) -> EmbedResult:
        n = len(items)
        batches = [range(s, min(s + self.batch_size, n)) for s in range(0, n, self.batch_size)]
        run = _Run(n, self.dim, batches, cache, on_batch)
        corrupt_before = cache.n_corrupt if cache is not None else 0
        run.bar = tqdm(total=n, unit="img" if kind == "image" else "text", disable=not progress)
        try:
            if kind == "text":
                self._text_batches(run, items)
            else:
                self._image_batches(run, items, None if root is None else Path(root))
        finally:
            run.bar.close()
            if cache is not None:
                cache.close_readers()  # opened by loader threads that are gone now
        return EmbedResult(
            vectors=l2_normalize(run.vectors) if normalize else run.vectors,
            ok=run.ok,
            errors=run.errors,
            n_cached=run.n_cached,
            n_computed=run.n_computed,
            n_corrupt_cache=(cache.n_corrupt - corrupt_before) if cache is not None else 0,
        )

    def _text_batches(self, run: _Run, texts: Sequence[str]) -> None:
        for bi, batch in enumerate(run.batches):
            keys = {i: text_key(texts[i]) for i in batch}
            hits = run.cache.get_many(list(keys.values())) if run.cache is not None else {}
            miss = [i for i in batch if keys[i] not in hits]
            for i in batch:
                if keys[i] in hits:
                    run.hit(i, hits[keys[i]])
            if miss:
                run.store(miss, [keys[i] for i in miss], self._encode_texts([texts[i] for i in miss]))
            run.batch_done(bi)

    def _image_batches(self, run: _Run, sources: Sequence[ImageSource], root: Path | None) -> None:
        """Loader threads work ``_LOOKAHEAD_BATCHES`` batches ahead of the forward pass."""
        with ThreadPoolExecutor(self.num_workers, thread_name_prefix="embed-io") as pool:
            queue: deque[tuple[int, list[Future]]] = deque()

            def submit(bi: int) -> None:
                if bi < len(run.batches):
                    queue.append(
                        (bi, [pool.submit(self._prepare_image, sources[i], root, run.cache)
                              for i in run.batches[bi]])
                    )

            for bi in range(_LOOKAHEAD_BATCHES + 1):
                submit(bi)
            try:
                while queue:
                    bi, futures = queue.popleft()
                    submit(bi + _LOOKAHEAD_BATCHES + 1)
                    rows, keys, pixels = [], [], []
                    for i, fut in zip(run.batches[bi], futures, strict=True):
                        status, key, value = fut.result()
                        if status == "hit":
                            run.hit(i, value)
                        elif status == "miss":
                            rows.append(i)
                            keys.append(key)
                            pixels.append(value)
                        else:
                            run.errors[i] = value
                    if pixels:
                        run.store(rows, keys, self._encode_pixels(torch.stack(pixels)))
                    run.batch_done(bi)
            finally:
                for _, futures in queue:
                    for fut in futures:
                        fut.cancel()

    # -- convenience -----------------------------------------------------------------------
    def embed_texts(
        self,
        texts: Sequence[str],
        *,
        normalize: bool = True,
        cache: VectorCache | str | Path | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """(n, dim) float32 text embeddings, L2-normalised unless ``normalize=False``."""
        texts = list(texts)
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"text {i + 1} is {type(t).__name__}, not str")
        return self.embed("text", texts, normalize=normalize, cache=cache, progress=progress).vectors

    def embed_images(
        self,
        images: Sequence[ImageSource],
        *,
        normalize: bool = True,
        cache: VectorCache | str | Path | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """(n, dim) float32 image embeddings of paths, URLs or PIL images.

        Raises :class:`InputError` naming the first unreadable image; use :meth:`embed` to get
        the others embedded and the failures reported instead.
        """
        result = self.embed(
            "image", list(images), normalize=normalize, cache=cache, progress=progress
        )
        if result.n_failed:
            i = int(np.flatnonzero(~result.ok)[0])
            raise InputError(
                f"image {i + 1} of {len(images)} ({images[i]!r}): {result.errors[i]} "
                f"({result.n_failed} unreadable in all)"
            )
        return result.vectors


class ClipEmbedder(BatchedEmbedder):
    """An open_clip model ready to embed images and texts.

    ``model``: an open_clip config name (``open_clip.list_models()``), ``hf-hub:<repo>``, or any
    name when ``model_config`` (dict or JSON path) is given, which registers it first.
    ``weights``: checkpoint file, open_clip pretrained tag, or None (random init from ``seed``).
    ``device``: auto (cuda > mps > cpu), cpu, cuda, mps. ``precision``: auto (autocast bf16/fp16
    on CUDA, fp32 elsewhere), fp32, amp_bf16, amp_fp16.
    """

    def __init__(
        self,
        model: str = "ViT-B-32",
        weights: str | Path | None = None,
        *,
        device: str = "auto",
        precision: str = "auto",
        batch_size: int = 64,
        num_workers: int | None = None,
        seed: int = 0,
        model_config: dict[str, Any] | str | Path | None = None,
        hub_cache_dir: str | None = None,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(f"batch size must be >= 1, got {batch_size}")
        if model_config is not None:
            register_model_config(model, model_config)
        self.device = resolve_device(device)
        self.precision = resolve_precision(precision, self.device)
        self.batch_size = int(batch_size)
        self.num_workers = int(num_workers) if num_workers else _default_workers()
        self.loaded: LoadedModel = load_model(
            model, weights, device=self.device, seed=seed, cache_dir=hub_cache_dir
        )
        self._pil_stage, self._normalize = _split_preprocess(self.loaded.preprocess)
        self.dim = int(self._encode_texts([""]).shape[1])

    # -- identities ------------------------------------------------------------------------
    @property
    def model_name(self) -> str:
        return self.loaded.name

    @property
    def weights_identity(self) -> str:
        return self.loaded.weights_identity

    def identity(self, kind: str) -> dict[str, Any]:
        """Everything besides the item that determines its raw vector (the cache namespace)."""
        if kind not in KINDS:
            raise ConfigError(f"kind must be one of {KINDS}, got '{kind}'")
        out: dict[str, Any] = {
            "kind": kind,
            "model": self.loaded.name,
            "model_config_sha256": self.loaded.config_sha256,
            "weights": self.loaded.weights_identity,
            "precision": self.precision,
            "dim": self.dim,
        }
        if kind == "image":
            out["preprocess"] = self.loaded.preprocess_cfg
        else:
            tok = self.loaded.tokenizer
            out["tokenizer"] = {
                "class": type(tok).__name__,
                "context_length": getattr(tok, "context_length", None),
            }
        return out

    # -- raw forward passes ----------------------------------------------------------------
    def _to_pixels(self, img: Any) -> torch.Tensor:
        """Loader-thread half of the preprocessing: (H, W, 3) uint8, or the full float tensor."""
        if self._pil_stage is None:
            return self.loaded.preprocess(img)
        return torch.from_numpy(np.array(self._pil_stage(img), dtype=np.uint8))

    def _encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        if self.device.type == "cuda":
            pixels = pixels.pin_memory()
        with autocast(self.device, self.precision):
            x = pixels.to(self.device, non_blocking=True)
            if self._normalize is not None:  # the ToTensor + Normalize half, on the device
                mean, std = self._normalize
                x = x.permute(0, 3, 1, 2).float().div(255)
                x = x.sub(x.new_tensor(mean).view(-1, 1, 1)).div(x.new_tensor(std).view(-1, 1, 1))
            out = self.loaded.model.encode_image(x)
        return out.float().cpu().numpy()

    def _encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        tokens = self.loaded.tokenizer(list(texts))
        with autocast(self.device, self.precision):
            out = self.loaded.model.encode_text(tokens.to(self.device))
        return out.float().cpu().numpy()
