"""Items to embed: image sources (local path, http(s) URL, in-memory PIL image) and texts.

Each item gets a content hash (the cache key) computed from what is actually embedded: the bytes
of an image file, the pixels of an in-memory image, the UTF-8 text. A renamed file therefore hits
the cache; an edited one does not.
"""

from __future__ import annotations

import hashlib
import io
import os
import urllib.request
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

URL_TIMEOUT_S = 20.0
ImageSource = str | os.PathLike | Image.Image


class UnreadableImage(Exception):
    """An image that could not be fetched or decoded; the message says why."""


def text_key(text: str) -> str:
    return hashlib.sha256(b"text\0" + text.encode("utf-8")).hexdigest()


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def read_image_bytes(source: str | os.PathLike, root: Path | None = None) -> bytes:
    """Bytes of a local file (relative paths are taken from ``root``) or an http(s) URL."""
    text = os.fspath(source)
    try:
        if _is_url(text):
            request = urllib.request.Request(text, headers={"User-Agent": "steerstats"})
            with urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response:
                return response.read()
        path = Path(text)
        if root is not None and not path.is_absolute():
            path = root / path
        return path.read_bytes()
    except (OSError, ValueError) as err:  # URLError and HTTPError are OSErrors
        raise UnreadableImage(f"cannot read: {err}") from err


def decode_image(data: bytes) -> Image.Image:
    """Fully decoded RGB image; truncated or non-image bytes raise :class:`UnreadableImage`."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return img.convert("RGB")
    except UnidentifiedImageError as err:
        raise UnreadableImage("cannot decode: not an image format PIL recognises") from err
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise UnreadableImage(f"cannot decode: {err}") from err


def image_key_from_bytes(data: bytes) -> str:
    return hashlib.sha256(b"image-file\0" + data).hexdigest()


def image_key_from_pil(img: Image.Image) -> str:
    h = hashlib.sha256(b"image-pixels\0")
    h.update(f"{img.mode}:{img.size[0]}x{img.size[1]}\0".encode())
    h.update(img.tobytes())
    return h.hexdigest()


def load_image(source: ImageSource, root: Path | None = None) -> tuple[str, Any]:
    """``(content key, loader)`` where ``loader()`` returns the decoded RGB image."""
    if isinstance(source, Image.Image):
        return image_key_from_pil(source), lambda: source.convert("RGB")
    data = read_image_bytes(source, root)
    return image_key_from_bytes(data), lambda: decode_image(data)
