"""`steerstats` command line: one subcommand per module in this package.

Each subcommand module defines ``register(subparsers)``, which adds its parser and sets
``func=<callable(args) -> int>``. Modules import heavy dependencies inside their functions so that
``steerstats --help`` stays fast. Every :class:`~steerstats.errors.SteerstatsError` becomes one line
on stderr and exit status 2; a missing optional extra names the extra to install (exit 2); a
problem of the environment (disk full, read-only, permissions, name too long, out of memory) is one
line with exit 3; anything else is a bug: one line, exit 1, its traceback with ``-v``.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import signal
import sys
import threading
import traceback
from collections.abc import Sequence

from steerstats._extras import missing_extra
from steerstats.errors import SteerstatsError

COMMANDS = (
    "report",
    "data",
    "bench",
    "validate",
    "predict",
    "decompose",
    "budget",
    "embed",
    "score",
    "preferences",
    "rejection",
    "steer",
    "goalspace",
    "config",
)


#: exit status of a problem in the environment (disk full, read-only or missing permission,
#: a path too long for the file system, out of memory), as opposed to bad input (2)
EXIT_ENVIRONMENT = 3
#: exit status of a bug in steerstats (an unexpected exception; ``-v`` shows its traceback)
EXIT_BUG = 1

#: top-level module of an optional dependency -> the extra that installs it


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="steerstats",
        description="Statistics of steerability and reward models.",
        epilog="Exit status: 0 ok, 2 bad input or configuration, 3 environment (disk full, "
        "read-only, permission, path too long, out of memory), 1 a bug (rerun with -v).",
    )
    parser.add_argument("--version", action="version", version=f"steerstats {_version()}")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the traceback of an unexpected error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"steerstats.cli.{name}").register(sub)
    return parser


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("steerstats")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "unknown"


class Terminated(BaseException):
    """SIGTERM, raised in the main thread so that partial outputs are removed on the way out."""


def _on_sigterm(signum, frame) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    from steerstats.report.run import INVOCATION  # after parsing: --help stays import-light

    token = INVOCATION.set(tuple(map(str, argv)))
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return _run(args)
    finally:
        INVOCATION.reset(token)
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _run(args: argparse.Namespace) -> int:
    try:
        if getattr(args, "jax_cache", False):  # commands that compile JAX programs (steerstats._jax_cache)
            from steerstats._jax_cache import enable_compilation_cache

            enable_compilation_cache()
        return int(args.func(args) or 0)
    except Terminated:
        print("steerstats: terminated (partial output removed)", file=sys.stderr)
        return 128 + signal.SIGTERM
    except SteerstatsError as err:
        return _fail(f"error: {err}", 2)
    except KeyboardInterrupt:
        print("steerstats: interrupted", file=sys.stderr)
        return 130
    except ModuleNotFoundError as err:
        hint = missing_extra(err)
        return _fail(f"error: {hint}", 2) if hint else _bug(err, args)
    except MemoryError:
        return _fail("error: out of memory (try smaller sizes or fewer replicates)", EXIT_ENVIRONMENT)
    except OSError as err:
        return _fail(f"error: {_os_message(err)}", EXIT_ENVIRONMENT)
    except Exception as err:
        return _bug(err, args)


def _os_message(err: OSError) -> str:
    what = err.strerror or type(err).__name__
    where = err.filename if err.filename is not None else ""
    hints = {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EROFS: "the file system is read-only: write elsewhere",
        errno.EACCES: "no permission: write elsewhere or fix the permissions",
        errno.EPERM: "no permission: write elsewhere or fix the permissions",
        errno.ENAMETOOLONG: "use a shorter --out name",
    }
    hint = hints.get(err.errno or -1)
    text = f"{where}: {what}" if where else what
    return " ".join(f"{text}{' (' + hint + ')' if hint else ''}".split())


def _bug(err: BaseException, args: argparse.Namespace) -> int:
    if getattr(args, "verbose", False):
        traceback.print_exception(err)
    message = " ".join(str(err).split())[:300]
    return _fail(f"internal error ({type(err).__name__}: {message}); this is a bug in steerstats"
                 + ("" if getattr(args, "verbose", False) else ": rerun with -v for the traceback"), EXIT_BUG)


def _fail(message: str, code: int) -> int:
    print(f"steerstats: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
