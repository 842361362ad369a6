"""Build an open_clip model from a name (built-in, registered custom config, ``hf-hub:``) and weights.

Weights are a local checkpoint file, an open_clip pretrained tag, or ``None`` (seeded random init,
for tests and benchmarks). Each resolves to a *weights identity* recorded in outputs and in the
cache key: ``sha256:<hex>`` of a file, ``open_clip:<model>/<tag>`` of a tag, ``hf-hub:<repo>`` of
a hub model, ``random-init:sha256:<hex of the initialised state dict>`` of a random init.

Hub tags need the internet only when their files are not in the local cache. Without it the error
comes at once: offline mode (``HF_HUB_OFFLINE=1``) fails before any request; otherwise one TCP
connect to the host with a short timeout decides, instead of the hub client's retries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import torch

from steerstats._io import sha256_file
from steerstats.embed._compat import import_open_clip
from steerstats.errors import ConfigError

HUB_PREFIX = "hf-hub:"
NETWORK_PROBE_TIMEOUT_S = 3.0
_REQUIRED_KEYS = ("embed_dim", "vision_cfg", "text_cfg")
_config_dir: Path | None = None


@dataclass(frozen=True)
class LoadedModel:
    """An open_clip model in eval mode with its preprocessing, tokenizer and identities."""

    name: str
    model: torch.nn.Module
    preprocess: Any  # callable PIL.Image -> (3, H, W) float tensor
    tokenizer: Any  # callable list[str] -> (n, context_length) long tensor
    config: dict[str, Any]
    config_sha256: str
    weights_identity: str
    preprocess_cfg: dict[str, Any]


def _json_sha256(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def register_model_config(name: str, config: dict[str, Any] | str | Path) -> str:
    """Make an open_clip model config available under ``name`` (a dict, or a JSON file's path).

    The config has open_clip's form (``embed_dim``, ``vision_cfg``, ``text_cfg``, ...).
    Returns ``name``; ``ClipEmbedder(model=name, ...)`` then builds it.
    """
    global _config_dir
    if not isinstance(config, dict):
        path = Path(config)
        try:
            config = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ConfigError(f"{path}: cannot read model config: {err}") from err
    missing = [k for k in _REQUIRED_KEYS if k not in config]
    if missing:
        raise ConfigError(f"model config '{name}' lacks {', '.join(missing)}")
    if not name or "/" in name or name.startswith(HUB_PREFIX):
        raise ConfigError(f"invalid model config name '{name}'")
    open_clip = import_open_clip()
    if _config_dir is None:
        # open_clip registers configs from JSON files; keep ours in one per-process directory.
        _config_dir = Path(tempfile.mkdtemp(prefix="steerstats-openclip-configs-"))
    path = _config_dir / f"{name}.json"
    path.write_text(json.dumps(config))
    open_clip.add_model_config(path)
    return name


def _host_reachable(host: str, port: int = 443, timeout: float = NETWORK_PROBE_TIMEOUT_S) -> bool:
    """One TCP connect, name lookup included, abandoned after ``timeout`` seconds in all."""
    outcome: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                outcome.append(True)
        except OSError:
            outcome.append(False)

    # getaddrinfo ignores socket timeouts; a daemon thread bounds a hanging resolver too.
    thread = threading.Thread(target=probe, daemon=True, name="steerstats-net-probe")
    thread.start()
    thread.join(timeout)
    return bool(outcome and outcome[0])


def _hub_offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE") or os.environ.get("TRANSFORMERS_OFFLINE") or ""
    return constants.HF_HUB_OFFLINE or env.strip().lower() in {"1", "true", "yes", "on"}


def _hub_cached(repo_id: str, filenames: list[str], cache_dir: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return any(
        isinstance(try_to_load_from_cache(repo_id, f, cache_dir=cache_dir), str) for f in filenames
    )


@contextlib.contextmanager
def _hub_forced_offline() -> Iterator[None]:
    """Serve already-cached hub files without the hub client's update check over the network."""
    from huggingface_hub import constants

    old = constants.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        constants.HF_HUB_OFFLINE = old


def _ensure_downloadable(what: str, cached: bool, host: str) -> contextlib.AbstractContextManager:
    """Context in which open_clip may fetch ``what``; raise now if it cannot."""
    if cached:
        return _hub_forced_offline()
    advice = "download them on a machine with internet, or pass a local checkpoint file"
    if _hub_offline():
        raise ConfigError(
            f"{what} are not in the local cache and the hub is in offline mode "
            f"(HF_HUB_OFFLINE); {advice}"
        )
    if not _host_reachable(host):
        raise ConfigError(f"{what} need the internet: cannot reach {host}; {advice}")
    return contextlib.nullcontext()


def _tag_download_context(
    open_clip: Any, model: str, tag: str, cache_dir: str | None
) -> contextlib.AbstractContextManager:
    cfg = open_clip.get_pretrained_cfg(model, tag)
    what = f"weights '{tag}' of {model}"
    hub = cfg.get("hf_hub", "")
    if hub:
        repo_id, filename = os.path.split(hub)
        names = [filename or "open_clip_pytorch_model.bin"]
        names += [n[:-4] + ".safetensors" for n in names if n.endswith((".bin", ".pth"))]
        names.append("open_clip_model.safetensors")
        from huggingface_hub import constants

        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        return _ensure_downloadable(what, _hub_cached(repo_id, names, cache_dir), host)
    url = cfg.get("url", "")
    target = Path(cache_dir or os.path.expanduser("~/.cache/clip")) / os.path.basename(url)
    return _ensure_downloadable(what, target.is_file(), urlparse(url).hostname or url)


@contextlib.contextmanager
def _quiet_random_init(active: bool) -> Iterator[None]:
    """Silence open_clip's root-logger warning that a (deliberate) random init has no weights."""
    previous = logging.root.manager.disable
    if active:
        logging.disable(logging.WARNING)
    try:
        yield
    finally:
        logging.disable(previous)


def _state_dict_sha256(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        h.update(key.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def load_model(
    model: str,
    weights: str | Path | None = None,
    *,
    device: torch.device | str = "cpu",
    seed: int = 0,
    cache_dir: str | None = None,
) -> LoadedModel:
    """Build ``model`` (open_clip name, registered config or ``hf-hub:<repo>``) with ``weights``.

    ``weights``: a checkpoint file, an open_clip pretrained tag, or None for a random init drawn
    with ``torch.manual_seed(seed)`` (same seed, same weights).
    """
    open_clip = import_open_clip()
    device = torch.device(device)
    kwargs: dict[str, Any] = {}
    context: contextlib.AbstractContextManager = contextlib.nullcontext()
    if model.startswith(HUB_PREFIX):
        if weights is not None:
            raise ConfigError(f"'{model}' brings its own weights; drop --weights")
        repo_id = model[len(HUB_PREFIX) :]
        from huggingface_hub import constants

        host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
        cached = _hub_cached(repo_id, ["open_clip_config.json"], cache_dir) and _hub_cached(
            repo_id, ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"], cache_dir
        )
        context = _ensure_downloadable(f"config and weights of {model}", cached, host)
        # open_clip only logs a failed hub weights download and goes on with a random init.
        kwargs["require_pretrained"] = True
        identity = model
    else:
        if open_clip.get_model_config(model) is None:
            raise ConfigError(
                f"unknown open_clip model '{model}'; known: {', '.join(open_clip.list_models())} "
                "(or register a custom config with --model-config FILE.json)"
            )
        if weights is None:
            # no tower weights either (open_clip would download an HF text tower's by default)
            kwargs.update(pretrained_text=False, pretrained_image=False)
            identity = "random-init"
        elif os.path.isfile(weights):
            kwargs.update(pretrained=str(weights), require_pretrained=True)
            identity = f"sha256:{sha256_file(weights)}"
        elif open_clip.get_pretrained_cfg(model, str(weights)):
            kwargs.update(pretrained=str(weights), require_pretrained=True)
            context = _tag_download_context(open_clip, model, str(weights), cache_dir)
            identity = f"open_clip:{model}/{weights}"
        else:
            tags = open_clip.list_pretrained_tags_by_model(model)
            raise ConfigError(
                f"weights '{weights}' is neither a file nor a pretrained tag of {model} "
                f"(tags: {', '.join(tags) or 'none'})"
            )
    try:
        with context, torch.random.fork_rng(devices=[]), _quiet_random_init(identity == "random-init"):
            torch.manual_seed(seed)
            net = open_clip.create_model(model, device="cpu", cache_dir=cache_dir, **kwargs)
            tokenizer = open_clip.get_tokenizer(model, cache_dir=cache_dir)
    except ConfigError:
        raise
    except Exception as err:  # a user's checkpoint that does not load (pickle refused, garbage, zip)
        raise ConfigError(f"cannot build {model} with weights {weights!r} ({type(err).__name__}: "
                          f"{' '.join(str(err).split())[:160]})") from None
    net.eval()
    if identity == "random-init":
        identity = f"random-init:sha256:{_state_dict_sha256(net)}"
    net.to(device)
    preprocess_cfg = dict(open_clip.get_model_preprocess_cfg(net))
    from open_clip.transform import PreprocessCfg, image_transform_v2

    preprocess = image_transform_v2(PreprocessCfg(**preprocess_cfg), is_train=False)
    config = open_clip.get_model_config(model) if not model.startswith(HUB_PREFIX) else {}
    return LoadedModel(
        name=model,
        model=net,
        preprocess=preprocess,
        tokenizer=tokenizer,
        config=config or {},
        config_sha256=_json_sha256(config or model),
        weights_identity=identity,
        preprocess_cfg=preprocess_cfg,
    )
