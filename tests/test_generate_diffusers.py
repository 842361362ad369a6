"""The diffusers backend on a tiny randomly initialised Stable Diffusion pipeline built offline."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # imports diffusers + builds a pipeline (~30 s)

# diffusers and transformers come with the `diffusers` extra that `make setup` installs: a missing
# one is a broken set-up, so these tests fail rather than skip.


def _tiny_tokenizer():
    """A CLIP BPE tokenizer over single characters (no merges), built in memory."""
    from transformers import CLIPTokenizer

    chars = [chr(c) for c in range(ord("!"), ord("~") + 1)]
    tokens = ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]
    return CLIPTokenizer(vocab={t: i for i, t in enumerate(tokens)}, merges=[]), len(tokens)


@pytest.fixture(scope="module")
def tiny_pipeline(tmp_path_factory):
    from steerstats.generate.diffusers_backend import _import_diffusers

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diffusers = _import_diffusers()
    import torch
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    tokenizer, vocab = _tiny_tokenizer()
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(8, 16),
        layers_per_block=1,
        sample_size=8,
        in_channels=4,
        out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16,
        attention_head_dim=4,
        norm_num_groups=4,
    )
    vae = diffusers.AutoencoderKL(
        block_out_channels=(8, 16),
        in_channels=3,
        out_channels=3,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        latent_channels=4,
        norm_num_groups=4,
    )
    text = CLIPTextModel(
        CLIPTextConfig(
            vocab_size=vocab, hidden_size=16, intermediate_size=32, num_attention_heads=2,
            num_hidden_layers=1, max_position_embeddings=32, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        )
    )
    tokenizer.model_max_length = 32
    pipe = diffusers.StableDiffusionPipeline(
        vae=vae, text_encoder=text, tokenizer=tokenizer, unet=unet,
        scheduler=diffusers.DDIMScheduler(clip_sample=False, set_alpha_to_one=False, steps_offset=1), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.set_progress_bar_config(disable=True)
    return pipe


class PixelEmbedder:
    """Stand-in embedder: the mean colour of 4x4 blocks (deterministic, no weights)."""

    def embed_images(self, images):
        arr = np.stack([np.asarray(im, dtype=float) for im in images])
        n, h, w, c = arr.shape
        return arr.reshape(n, 4, h // 4, 4, w // 4, c).mean(axis=(2, 4)).reshape(n, -1)


def test_generate_vary_and_embed(tiny_pipeline):
    from steerstats.generate import DiffusersBackend, LatentBackend

    backend = DiffusersBackend(tiny_pipeline, embedder=PixelEmbedder(), num_inference_steps=2)
    assert isinstance(backend, LatentBackend)
    assert backend.latent_shape == (4, 8, 8)
    c = backend.generate(["a red cube", "a blue ball"], n_per_prompt=2, seed=3)
    assert len(c) == 4 and list(c.prompt) == ["a red cube"] * 2 + ["a blue ball"] * 2
    assert c.latent.shape == (4, 4, 8, 8) and c.images[0].size == (16, 16)  # tiny VAE: 2x upsampling
    assert c.embedding.shape == (4, 48) and np.all(np.isfinite(c.embedding))
    again = backend.generate(["a red cube", "a blue ball"], n_per_prompt=2, seed=3)
    np.testing.assert_array_equal(c.latent, again.latent)
    np.testing.assert_allclose(c.embedding, again.embedding)
    v0 = backend.vary(c.take([0]), mixture_scale=0.0, n=2, seed=1)
    np.testing.assert_allclose(v0.latent[0], c.latent[0])  # s = 0 keeps the latent
    np.testing.assert_allclose(v0.embedding[0], c.embedding[0], atol=1e-6)
    v = backend.vary(c.take([0]), mixture_scale=0.5, n=3, seed=1)
    assert len(v) == 3 and not np.allclose(v.latent[0], c.latent[0])
    assert list(v.prompt) == ["a red cube"] * 3


def test_with_tiny_clip_embedder(tiny_pipeline):
    from steerstats.embed.testing import tiny_embedder
    from steerstats.generate import DiffusersBackend

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedder = tiny_embedder(num_workers=0)
    backend = DiffusersBackend(tiny_pipeline, embedder=embedder, num_inference_steps=1)
    c = backend.generate(["x"], n_per_prompt=2, seed=0)
    assert c.embedding.shape == (2, embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(c.embedding, axis=1), 1.0, atol=1e-5)


def test_simulated_steering_through_diffusers(tiny_pipeline):
    from steerstats.generate import DiffusersBackend, FixedScale, steer_with_backend

    backend = DiffusersBackend(tiny_pipeline, embedder=PixelEmbedder(), num_inference_steps=1)
    goal = backend.generate(["a green tree"], 1, seed=5).embedding[0]
    ep, final = steer_with_backend(backend, "a tree", goal, FixedScale(0.5), seed=0, n_rounds=2, k=2)
    assert ep.similarity.shape == (1, 2) and np.all(np.diff(np.r_[ep.initial, ep.similarity[0]]) >= -1e-9)
    assert final.latent.shape == (1, 4, 8, 8) and final.prompt[0] == "a tree"


def test_from_pretrained_local_directory(tiny_pipeline, tmp_path):
    """Local weights load offline (local_files_only) and give the same images as the pipeline."""
    from steerstats.errors import ConfigError
    from steerstats.generate import DiffusersBackend

    tiny_pipeline.save_pretrained(tmp_path / "tiny-sd")
    loaded = DiffusersBackend.from_pretrained(str(tmp_path / "tiny-sd"), device="cpu", dtype="fp32",
                                              embedder=PixelEmbedder(), num_inference_steps=1)
    direct = DiffusersBackend(tiny_pipeline, embedder=PixelEmbedder(), num_inference_steps=1)
    a = loaded.generate(["a boat"], 1, seed=2)
    b = direct.generate(["a boat"], 1, seed=2)
    np.testing.assert_allclose(a.embedding, b.embedding, atol=1e-4)
    with pytest.raises(ConfigError, match="cannot load"):
        DiffusersBackend.from_pretrained(str(tmp_path / "missing"), device="cpu")


def test_steer_command_through_the_diffusers_backend(tiny_pipeline, tmp_path):
    """`steer` with [backend] kind = "diffusers": the Eq. 8 loop on a local (tiny, random) pipeline
    with a random-init open_clip similarity; the methods share each task's goal and first image."""
    import json

    import pandas as pd

    from steerstats.cli import main
    from steerstats.embed.testing import tiny_clip_config

    tiny_pipeline.save_pretrained(tmp_path / "tiny-sd")
    (tmp_path / "clip.json").write_text(json.dumps(tiny_clip_config()))
    pd.DataFrame({"goal_prompt": ["a red lighthouse", "two green boats"],
                  "prompt": ["a lighthouse", "boats"]}).to_csv(tmp_path / "tasks.csv", index=False)
    (tmp_path / "steer.toml").write_text(f"""
seed = 0
n_boot = 50
rounds = 2
[world]
latent_dim = 4
prompt_dim = 4
embed_dim = 8
hidden = 16
[train]
episodes = 100
[evaluate]
episodes = 50
[backend]
kind = "diffusers"
pipeline = "{tmp_path / 'tiny-sd'}"
tasks = "{tmp_path / 'tasks.csv'}"
steps = 1
device = "cpu"
dtype = "fp32"
[backend.clip]
model = "tiny-steer"
config = "{tmp_path / 'clip.json'}"
random_init = true
""")
    outs = []
    for name in ("a", "b"):
        out = tmp_path / name
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert main(["steer", "--config", str(tmp_path / "steer.toml"), "--out", str(out), "--quiet"]) == 0
        outs.append(pd.read_csv(out / "tables" / "backend_steering.csv").set_index("method"))
    table = outs[0]
    assert list(table.index) == ["text (prompt re-draws)", "random proposals", "learned proposals"]
    assert (table["n"] == 2).all()
    assert table["mean_initial"].nunique() == 1  # the same first image for every method
    assert (table.loc["learned proposals", "mean_final"] >= table["mean_initial"].iloc[0] - 1e-9)  # noiseless: never worse
    pd.testing.assert_frame_equal(outs[0], outs[1])  # same seed, same numbers


def test_backend_config_needs_a_pipeline_and_tasks(tmp_path, capsys):
    from steerstats.cli import main

    (tmp_path / "s.toml").write_text('[backend]\nkind = "diffusers"\n')
    assert main(["steer", "--config", str(tmp_path / "s.toml"), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "backend.pipeline" in capsys.readouterr().err
