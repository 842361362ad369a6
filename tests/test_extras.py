"""Optional extras fail cleanly: a command whose extra is missing says which extra to install, in
one line, exit 2 (and the report skips just the section that needs it). Each runs in a fresh
interpreter whose import system finds no such package (a meta-path finder raising
ModuleNotFoundError, as on an install without the extra)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from steerstats._extras import EXTRAS

RUNNER = """
import sys

class NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
from steerstats.cli import main
sys.exit(main({argv!r}))
"""


def run_without(blocked: list[str], argv: list[str], cwd: Path) -> subprocess.CompletedProcess:
    code = RUNNER.format(blocked=blocked, argv=[str(a) for a in argv])
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, timeout=600)


def _texts(tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    pd.DataFrame({"model": ["a", "a"], "source_text": ["The cat sat.", "A dog ran far."],
                  "goal_text": ["The cat sat on the mat today.", "A dog."],
                  "output_text": ["The cat sat on a mat.", "A dog ran."]}).to_csv(path, index=False)
    return path


def _one_line_hint(done: subprocess.CompletedProcess, extra: str) -> None:
    err = done.stderr.strip()
    assert done.returncode == 2, done.stderr
    assert len(err.splitlines()) == 1 and f"pip install 'steerstats[{extra}]'" in err and "Traceback" not in err


@pytest.mark.parametrize("module", ["textstat", "lexicalrichness", "textblob"])
def test_goalspace_without_the_text_extra(tmp_path, module):
    argv = ["goalspace", "score", "--in", _texts(tmp_path), "--out", tmp_path / "o", "--quiet"]
    done = run_without([module], argv, tmp_path)
    _one_line_hint(done, EXTRAS[module])
    assert not (tmp_path / "o").exists()


def test_embed_without_the_clip_extra(tmp_path):
    argv = ["embed", "texts", "--in", _texts(tmp_path), "--column", "source_text", "--random-init",
            "--out", tmp_path / "e.parquet", "--quiet"]
    _one_line_hint(run_without(["open_clip", "torch"], argv, tmp_path), "clip")
    assert not (tmp_path / "e.parquet").exists()


def test_predict_minilm_without_the_minilm_extra(tmp_path):
    argv = ["predict", "--dataset", "synthetic", "--embedder", "minilm", "--out", tmp_path / "p", "--quiet"]
    _one_line_hint(run_without(["sentence_transformers"], argv, tmp_path), "minilm")
    assert not (tmp_path / "p").exists()


@pytest.mark.slow
def test_report_on_the_release_without_the_text_extra_skips_only_goal_space(tmp_path, vafa2025_dir):
    argv = ["report", "--dataset", "vafa2025", "--data-dir", vafa2025_dir, "--n-boot", "20", "--out", tmp_path / "r", "--quiet"]
    done = run_without(["textstat"], argv, tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert set(manifest["skipped"]) == {"goalspace_llm"}, manifest["skipped"]
    assert "pip install 'steerstats[text]'" in manifest["skipped"]["goalspace_llm"]
    assert "similarity_by_model" in manifest["tables"]  # everything else is there


@pytest.mark.slow
def test_tifa160_report_without_the_minilm_extra_skips_only_the_reward_models(tmp_path, tifa160_dir):
    argv = ["report", "--dataset", "tifa160", "--data-dir", tifa160_dir, "--n-boot", "20", "--out", tmp_path / "r", "--quiet"]
    done = run_without(["sentence_transformers"], argv, tmp_path)
    assert done.returncode == 0, done.stderr
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    assert set(manifest["skipped"]) == {"reward_models"}, manifest["skipped"]
    assert "pip install 'steerstats[minilm]'" in manifest["skipped"]["reward_models"]
    assert "scorer_agreement" in manifest["tables"]
