"""Save/load reward models to a directory, and build models from the specs in ``models/*.toml``.

A saved model is a directory holding ``model.toml`` (``kind``, hyper-parameters from
``get_params()``, fitted scalars, ``classes``) and ``weights.npz`` (network parameters keyed by their Flax path,
e.g. ``Dense_0/kernel``, plus ``aggregator_weights`` for a CBM). Written atomically.

A spec file (``models/coarse_paper.toml``) has one table ``[model]`` with ``kind = "coarse" |
"cbm"`` and the estimator's constructor arguments.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import tomli_w
from flax import traverse_util

from steerstats._io import atomic_directory
from steerstats.errors import ConfigError, DataNotFoundError, InputError
from steerstats.models.coarse import CoarseRewardModel
from steerstats.models.concept_bottleneck import ConceptBottleneckRewardModel
from steerstats.models.concept_embedding import ConceptEmbeddingRewardModel

KINDS: dict[str, type] = {"coarse": CoarseRewardModel, "cbm": ConceptBottleneckRewardModel,
                          "cem": ConceptEmbeddingRewardModel}
_FITTED = ("n_features_in_", "n_concepts_", "aggregator_intercept_", "best_epoch_")


def kind_of(model: Any) -> str:
    for kind, cls in KINDS.items():
        if isinstance(model, cls):
            return kind
    raise ConfigError(f"not a steerstats reward model: {type(model).__name__}")


def _toml_safe(params: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in params.items():
        if v is None:
            continue  # TOML has no null; None is the constructor default when absent
        out[k] = list(v) if isinstance(v, tuple) else v
    return out


def make_model(kind: str, **params: Any) -> Any:
    """Construct a reward model by kind (``"coarse"`` or ``"cbm"``) and constructor arguments."""
    if kind not in KINDS:
        raise ConfigError(f"model kind must be one of {sorted(KINDS)}, got {kind!r}")
    cls = KINDS[kind]
    unknown = set(params) - set(cls().get_params())
    if unknown:
        raise ConfigError(f"unknown {kind} model parameters: {sorted(unknown)}")
    for key in ("hidden", "attribute_names"):
        if isinstance(params.get(key), list):
            params[key] = tuple(params[key])
    return cls(**params)


def load_spec(path: str | Path) -> Any:
    """An unfitted model from a spec TOML (``[model]`` table with ``kind`` and parameters)."""
    path = Path(path)
    if not path.is_file():
        raise DataNotFoundError(f"model spec not found: {path}")
    try:
        table = tomllib.loads(path.read_text())["model"]
    except (tomllib.TOMLDecodeError, KeyError) as err:
        raise ConfigError(f"{path}: needs a [model] table ({err})") from err
    table = dict(table)
    return make_model(table.pop("kind", ""), **table)


def save_model(model: Any, directory: str | Path) -> Path:
    """Write a fitted model to ``directory`` (replaced atomically)."""
    if not hasattr(model, "params_"):
        raise ConfigError("save_model needs a fitted model")
    arrays = {
        k: np.asarray(v) for k, v in traverse_util.flatten_dict(model.params_, sep="/").items()
    }
    if hasattr(model, "aggregator_weights_"):
        arrays["__aggregator_weights"] = np.asarray(model.aggregator_weights_)
    fitted = {k: getattr(model, k) for k in _FITTED if hasattr(model, k)}
    meta = {
        "kind": kind_of(model),
        "params": _toml_safe(model.get_params()),
        "fitted": {k: (float(v) if isinstance(v, float) else int(v)) for k, v in fitted.items()},
        "classes": np.asarray(model.classes_).tolist(),
    }
    with atomic_directory(directory, command="model") as tmp:
        np.savez(tmp / "weights.npz", **arrays)
        (tmp / "model.toml").write_text(tomli_w.dumps(meta))
    return Path(directory)


def load_model(directory: str | Path) -> Any:
    """A fitted model saved by :func:`save_model`."""
    directory = Path(directory)
    if not (directory / "model.toml").is_file() or not (directory / "weights.npz").is_file():
        raise DataNotFoundError(f"{directory}: not a saved model (model.toml, weights.npz)")
    try:
        meta = tomllib.loads((directory / "model.toml").read_text(encoding="utf-8"))
        model = make_model(meta["kind"], **meta.get("params", {}))
        with np.load(directory / "weights.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, KeyError, TypeError, EOFError, tomllib.TOMLDecodeError) as err:
        raise InputError(f"not a loadable saved model ({type(err).__name__}: {' '.join(str(err).split())[:160]})",
                         file=directory) from None
    agg = arrays.pop("__aggregator_weights", None)
    model.params_ = traverse_util.unflatten_dict(arrays, sep="/")
    for k, v in meta.get("fitted", {}).items():
        setattr(model, k, v)
    model.classes_ = np.asarray(meta.get("classes", [0, 1]))  # models saved before classes_ were 0/1
    if agg is not None:
        model.aggregator_weights_ = agg.astype(float)
    return model
