"""CLI conventions: a parser that builds without heavy imports, help on every option, one
spelling for the same thing, and every command the README shows parses."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

from steerstats.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("jax", "flax", "pandas", "sklearn", "scipy", "torch", "matplotlib", "numpyro")


def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            seen = set()
            for name, sub in action.choices.items():
                if id(sub) in seen:  # an alias
                    continue
                seen.add(id(sub))
                yield from _commands(sub, (*path, name))


def test_building_the_parser_and_every_help_imports_nothing_heavy():
    code = (
        "import argparse, sys\n"
        "from steerstats.cli import build_parser\n"
        "todo = [build_parser()]\n"
        "while todo:\n"
        "    p = todo.pop()\n"
        "    p.format_help()\n"
        "    todo += [s for a in p._actions if isinstance(a, argparse._SubParsersAction) for s in a.choices.values()]\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_option_has_help_text():
    missing = [
        f"steerstats {' '.join(path)} {action.option_strings[0]}"
        for path, parser in _commands(build_parser())
        for action in parser._actions
        if action.option_strings and action.help in (None, "") and not isinstance(action, argparse._HelpAction)
    ]
    assert missing == []


def test_the_same_things_have_the_same_names():
    for path, parser in _commands(build_parser()):
        options = {o for a in parser._actions for o in a.option_strings}
        assert "--no-progress" not in options, path
        if "--quiet" in options:
            assert "-q" in options, path
        if "--to" in options:  # the older spelling of --out survives only as an alias
            assert "--out" in options, path


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    snippets = re.findall(r"`((?:\.venv/bin/)?steerstats [^`]+)`", text)
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        block = re.sub(r"\\\n\s*", " ", block)  # a shell continuation joins its lines
        snippets += [line.strip() for line in block.splitlines()
                     if line.strip().startswith(("steerstats ", ".venv/bin/steerstats "))]
    return sorted(set(snippets))


PLACEHOLDERS = {"COMMAND": "report", "...": "", "N": "1", "B": "2", "R": "2", "R2": "2", "NAME": "bootstrap", "KIND": "budget",
                "NAME|FILE": "budget"}

#: variables of the README's walkthrough that stand for several arguments
SHELL_VARIABLES = {"$CLIP": ["--model", "ViT-B-32", "--weights", "w.pt"]}


def _concrete(snippet: str) -> list[str]:
    """One concrete argv for a README snippet: the first of each a|b alternative, optional groups
    included, placeholders filled."""
    s = snippet.split("#")[0].replace("\\|", "|")
    s = re.sub(r"^(\.venv/bin/)?steerstats\s+", "", s)
    s = s.replace("[", " ").replace("]", " ")
    argv = []
    for token in s.split():
        token = token.split("|")[0]
        if token in SHELL_VARIABLES:  # a walkthrough variable standing for several arguments
            argv.extend(SHELL_VARIABLES[token])
            continue
        argv.append(PLACEHOLDERS.get(token, token))
    return [a for a in argv if a]


@pytest.mark.parametrize("snippet", _readme_commands())
def test_every_command_the_readme_shows_parses(snippet):
    argv = _concrete(snippet)
    parser = build_parser()
    if "--help" in argv:
        with pytest.raises(SystemExit) as exc:
            parser.parse_args(argv)
        assert exc.value.code == 0
        return
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"README command does not parse: steerstats {' '.join(argv)} (exit {exc.code})")
    assert callable(getattr(args, "func", None))


def test_the_readme_shows_commands():
    assert len(_readme_commands()) >= 15
