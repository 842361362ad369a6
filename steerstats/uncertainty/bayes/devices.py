"""Host CPU devices for parallel NUTS chains.

XLA fixes the number of CPU devices when JAX initialises its backend, so the request must come
first: :func:`request_host_devices` sets it (``jax_num_cpu_devices`` / ``XLA_FLAGS``, the same as
``numpyro.set_host_device_count``) if the backend has not started, and otherwise leaves it alone.
The CLI calls it before any JAX work; test modules call it at import.
"""

from __future__ import annotations

import os
import re


def backend_started() -> bool:
    """Whether JAX has already initialised its backends (device count then fixed)."""
    import sys

    if "jax" not in sys.modules:
        return False
    from jax._src import xla_bridge

    return bool(xla_bridge.backends_are_initialized())


def request_host_devices(n: int = 4) -> bool:
    """Ask for ``n`` host CPU devices; True if the request can still take effect."""
    if backend_started():
        return False
    flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", os.environ.get("XLA_FLAGS", ""))
    os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={n} {flags}".strip()
    import jax

    try:
        jax.config.update("jax_num_cpu_devices", n)
    except AttributeError:  # older JAX: XLA_FLAGS alone does it
        pass
    return True


def cpu_device_count() -> int:
    """CPU devices JAX has (initialises the backend)."""
    import jax

    return len(jax.devices("cpu"))
