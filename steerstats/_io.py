"""Atomic file and directory output, and content hashes.

Everything steerstats writes goes through these helpers so that an interrupted or failed run never
leaves a half-written file or output directory behind.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from steerstats.errors import DataNotFoundError, InputError, SteerstatsError


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary sibling and ``os.replace``."""
    path = Path(path)
    with atomic_file(path) as f:
        f.write(data)
    return path


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file written in a temporary sibling and moved to ``path`` only if the block
    succeeds (flushed to disk first; mode from the umask); on any exception nothing appears."""
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"{path} is a directory; give a file path")
    path.parent.mkdir(parents=True, exist_ok=True)
    stem = _short(path.name, 1 + 1 + 8 + 4)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode())  # mkstemp makes 0600; outputs follow the umask
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def read_jsonl(path: str | Path) -> list[Any]:
    """Records of an append-only JSON-lines log. A torn last line (a writer killed mid-append) is
    cut off the file, so the caller recomputes it; any other unreadable line is an
    :class:`~steerstats.errors.InputError` naming the file and line."""
    path = Path(path)
    if not path.is_file():
        return []
    raw = path.read_bytes()
    records, offset, good_end = [], 0, 0
    lines = raw.split(b"\n")
    for i, line in enumerate(lines):
        end = offset + len(line) + 1  # past this line's newline
        if line.strip():
            try:
                records.append(json.loads(line.decode("utf-8")))
            except (UnicodeDecodeError, json.JSONDecodeError):
                if i != len(lines) - 1:  # only the unterminated last line can be torn
                    raise InputError("unreadable record in an append-only results log (edited by hand?)",
                                     file=path, row=i + 1) from None
                break
        good_end = min(end, len(raw))
        offset = end
    if good_end < len(raw):
        with open(path, "r+b") as f:
            f.truncate(good_end)
    elif raw and not raw.endswith(b"\n"):  # a complete last record whose newline was not written
        with open(path, "ab") as f:
            f.write(b"\n")
    return records


def append_jsonl(path: str | Path, record: Any) -> None:
    """Append one JSON line in a single ``write``, flushed to disk (see :func:`read_jsonl`)."""
    line = (json.dumps(record, sort_keys=True, default=float) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def _umask() -> int:
    """The process umask, read without changing it where /proc allows."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def load_array(path: str | Path, what: str = "array") -> Any:
    """A numeric ``.npy`` array; never unpickles (object arrays, pickles and garbage are an
    :class:`~steerstats.errors.InputError` naming the file)."""
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"{what} file not found: {path}")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise InputError(f"not a numeric .npy {what} ({' '.join(str(err).split())[:120]})", file=path) from None
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
        raise InputError(f"not a numeric .npy {what} (dtype {getattr(array, 'dtype', type(array).__name__)})", file=path)
    return array


def file_mode() -> int:
    """Mode of a new regular file under the process umask (0o666 & ~umask)."""
    return 0o666 & ~_umask()


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> Path:
    return atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


#: file in every output directory steerstats writes: which command wrote it
OUTPUT_MARKER = ".steerstats-output.json"
#: file in a temporary directory while it is being built: the writer's pid
PARTIAL_MARKER = ".steerstats-partial"
_TMP_SUFFIX = ".sstmp"
_NAME_MAX = 255


class OutputError(SteerstatsError):
    """An output path that steerstats must not write to (it would destroy data it did not create)."""


def output_command(path: str | Path) -> str | None:
    """The command recorded in a steerstats output directory's marker (None if there is none)."""
    marker = Path(path) / OUTPUT_MARKER
    try:
        return str(json.loads(marker.read_text(encoding="utf-8"))["command"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def check_output_dir(
    path: str | Path,
    command: str,
    *,
    inputs: Iterable[str | Path | None] = (),
    force: bool = False,
) -> Path:
    """Refuse an output directory that writing ``command``'s results there would destroy.

    Allowed: a new path, an empty directory, or a previous output of the same ``command`` (it
    carries :data:`OUTPUT_MARKER`); ``force`` also allows a previous output of another steerstats
    command. Never allowed: a file, a non-empty directory steerstats did not write, or a directory
    that is or contains one of ``inputs``.
    """
    path = Path(path)
    target = path.resolve()
    for item in inputs:
        if item is None:
            continue
        src = Path(item).resolve()
        if src == target or target in src.parents:
            raise OutputError(f"--out {path} contains the input {item}; choose another output directory")
    if path.is_symlink() and not path.is_dir():
        raise OutputError(f"--out {path} is a symbolic link, not a directory")
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {path} is a file; give a directory path")
    if path.is_dir() and any(True for _ in path.iterdir()):
        previous = output_command(path)
        if previous is None:
            raise OutputError(
                f"--out {path} is a non-empty directory that steerstats did not write; "
                "choose a new or empty directory"
            )
        if previous != command and not force:
            raise OutputError(
                f"--out {path} holds the output of 'steerstats {previous}', not of '{command}'; "
                "pass --force to replace it"
            )
    return path


def _short(name: str, reserve: int) -> str:
    """``name`` cut so that a sibling adding ``reserve`` characters stays within NAME_MAX bytes."""
    room = _NAME_MAX - reserve
    raw = name.encode("utf-8")
    if len(raw) <= room:
        return name
    return raw[: room - 9].decode("utf-8", "ignore") + "-" + hashlib.sha256(raw).hexdigest()[:8]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_partials(parent: str | Path, name: str) -> list[Path]:
    """Remove temporary siblings of ``parent/name`` left by killed runs (their writer is gone)."""
    parent, removed = Path(parent), []
    stem = _short(name, 1 + 1 + 8 + len(_TMP_SUFFIX))
    if not parent.is_dir():
        return removed
    for entry in parent.glob(f".{glob.escape(stem)}.*{_TMP_SUFFIX}"):
        marker = entry / PARTIAL_MARKER
        try:
            pid = int(marker.read_text().strip())
        except (OSError, ValueError):
            continue  # not ours: leave it
        if not _alive(pid) or pid == os.getpid():
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


@contextlib.contextmanager
def atomic_directory(
    path: str | Path,
    *,
    command: str,
    inputs: Iterable[str | Path | None] = (),
    force: bool = False,
) -> Iterator[Path]:
    """Build an output directory in a temporary sibling; move it into place only if the block
    succeeds, replacing a previous output of ``command`` (see :func:`check_output_dir`).

    The directory carries :data:`OUTPUT_MARKER`; the temporary sibling carries the writer's pid
    so that the next run removes it if the writer was killed. On any exception the temporary
    directory is removed and ``path`` is left as it was.
    """
    path = Path(path)
    check_output_dir(path, command, inputs=inputs, force=force)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(path.parent, path.name)
    stem = _short(path.name, 1 + 1 + 8 + len(_TMP_SUFFIX))
    tmp = path.parent / f".{stem}.{secrets.token_hex(4)}{_TMP_SUFFIX}"
    try:  # from mkdir on: a signal at any point (SIGTERM raises in the main thread) removes tmp
        tmp.mkdir(mode=0o777)
        (tmp / PARTIAL_MARKER).write_text(f"{os.getpid()}\n")
        yield tmp
        (tmp / PARTIAL_MARKER).unlink()
        (tmp / OUTPUT_MARKER).write_text(json.dumps({"command": command}) + "\n")
        check_output_dir(path, command, force=force)  # nothing appeared there meanwhile
        if path.exists():
            old = path.parent / f".{stem}.{secrets.token_hex(4)}.old"
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def mark_output_dir(path: str | Path, command: str) -> Path:
    """Make ``path`` a resumable output directory of ``command`` (checked, then marked)."""
    path = check_output_dir(path, command)
    path.mkdir(parents=True, exist_ok=True)
    if output_command(path) is None:
        atomic_write_json(path / OUTPUT_MARKER, {"command": command})
    return path
