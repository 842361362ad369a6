"""The README's Python example runs as written (with the test data location substituted)."""

from __future__ import annotations

import re
from pathlib import Path


def test_readme_python_example_runs(repo_root: Path, vafa2025_dir: Path) -> None:
    text = (repo_root / "README.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    assert 'data_dir="../shared/data/vafa2025"' in code
    code = code.replace('"../shared/data/vafa2025"', repr(str(vafa2025_dir)))
    code = code.replace("print(", "_show(")
    shown: list = []
    namespace = {"_show": lambda *args: shown.append(args)}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(shown) == 3
    auc = shown[-1][0]
    assert 0.5 < auc <= 1.0
