"""JAX's persistent compilation cache for command-line runs and cluster workers.

A budget sweep compiles one training program per (training size, heads) shape, 1.4-3.7 s each; with
the cache on, a rerun, a resumed sweep or another worker loads it from disk instead. Where it lives:
``$STEERSTATS_JAX_CACHE`` (``off`` disables it), else JAX's own setting
(``JAX_COMPILATION_CACHE_DIR`` / ``jax.config``) when the user made one, else
``<user cache dir>/steerstats/jax``. Programs that compile in under
:data:`MIN_COMPILE_SECONDS` are not written (JAX's threshold; the cache is for the expensive ones).

Only the cache location travels to workers: each worker keeps its own JAX devices and platform
(a GPU worker trains on its GPU whatever the driver has), since tasks are pure functions whose
results do not depend on the device beyond float rounding.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ENV_VAR = "STEERSTATS_JAX_CACHE"
MIN_COMPILE_SECONDS = 0.1


def compilation_cache_dir() -> Path | None:
    """Where the cache is (module docstring); None when ``$STEERSTATS_JAX_CACHE`` is ``off``."""
    value = os.environ.get(ENV_VAR, "").strip()
    if value.lower() in ("off", "0", "none", "false"):
        return None
    if value:
        return Path(value).expanduser()
    own = active_cache_dir() or os.environ.get("JAX_COMPILATION_CACHE_DIR")
    if own:
        return Path(own)
    import platformdirs

    return Path(platformdirs.user_cache_dir("steerstats")) / "jax"


def active_cache_dir() -> str | None:
    """The cache directory this process's JAX uses now (None: off, or JAX not imported)."""
    jax = sys.modules.get("jax")
    return (jax.config.jax_compilation_cache_dir or None) if jax is not None else None


def enable_compilation_cache(path: str | Path | None = None) -> str | None:
    """Turn the persistent cache on at ``path`` (default: :func:`compilation_cache_dir`); returns
    the directory, or None when disabled. Safe to call more than once and from any process."""
    target = _prepare(path)
    if target is None:
        return None
    jax = sys.modules.get("jax")
    if jax is None:
        import jax
    if jax.config.jax_compilation_cache_dir != str(target):
        jax.config.update("jax_compilation_cache_dir", str(target))
        _forget_opened_cache()
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return str(target)


def _prepare(path: str | Path | None) -> Path | None:
    """The cache directory (``path`` or the default; None: disabled), created, and named in the
    environment for a JAX imported later (a worker that has not run a JAX task yet)."""
    target = Path(path) if path is not None else compilation_cache_dir()
    if target is None:
        return None
    target.mkdir(parents=True, exist_ok=True)
    os.environ["JAX_COMPILATION_CACHE_DIR"] = str(target)
    os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = str(MIN_COMPILE_SECONDS)
    return target


def _forget_opened_cache() -> None:
    """JAX opens its cache at the first compilation and ignores later changes of the directory;
    reset it so the next compilation opens the new one (a private JAX function, hence the guard:
    without it a changed directory takes effect in the next process)."""
    try:
        from jax._src import compilation_cache
    except ImportError:
        return
    reset = getattr(compilation_cache, "reset_cache", None)
    if reset is not None and getattr(compilation_cache, "is_initialized", lambda: False)():
        reset()


def enable_on_worker(path: str | None) -> str | None:
    """On a worker: the cache at ``path`` (None: the worker's own default) without importing JAX
    until a task needs it."""
    target = _prepare(path)
    if target is None:
        return None
    if "jax" in sys.modules:
        return enable_compilation_cache(target)
    return str(target)
