"""The one output layout every command shares (steerstats.report.run), checked by each command's
end-to-end test: ``assert_run_layout(out, "budget")``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pandas as pd

from steerstats.report.run import MANIFEST_KEYS, SCHEMA

#: every command that writes a run directory, with the test that checks its layout
RUN_COMMANDS = ("report", "decompose", "decompose --validate", "predict", "rejection", "steer", "budget", "validate coverage",
                "goalspace score", "goalspace llm-study", "preferences")


def assert_run_layout(out: Path, command: str) -> dict:
    """OUT/{tables,figures,report.md,manifest.json}; the manifest schema; files listed exist; each
    table has csv/md/tex and a tidy long form; modes follow the umask. Returns the manifest."""
    out = Path(out)
    assert (out / "tables").is_dir() and (out / "figures").is_dir() and (out / "report.md").is_file()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) == set(MANIFEST_KEYS) and manifest["schema"] == SCHEMA
    assert manifest["command"] == command
    assert manifest["argv"][0] == "steerstats" and manifest["argv"][1] == command.split()[0]
    assert manifest["packages"]["pandas"] == pd.__version__ and manifest["timestamp"].endswith("Z")
    for rel in manifest["files"]:
        assert (out / rel).is_file(), rel
    names = manifest["tables"]
    assert names, "a run with no table"
    for name in names:
        assert (out / "tables" / f"{name}.csv").is_file(), name
    shown = [n for n in names if (out / "tables" / f"{n}.md").is_file()]
    assert shown
    for name in shown:
        assert (out / "tables" / f"{name}.tex").is_file() and (out / "tables" / f"{name}.long.csv").is_file()
        tidy = pd.read_csv(out / "tables" / f"{name}.long.csv")
        assert {"quantity", "estimate", "se", "ci_low", "ci_high", "se_note"} <= set(tidy.columns)
    for fig in manifest["figures"]:
        assert (out / "figures" / f"{fig}.png").is_file() and (out / "figures" / f"{fig}.pdf").is_file()
    for post in manifest["posteriors"]:
        assert (out / "posterior" / f"{post}.nc").is_file()
    umask = os.umask(0)
    os.umask(umask)
    for rel in ("report.md", "manifest.json", f"tables/{shown[0]}.csv"):
        assert stat.S_IMODE((out / rel).stat().st_mode) == 0o666 & ~umask, rel
    return manifest
