"""Shared fixtures. The released study must sit at ../shared/data/vafa2025 beside the repository
(or where $STEERSTATS_TEST_DATA points); tests that need it fail with a clear message otherwise."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_VAFA2025 = REPO.parent / "shared" / "data" / "vafa2025"


@pytest.fixture(scope="session")
def vafa2025_dir() -> Path:
    """Directory of the released Vafa et al. (2025) study files."""
    path = Path(os.environ.get("STEERSTATS_TEST_DATA", DEFAULT_VAFA2025))
    if not (path / "image_generation" / "steering.csv").is_file():
        pytest.fail(
            f"released study data not found at {path}: CI expects ../shared/data/vafa2025 beside "
            "the repository (or set STEERSTATS_TEST_DATA)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


DEFAULT_TIFA160 = REPO.parent / "shared" / "data" / "tifa160"


@pytest.fixture(scope="session")
def tifa160_dir() -> Path:
    """Directory of the TIFA-160 files (../shared/data/tifa160, or $STEERSTATS_TEST_TIFA160)."""
    path = Path(os.environ.get("STEERSTATS_TEST_TIFA160", DEFAULT_TIFA160))
    if not (path / "dsg" / "tifa160-likert-anns.csv").is_file():
        pytest.fail(f"TIFA-160 data not found at {path}: CI expects ../shared/data/tifa160 beside the repository",
                    pytrace=False)
    return path


@pytest.fixture(scope="session", autouse=True)
def _private_jax_cache(tmp_path_factory):
    """CLI runs turn on JAX's persistent compilation cache (steerstats._jax_cache): tests keep it in
    a directory of their own session (and pytest-xdist worker), never the user's cache."""
    os.environ["STEERSTATS_JAX_CACHE"] = str(tmp_path_factory.mktemp("jax_cache"))
    yield


@pytest.fixture
def tiny_sweep_config(tmp_path):
    """Factory of budget config files for a tiny synthetic sweep of one coarse arm (compiles in seconds)."""

    def make(name: str = "tiny", sizes: tuple[int, ...] = (40, 80), *, epochs: int = 2, n: int = 300) -> Path:
        path = tmp_path / f"{name}.toml"
        path.write_text(f"""
[budget]
name = "{name}"
sizes = {list(sizes)}
seeds = [0]
n_boot = 20
[data]
source = "synthetic"
n = {n}
test_fraction = 0.3
seed = 0
[data.world]
dim = 8
target = "tree"
[model]
hidden = [8]
epochs = {epochs}
[[arm]]
name = "coarse"
kind = "coarse"
""")
        return path

    return make
