"""Download a dataset's files from the raw URLs on its card, verifying every sha256.

Each file is downloaded into memory (the largest release file is under 3 MB), checked against the
card's sha256 and only then written atomically (:func:`steerstats._io.atomic_write_bytes`), so a
partial or corrupt download never appears under its final name. Re-running resumes: files already
present with the right hash are skipped; a file with the wrong hash is downloaded again.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from steerstats._io import atomic_write_bytes, sha256_file
from steerstats.data.card import DatasetCard, FileSpec, load_card
from steerstats.data.location import default_cache_dir
from steerstats.errors import SteerstatsError

CHUNK = 1 << 16


class FetchError(SteerstatsError):
    """A download failed (offline, HTTP error, or content whose sha256 is not the card's)."""


@dataclass(frozen=True)
class FetchResult:
    path: Path
    status: str  # "present" (right hash already there), "downloaded", "replaced" (had a wrong hash)
    bytes: int


def file_url(card: DatasetCard, spec: FileSpec, base_url: str | None = None) -> str:
    """The URL of ``spec``: ``base_url`` (default: the card's) joined with its remote path."""
    if base_url is None:
        return spec.url or card.base_url + spec.remote_path
    return base_url.rstrip("/") + "/" + spec.remote_path


def fetch_dataset(
    name: str = "vafa2025",
    to: str | Path | None = None,
    *,
    base_url: str | None = None,
    timeout: float = 10.0,
    progress: bool = True,
) -> list[FetchResult]:
    """Download every file of dataset ``name`` into ``to`` (default: the user cache dir).

    Raises :class:`FetchError` on the first failure (no retries: an offline machine fails fast).
    """
    from tqdm.auto import tqdm

    card = load_card(name)
    root = Path(to).expanduser() if to is not None else default_cache_dir(card.name)
    results: list[FetchResult] = []
    todo: list[tuple[FileSpec, bool]] = []
    for spec in card.files:
        target = root / spec.path
        if target.is_file():
            if sha256_file(target) == spec.sha256:
                results.append(FetchResult(target, "present", target.stat().st_size))
                continue
            todo.append((spec, True))
        else:
            todo.append((spec, False))
    total = sum(spec.bytes or 0 for spec, _ in todo) or None
    with tqdm(total=total, unit="B", unit_scale=True, desc=f"fetch {card.name}", disable=not progress or not todo) as bar:
        for spec, existed in todo:
            data = _download(file_url(card, spec, base_url), spec, timeout, bar)
            atomic_write_bytes(root / spec.path, data)
            results.append(FetchResult(root / spec.path, "replaced" if existed else "downloaded", len(data)))
    return results


def _download(url: str, spec: FileSpec, timeout: float, bar) -> bytes:
    h = hashlib.sha256()
    parts: list[bytes] = []
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            while block := resp.read(CHUNK):
                h.update(block)
                parts.append(block)
                bar.update(len(block))
    except urllib.error.HTTPError as err:
        raise FetchError(f"cannot download {url}: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise FetchError(
            f"cannot download {url}: {reason} (offline? pass --base-url for a mirror, "
            "or copy the files and use --data-dir)"
        ) from None
    digest = h.hexdigest()
    if digest != spec.sha256:
        raise FetchError(
            f"{url}: sha256 {digest} does not match the card's {spec.sha256} for {spec.path}; "
            "file not written"
        )
    return b"".join(parts)
