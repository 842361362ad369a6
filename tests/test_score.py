"""`steerstats score`: CLIP cosine, CLIPScore and DreamSim of image pairs against direct computations."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from steerstats.cli import main
from steerstats.embed.dreamsim import DreamSimEmbedder, check_weights
from steerstats.embed.score import clipscore, score_pairs, score_table
from steerstats.embed.testing import random_dreamsim_weights, tiny_clip_config, tiny_embedder
from steerstats.errors import ConfigError, InputError

pytestmark = [
    pytest.mark.filterwarnings("ignore::steerstats.embed._compat.TorchvisionOpsUnavailableWarning"),
    # raised inside dreamsim / peft on every load, not by steerstats
    pytest.mark.filterwarnings("ignore:`torch.nn.utils.weight_norm` is deprecated:FutureWarning"),
    pytest.mark.filterwarnings("ignore:Already found a `peft_config` attribute:UserWarning"),
]


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("score")
    rng = np.random.default_rng(7)
    for i in range(5):
        Image.fromarray(rng.integers(0, 256, (40 + i, 48, 3), dtype=np.uint8)).save(root / f"i{i}.png")
    (root / "broken.png").write_bytes(b"not a png")
    frame = pd.DataFrame({
        "goal_image": ["i0.png", "i0.png", "i1.png", "i2.png", "i3.png"],
        "generated_image": ["i1.png", "i2.png", "i3.png", "i4.png", "broken.png"],
        "prompt": ["a red cat", "a blue dog", "two trees", "a house", "the sea"],
    })
    frame.to_csv(root / "pairs.csv", index=False)
    (root / "tiny.json").write_text(json.dumps(tiny_clip_config()))
    return root, frame


@pytest.fixture(scope="module")
def clip():
    return tiny_embedder(seed=0, batch_size=2)


def _direct_image(clip, path):
    model, preprocess = clip.loaded.model, clip.loaded.preprocess
    with torch.no_grad():
        v = model.encode_image(preprocess(Image.open(path).convert("RGB")).unsqueeze(0)).numpy()[0]
    return v / np.linalg.norm(v)


def _direct_text(clip, text):
    with torch.no_grad():
        v = clip.loaded.model.encode_text(clip.loaded.tokenizer([text])).numpy()[0]
    return v / np.linalg.norm(v)


def test_clip_similarity_and_clipscore_equal_a_direct_open_clip_computation(pairs, clip, tmp_path):
    root, frame = pairs
    res = score_pairs(frame, metrics=("clip", "clipscore"), text="prompt", clip=clip, root=root,
                      cache_dir=tmp_path / "cache")
    for i, row in frame.iloc[:4].iterrows():
        a, b = _direct_image(clip, root / row["goal_image"]), _direct_image(clip, root / row["generated_image"])
        assert res.frame.loc[i, "clip_similarity"] == pytest.approx(float(a @ b), abs=2e-5)
        t = _direct_text(clip, row["prompt"])
        assert res.frame.loc[i, "clipscore"] == pytest.approx(2.5 * max(float(t @ b), 0.0), abs=5e-5)
    assert res.frame["score_status"].tolist()[:4] == ["ok"] * 4
    last = res.frame.iloc[4]
    assert np.isnan(last["clip_similarity"]) and np.isnan(last["clipscore"])
    assert last["score_status"] == "unreadable: generated_image"
    assert res.unreadable[["column", "image", "first_row"]].values.tolist() == [["generated_image", "broken.png", 5]]
    # i0 appears twice as a goal: each unique image is embedded once
    assert res.counts["clip"]["items"] == 6
    again = score_pairs(frame, metrics=("clip",), clip=clip, root=root, cache_dir=tmp_path / "cache")
    assert again.counts["clip"]["cached"] == 5 and again.counts["clip"]["computed"] == 0
    np.testing.assert_array_equal(again.frame["clip_similarity"], res.frame["clip_similarity"])


def test_clipscore_clips_negative_cosines_at_zero():
    t = np.array([[1.0, 0.0], [1.0, 0.0]])
    v = np.array([[0.6, 0.8], [-1.0, 0.0]])
    np.testing.assert_allclose(clipscore(t, v), [2.5 * 0.6, 0.0])


class _StandInPerceptual(torch.nn.Module):
    """A perceptual model with DreamSim's interface: ``embed`` of (n, 3, 224, 224) pixels in [0, 1],
    centred and unit-norm embeddings (dreamsim.model.normalize_embedding)."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.proj = torch.nn.Linear(3 * 16 * 16, 8)

    def embed(self, x):
        assert x.shape[1:] == (3, 224, 224) and 0 <= float(x.min()) and float(x.max()) <= 1
        e = self.proj(torch.nn.functional.adaptive_avg_pool2d(x, 16).flatten(1))
        e = e - e.mean(dim=1, keepdim=True)
        return e / e.norm(dim=1, keepdim=True)

    def forward(self, a, b):  # DreamSim's distance
        return 1 - torch.nn.functional.cosine_similarity(self.embed(a), self.embed(b), dim=-1)


def test_dreamsim_is_one_minus_the_models_distance(pairs):
    from torchvision import transforms

    root, frame = pairs
    model = _StandInPerceptual()
    embedder = DreamSimEmbedder(model, identity="stand-in", device="cpu", batch_size=2)
    res = score_pairs(frame, metrics=("dreamsim",), dreamsim=embedder, root=root)
    t = transforms.Compose([transforms.Resize((224, 224), interpolation=transforms.InterpolationMode.BICUBIC),
                            transforms.ToTensor()])  # dreamsim's own preprocess

    def load(p):
        return t(Image.open(root / p).convert("RGB")).unsqueeze(0)

    for i, row in frame.iloc[:4].iterrows():
        with torch.no_grad():
            d = float(model(load(row["goal_image"]), load(row["generated_image"])))
        assert res.frame.loc[i, "dreamsim"] == pytest.approx(1 - d, abs=1e-3)  # uint8 vs float resize rounding
    assert np.isnan(res.frame.loc[4, "dreamsim"])


@pytest.fixture(scope="module")
def dreamsim_weights(tmp_path_factory):
    return random_dreamsim_weights(tmp_path_factory.mktemp("dreamsim"), seed=3)


def _dreamsim_direct(root, pretrained=True):
    """The dreamsim package's own model and preprocessing, built the way its README does."""
    from dreamsim import dreamsim

    hub_dir = torch.hub.get_dir()
    try:
        return dreamsim(pretrained=pretrained, cache_dir=str(root), dreamsim_type="dino_vitb16", device="cpu")
    finally:
        torch.hub.set_dir(hub_dir)


def test_dreamsim_package_path_equals_the_packages_own_distance(pairs, dreamsim_weights, tmp_path):
    """The real ``dreamsim`` package on a random-init weights directory (DINO ViT-B/16 + LoRA)."""
    root, frame = pairs
    hub_dir = torch.hub.get_dir()
    embedder = DreamSimEmbedder.from_weights(dreamsim_weights, dreamsim_type="dino_vitb16", device="cpu", batch_size=2)
    assert torch.hub.get_dir() == hub_dir  # dreamsim's torch.hub.set_dir is undone
    assert embedder.model_name == "dreamsim-dino_vitb16" and embedder.dim == 768
    res = score_pairs(frame, metrics=("dreamsim",), dreamsim=embedder, root=root, cache_dir=tmp_path / "cache")
    model, preprocess = _dreamsim_direct(dreamsim_weights)
    base, _ = _dreamsim_direct(dreamsim_weights, pretrained=False)  # the backbone without the LoRA adapter

    def load(p):
        return preprocess(Image.open(root / p).convert("RGB"))

    ours, theirs, unadapted = [], [], []
    for _, row in frame.iloc[:4].iterrows():
        a, b = load(row["goal_image"]), load(row["generated_image"])
        with torch.no_grad():
            theirs.append(1 - float(model(a, b)))
            unadapted.append(1 - float(base(a, b)))
        ours.append(float(res.frame.loc[row.name, "dreamsim"]))
    tol = 1e-5  # the same PIL bicubic resize: equal pixels, so only batched float rounding differs
    np.testing.assert_allclose(ours, theirs, atol=tol)
    assert np.ptp(theirs) > 100 * tol  # the pairs' similarities differ by far more than the tolerance
    assert np.max(np.abs(np.subtract(theirs, unadapted))) > 30 * tol  # the adapter was loaded and matters
    assert np.isnan(res.frame.loc[4, "dreamsim"]) and res.frame.loc[4, "score_status"] == "unreadable: generated_image"


def test_dreamsim_score_cli_on_a_weights_directory(pairs, dreamsim_weights, tmp_path, capsys):
    root, frame = pairs
    out = tmp_path / "scored.csv"
    code = main(["score", "--in", str(root / "pairs.csv"), "--out", str(out), "--metric", "dreamsim",
                 "--dreamsim-weights", str(dreamsim_weights), "--dreamsim-type", "dino_vitb16", "--device", "cpu",
                 "--cache-dir", str(tmp_path / "cache"), "--quiet"])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "Using cached" not in printed.out  # dreamsim's own prints go to stderr
    scored = pd.read_csv(out)
    assert scored.columns.tolist() == [*frame.columns, "dreamsim", "score_status"]
    assert scored["dreamsim"].iloc[:4].between(-1, 1).all() and np.isnan(scored["dreamsim"].iloc[4])


def test_dreamsim_weights_missing_is_an_immediate_config_error(tmp_path, pairs, capsys):
    with pytest.raises(ConfigError, match=r"missing dino_vitb16_pretrain.pth.*does not download"):
        check_weights(tmp_path)
    root, _ = pairs
    out = tmp_path / "s.csv"
    code = main(["score", "--in", str(root / "pairs.csv"), "--out", str(out), "--metric", "dreamsim",
                 "--dreamsim-weights", str(tmp_path), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "weights not found" in err and "Traceback" not in err and not out.exists()


def test_bad_tables_and_existing_columns_are_errors(pairs, clip):
    root, frame = pairs
    with pytest.raises(InputError, match=r"row 2, column 'generated_image'"):
        score_pairs(frame.assign(generated_image=["i1.png", "", "i3.png", "i4.png", "i0.png"]), clip=clip, root=root)
    with pytest.raises(InputError, match="column 'goal'"):
        score_pairs(frame, image_a="goal", clip=clip, root=root)
    with pytest.raises(ConfigError, match="already has a 'clip_similarity' column"):
        score_pairs(frame.assign(clip_similarity=0.5), clip=clip, root=root)
    with pytest.raises(ConfigError, match="needs a text column"):
        score_pairs(frame, metrics=("clipscore",), clip=clip, root=root)


def test_score_cli_end_to_end(pairs, tmp_path, capsys):
    root, frame = pairs
    out = tmp_path / "scored.csv"
    args = ["score", "--in", str(root / "pairs.csv"), "--out", str(out), "--metric", "clip", "--metric", "clipscore",
            "--text", "prompt", "--model", "tiny-score", "--model-config", str(root / "tiny.json"), "--random-init",
            "--cache-dir", str(tmp_path / "cache"), "--device", "cpu", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr()
    assert "clip_similarity" in printed.out and "1 unreadable images" in printed.err
    scored = pd.read_csv(out)
    assert scored.columns.tolist() == [*frame.columns, "clip_similarity", "clipscore", "score_status"]
    assert scored["goal_image"].tolist() == frame["goal_image"].tolist()  # joins the input by row and image id
    assert pd.read_csv(tmp_path / "scored.unreadable.csv")["image"].tolist() == ["broken.png"]
    assert main(args) == 2  # exists: needs --force
    assert "pass --force" in capsys.readouterr().err
    assert main([*args, "--force"]) == 0
    res = score_table(root / "pairs.csv", tmp_path / "s.parquet", metrics=("clip",), clip=tiny_embedder(seed=0))
    # the same random-init model through the API: the same scores (and the parquet output reads back)
    np.testing.assert_allclose(res.frame["clip_similarity"].to_numpy(), scored["clip_similarity"].to_numpy(),
                               atol=1e-6, equal_nan=True)
    assert pd.read_parquet(tmp_path / "s.parquet")["score_status"].tolist() == scored["score_status"].tolist()
