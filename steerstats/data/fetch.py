"""Download a dataset's files from the raw URLs on its card, verifying every sha256.

Each file is streamed into a temporary sibling while it is hashed, and moved to its final name only
when the sha256 matches the card's, so a partial or corrupt download never appears under its final
name (memory stays at one chunk). A total time limit per file stops a server that trickles bytes;
a card path that would leave the target directory is refused. Re-running resumes: files already
present with the right hash are skipped; a file with the wrong hash is downloaded again.
"""

from __future__ import annotations

import hashlib
import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from steerstats._io import atomic_file, sha256_file
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
    total_timeout: float | None = None,
    progress: bool = True,
) -> list[FetchResult]:
    """Download every file of dataset ``name`` into ``to`` (default: the user cache dir).

    ``timeout`` bounds each network wait; ``total_timeout`` (default ``30 * timeout``) bounds the
    whole download of one file, so a server that trickles bytes cannot hold the run. Raises
    :class:`FetchError` on the first failure (no retries: an offline machine fails fast).
    """
    from tqdm.auto import tqdm

    card = load_card(name)
    root = Path(to).expanduser() if to is not None else default_cache_dir(card.name)
    if root.exists() and not root.is_dir():
        raise FetchError(f"--out {root} is a file; give a directory")
    if timeout <= 0 or (total_timeout is not None and total_timeout <= 0):
        raise FetchError("timeouts must be positive")
    limit = 30 * timeout if total_timeout is None else total_timeout
    results: list[FetchResult] = []
    todo: list[tuple[FileSpec, bool]] = []
    for spec in card.files:
        target = _target(root, spec)
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
            target = _target(root, spec)
            size = _download(file_url(card, spec, base_url), spec, target, timeout, limit, bar)
            results.append(FetchResult(target, "replaced" if existed else "downloaded", size))
    return results


def _target(root: Path, spec: FileSpec) -> Path:
    """``root / spec.path``, refused if the card's path would leave ``root``."""
    rel = Path(spec.path)
    target = (root / rel).resolve()
    if rel.is_absolute() or ".." in rel.parts or not target.is_relative_to(root.resolve()):
        raise FetchError(f"card path {spec.path!r} leaves the target directory {root}; refused")
    return root / rel


def _download(url: str, spec: FileSpec, target: Path, timeout: float, limit: float, bar) -> int:
    """Stream ``url`` into a temporary sibling of ``target`` while hashing it; it takes the final
    name only when the sha256 matches (:func:`steerstats._io.atomic_file`). Returns the bytes."""
    h, size, deadline = hashlib.sha256(), 0, time.monotonic() + limit
    cap = 2 * spec.bytes + (1 << 20) if spec.bytes else None
    with atomic_file(target) as f:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as resp:
                while block := resp.read1(CHUNK):
                    h.update(block)
                    f.write(block)
                    size += len(block)
                    bar.update(len(block))
                    if time.monotonic() > deadline:
                        raise FetchError(f"cannot download {url}: not finished within {limit:g} s; file not written")
                    if cap is not None and size > cap:
                        raise FetchError(f"{url}: more than {cap} bytes for a {spec.bytes}-byte file; file not written")
        except urllib.error.HTTPError as err:
            raise FetchError(f"cannot download {url}: HTTP {err.code} {err.reason}") from None
        except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as err:
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
    return size
