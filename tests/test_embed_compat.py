"""The torchvision compatibility shim: open_clip imports, transforms match a PIL reference."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from steerstats.embed import import_open_clip, torchvision_shim_active


def _run(code: str) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a fresh Python process (imports torch and open_clip)
def test_shim_used_exactly_when_plain_import_fails():
    out = _run(
        """
        import json, warnings
        try:
            import torchvision
            plain = True
        except RuntimeError:
            plain = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            from steerstats.embed import import_open_clip, torchvision_shim_active
            open_clip = import_open_clip()
        names = [w.category.__name__ for w in caught]
        print(json.dumps({"plain": plain, "shim": torchvision_shim_active(),
                          "warned": "TorchvisionOpsUnavailableWarning" in names,
                          "models": len(open_clip.list_models())}))
        """
    )
    assert out["shim"] == (not out["plain"])
    assert out["warned"] == out["shim"]
    assert out["models"] > 0


@pytest.mark.slow  # a fresh Python process (imports torch and open_clip)
def test_shim_path_with_compiled_ops_blocked():
    """Force the failure (compiled ops refuse to load) so the shim runs with any torchvision."""
    out = _run(
        """
        import json, warnings, torch
        real = torch.ops.load_library
        def refuse(path):
            if "torchvision" in str(path):
                raise OSError("blocked by test")
            return real(path)
        torch.ops.load_library = refuse
        from steerstats.embed import import_open_clip, torchvision_shim_active
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            open_clip = import_open_clip()
        import torchvision.transforms as T
        try:
            torch.ops.torchvision.nms(torch.zeros(2, 4), torch.zeros(2), 0.5)
            nms = "ran"
        except RuntimeError as err:
            nms = str(err)
        print(json.dumps({"shim": torchvision_shim_active(), "nms": nms,
                          "warned": any("nms" in str(w.message) for w in caught),
                          "normalize": T.Normalize.__name__}))
        """
    )
    assert out["shim"] is True
    assert out["warned"] is True
    assert "unavailable" in out["nms"]
    assert out["normalize"] == "Normalize"


def test_shim_not_used_for_other_errors():
    from steerstats.embed._compat import _is_missing_op_error

    assert _is_missing_op_error(RuntimeError("operator torchvision::nms does not exist"))
    assert not _is_missing_op_error(RuntimeError("CUDA out of memory"))


def _reference_preprocess(img: Image.Image, size: int, mean, std) -> np.ndarray:
    """CLIP preprocessing written out: bicubic resize of the short side, centre crop, scale, normalise."""
    w, h = img.size
    if w <= h:
        new = (size, int(size * h / w))
    else:
        new = (int(size * w / h), size)
    resized = img.convert("RGB").resize(new, Image.BICUBIC)
    left = round((new[0] - size) / 2.0)
    top = round((new[1] - size) / 2.0)
    crop = resized.crop((left, top, left + size, top + size))
    x = np.asarray(crop, dtype=np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return x.transpose(2, 0, 1)


@pytest.mark.parametrize("shape", [(40, 50), (64, 31), (33, 33), (300, 200)])
@pytest.mark.parametrize("size", [32, 224])
def test_open_clip_transforms_match_reference(shape, size):
    import_open_clip()
    from open_clip.transform import PreprocessCfg, image_transform_v2

    cfg = PreprocessCfg(size=size)
    transform = image_transform_v2(cfg, is_train=False)
    rng = np.random.default_rng(sum(shape) + size)
    img = Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8))
    got = transform(img).numpy()
    want = _reference_preprocess(img, size, cfg.mean, cfg.std)
    assert got.shape == (3, size, size)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)


def test_grayscale_and_rgba_become_rgb():
    import_open_clip()
    from open_clip.transform import PreprocessCfg, image_transform_v2

    transform = image_transform_v2(PreprocessCfg(size=32), is_train=False)
    rng = np.random.default_rng(1)
    gray = Image.fromarray(rng.integers(0, 256, (40, 40), dtype=np.uint8), mode="L")
    out = transform(gray).numpy()
    assert out.shape == (3, 32, 32)
    np.testing.assert_allclose(out, _reference_preprocess(gray, 32, PreprocessCfg().mean,
                                                          PreprocessCfg().std), atol=1e-5)
    assert isinstance(torchvision_shim_active(), bool)
