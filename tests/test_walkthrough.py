"""The README's "with your own images" walkthrough, run line by line on generated images.

The study: the first 30 users of the release's steering.csv (real models, prompts and design),
every goal and output URL replaced by a generated PNG, the scores dropped. CLIP is a random-init
tiny open_clip model (it carries no signal: the numbers are not the paper's) and DreamSim is a
stand-in perceptual model with DreamSim's interface behind a weights directory holding the
expected checkpoint names: the real ``dreamsim`` package costs a ViT-B/16 forward per image (~0.2 s
on 2 cores, ~70 s for this study's 360 images), so it is checked on a few images in test_score.py
(random-init weights from :func:`~steerstats.embed.testing.random_dreamsim_weights`).
"""

from __future__ import annotations

import json
import os
import re
import shlex

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from run_layout import assert_run_layout

from steerstats.cli import main
from steerstats.embed import dreamsim as dreamsim_module
from steerstats.embed.dreamsim import REQUIRED_CHECKPOINTS, DreamSimEmbedder
from steerstats.embed.testing import tiny_clip_config

pytestmark = pytest.mark.filterwarnings("ignore::steerstats.embed._compat.TorchvisionOpsUnavailableWarning")


class _StandInDreamSim(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(3 * 8 * 8, 16)

    def embed(self, x):
        e = self.proj(torch.nn.functional.adaptive_avg_pool2d(x, 8).flatten(1))
        e = e - e.mean(dim=1, keepdim=True)
        return e / e.norm(dim=1, keepdim=True)


def _readme_block(repo_root) -> list[str]:
    text = (repo_root / "README.md").read_text()
    section = text[text.index("### With your own images"):]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.strip()]


def _make_study(root, vafa2025_dir):
    steering = pd.read_csv(vafa2025_dir / "image_generation" / "steering.csv", dtype=str, keep_default_na=False)
    users = list(dict.fromkeys(steering["steering_user_id"]))[:30]
    part = steering[steering["steering_user_id"].isin(users)].drop(columns=["dreamsim", "clip_similarity"])
    urls = list(dict.fromkeys([*part["goal_image"], *part["generated_image"]]))
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    local = {}
    for i, url in enumerate(urls):
        colour = rng.integers(0, 256, 3)
        img = np.clip(colour + rng.normal(0, 40, (32, 32, 3)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(root / "images" / f"{i}.png")
        local[url] = f"images/{i}.png"
    part = part.assign(goal_image=part["goal_image"].map(local), generated_image=part["generated_image"].map(local))
    (root / "image_generation").mkdir()
    part.to_csv(root / "image_generation" / "attempts.csv", index=False)
    pd.DataFrame({"goal_image": part["goal_image"].unique()}).to_csv(root / "goals.csv", index=False)
    return part


@pytest.mark.slow
def test_readme_walkthrough_runs_on_generated_images(repo_root, vafa2025_dir, tmp_path, monkeypatch, capsys):
    study = tmp_path / "my_study"
    part = _make_study(study, vafa2025_dir)
    (tmp_path / "tiny.json").write_text(json.dumps(tiny_clip_config()))
    weights = tmp_path / "dreamsim"
    weights.mkdir()
    for name in REQUIRED_CHECKPOINTS["ensemble"]:
        (weights / name).write_bytes(b"stand-in")
    monkeypatch.setattr(dreamsim_module.DreamSimEmbedder, "from_weights", classmethod(
        lambda cls, *a, **k: DreamSimEmbedder(_StandInDreamSim(), identity="stand-in", device="cpu")))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    env = {"STUDY": str(study), "DREAMSIM": str(weights),
           "CLIP": f"--model tiny-walk --model-config {tmp_path / 'tiny.json'} --random-init --device cpu"}
    lines = _readme_block(repo_root)
    commands = [line for line in lines if line.startswith("steerstats ")]
    assert [c.split()[1] for c in commands] == ["score", "embed", "report", "predict", "decompose"]
    for line in lines:
        if "=" in line.split()[0] and not line.startswith("steerstats"):
            assert line.split("=")[0] in env, line  # every variable the block sets is substituted here
    for command in commands:
        argv = shlex.split(re.sub(r"\$(\w+)", lambda m: env[m.group(1)], command))[1:]
        extra = ["--quiet"] + (["--n-boot", "50"] if argv[0] in ("report", "predict", "decompose") else [])
        assert main([*argv, *extra]) == 0, (command, capsys.readouterr().err)
    scored = pd.read_csv(study / "image_generation" / "steering.csv")
    assert len(scored) == len(part) and scored[["dreamsim", "clip_similarity"]].notna().all().all()
    assert (scored["score_status"] == "ok").all()
    for out, command in (("my_report", "report"), ("my_predict", "predict"), ("my_decompose", "decompose")):
        assert_run_layout(tmp_path / "out" / out, command)
    report = (tmp_path / "out" / "my_report" / "report.md").read_text()
    assert "partial study" in report and "similarity_by_model" in report
    pred = pd.read_csv(tmp_path / "out" / "my_predict" / "tables" / "steerability_predictors.csv")
    assert np.isfinite(pred["r2"]).all()
    assert os.listdir(tmp_path / "cache" / "steerstats" / "embed")  # the cache went to XDG_CACHE_HOME
