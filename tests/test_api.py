"""The flat public API and the CLI's command table."""

from __future__ import annotations

import importlib
import subprocess
import sys

import steerstats
from steerstats.cli import COMMANDS, build_parser


def test_every_exported_name_resolves() -> None:
    for name in steerstats.__all__:
        assert getattr(steerstats, name) is not None, name


def test_import_is_light() -> None:
    code = "import sys, steerstats; print('jax' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_command_module_registers() -> None:
    for name in COMMANDS:
        module = importlib.import_module(f"steerstats.cli.{name}")
        assert callable(module.register), name
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(COMMANDS)
