"""A fine-grained feedback study as reward-model data (:class:`~steerstats.data.feedback_io.FeedbackData`):
Collins et al. (2024) experiment 1 on TIFA-160.

One example per image: the aggregate is the binarised mean of the 5-rater panel (mean >= threshold);
the attributes are the AI category scores ``<vqa>_<category>`` of every VQA model (the DSG category
means of :mod:`steerstats.metrics.dsg`; NaN where the prompt has no question of that category, i.e.
not elicited); the groups are the prompts. The inputs are the prompt's text embedding next to a
one-hot of the text-to-image model: NO image features are used (the images are not released), so a
reward model can only learn which prompts and which models tend to please the raters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from steerstats.data.feedback_io import FeedbackData
from steerstats.data.tifa160 import CATEGORIES, VQA_MODELS, FeedbackStudy

INPUTS_NOTE = ("inputs: the prompt's text embedding + a one-hot of the text-to-image model; no image features "
               "(TIFA-160 releases no images)")


def attribute_names() -> tuple[str, ...]:
    """``<vqa>_<category>`` for every VQA model and DSG category."""
    return tuple(f"{vqa}_{cat}" for vqa in VQA_MODELS.values() for cat in CATEGORIES)


def feedback_images(study: FeedbackStudy) -> pd.DataFrame:
    """The scorer frame in image_id order: the row order of the reward-model data (computed once,
    it can be passed to :func:`tifa160_feedback` and :func:`tifa160_aggregates`)."""
    from steerstats.feedback.study import scorer_frame

    images, _ = scorer_frame(study)
    return images.sort_values("image_id", kind="stable").reset_index(drop=True)


def tifa160_aggregates(study: FeedbackStudy, thresholds, *, images: pd.DataFrame | None = None) -> dict[float, np.ndarray]:
    """threshold -> the aggregate 1[5-rater mean >= threshold] per row of :func:`tifa160_feedback`
    (``images``: :func:`feedback_images` of ``study``, if already computed)."""
    mean = (feedback_images(study) if images is None else images)["human_mean"].to_numpy(float)
    return {float(t): (mean >= t).astype(int) for t in thresholds}


def tifa160_feedback(
    study: FeedbackStudy,
    *,
    threshold: float = 4.0,
    embedder: str = "minilm",
    seed: int = 0,
    cache_dir: str | None = None,
    images: pd.DataFrame | None = None,
) -> FeedbackData:
    """The reward-model data of ``study`` (module docstring), rows in image_id order (``images``:
    :func:`feedback_images` of ``study``, if already computed)."""
    from steerstats.features.cache import fit_and_embed

    images = feedback_images(study) if images is None else images
    attrs = images[[f"dsg_{name}" for name in attribute_names()]].to_numpy(float)
    text = fit_and_embed(embedder, images["prompt"].astype(str).tolist(), seed=seed, cache_dir=cache_dir)
    models = sorted(images["t2i_model"].unique())
    onehot = (images["t2i_model"].to_numpy()[:, None] == np.array(models)[None, :]).astype(float)
    return FeedbackData(
        embeddings=np.hstack([text, onehot]).astype(np.float32),
        aggregate=(images["human_mean"] >= threshold).to_numpy(int),
        attributes=attrs,
        attribute_names=attribute_names(),
        group=images["prompt_id"].to_numpy(),
        example_id=images["image_id"].to_numpy(),
        source=f"tifa160 ({study.source}; {INPUTS_NOTE}; aggregate = 5-rater mean >= {threshold:g})",
    )
