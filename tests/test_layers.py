"""The layer picture of CONTRIBUTING.md, enforced: a module never imports a higher layer (every
import counts, including those inside functions)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "steerstats"

#: subpackage / module -> layer; a module may import its own layer and any lower one
LAYERS = {
    "errors": 0, "_io": 0, "config": 0, "_parallel": 0, "_extras": 0, "_executor": 0, "_jax_cache": 0,
    "data": 1,
    "metrics": 2,
    "uncertainty": 3,
    "goalspace": 4, "features": 4, "embed": 4, "models": 4, "predictors": 4, "decompose": 4, "generate": 4,
    "budget": 4, "steerability": 4, "feedback": 4,
    "report": 5, "__main__": 6,
    "cli": 6,
}


def _top(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "steerstats" and len(parts) > 1 else None


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {t for t in map(_top, found) if t}


def test_every_subpackage_has_a_layer():
    names = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
             if (p.suffix == ".py" and p.name != "__init__.py") or (p.is_dir() and (p / "__init__.py").is_file())}
    assert names <= set(LAYERS), sorted(names - set(LAYERS))


def test_no_module_imports_a_higher_layer():
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel == Path("__init__.py"):
            continue  # the package root re-exports lazily
        own = rel.parts[0].removesuffix(".py")
        for target in _imports(path):
            if LAYERS[target] > LAYERS[own]:
                wrong.append(f"{rel} imports steerstats.{target}")
    assert not wrong, "\n".join(wrong)
