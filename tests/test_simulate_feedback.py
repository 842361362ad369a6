"""Synthetic fine-grained feedback: determinism, known truth, the tree target, costs."""

from __future__ import annotations

import numpy as np
import pytest

from steerstats.data.simulate.feedback import (
    ALL_ATTRIBUTES,
    ANNOTATION_SECONDS,
    TREE_ATTRIBUTES,
    FeedbackWorld,
    annotation_costs,
    simulate_feedback,
)
from steerstats.errors import ConfigError


def test_same_seed_identical_new_seed_fresh_items_same_world():
    world = FeedbackWorld(dim=16, mixing_width=32)
    a, b, c = world.sample(50, 1), world.sample(50, 1), world.sample(50, 2)
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    np.testing.assert_array_equal(a.ai_attributes, b.ai_attributes)
    assert not np.array_equal(a.embeddings, c.embeddings)
    # the same world structure: a second world object with the same config gives the same items
    np.testing.assert_array_equal(FeedbackWorld(dim=16, mixing_width=32).sample(50, 1).latent, a.latent)
    assert a.embeddings.shape == (50, 16) and a.embeddings.dtype == np.float32
    assert a.attribute_names == ALL_ATTRIBUTES and len(ALL_ATTRIBUTES) == 13


def test_tree_target_is_the_documented_tree_on_ai_labels():
    s = simulate_feedback(2000, 0, dim=8, mixing_width=16)
    photo, compelling, chaotic = (s.attributes([a])[:, 0] == 1 for a in TREE_ATTRIBUTES)
    expected = photo & (compelling | ~chaotic)
    np.testing.assert_array_equal(s.aggregate, expected.astype(int))
    assert 0.2 < s.aggregate.mean() < 0.6


def test_ai_labels_equal_truth_without_noise_and_misalignment():
    s = simulate_feedback(500, 3, dim=8, ai_label_noise=0.0, misalignment=0.0)
    np.testing.assert_array_equal(s.ai_attributes, s.true_attributes)
    noisy = simulate_feedback(2000, 3, dim=8, ai_label_noise=1.0)
    agreement = np.mean(noisy.ai_attributes == noisy.true_attributes)
    assert 0.55 < agreement < 0.9
    mis = simulate_feedback(2000, 3, dim=8, ai_label_noise=0.0, misalignment=1.0)
    assert np.mean(mis.ai_attributes == mis.true_attributes) < 0.9


def test_soft_labels_and_prevalence():
    s = simulate_feedback(4000, 0, dim=8, soft_labels=True, prevalence=0.2, ai_label_noise=0.0)
    assert s.ai_attributes.min() >= 0 and s.ai_attributes.max() <= 1
    assert len(np.unique(s.ai_attributes)) > 100
    assert s.true_attributes.mean() == pytest.approx(0.2, abs=0.03)


def test_human_target_depends_on_unlabelled_latents_and_groups_share_prompts():
    world = FeedbackWorld(dim=8, target="human", n_unlabelled=3, human_noise=0.0)
    s = world.sample(3000, 0, group_size=5)
    m = len(world.attribute_names)
    assert np.all(s.group == np.arange(3000) // 5)
    resid = s.aggregate_score - s.latent[:, :m] @ world.human_weights / np.sqrt(
        np.sum(world.human_weights**2) + np.sum(world.unlabelled_weights**2)
    )
    assert np.corrcoef(resid, s.latent[:, m:] @ world.unlabelled_weights)[0, 1] > 0.99
    np.testing.assert_array_equal(s.aggregate, (s.aggregate_score > 0).astype(int))


def test_to_frame_is_the_user_table_format():
    s = simulate_feedback(12, 0, dim=4)
    frame = s.to_frame()
    assert list(frame.columns[:3]) == ["example_id", "group_id", "aggregate"]
    assert set(ALL_ATTRIBUTES) <= set(frame.columns)
    assert len(frame["embedding"].iloc[0]) == 4


def test_costs_and_bad_config():
    costs = annotation_costs(["photorealistic", "funny"])
    assert costs == {"aggregate": 52.7, "photorealistic": 19.4, "funny": 12.8}
    assert ANNOTATION_SECONDS["distorted"] == 56.1
    with pytest.raises(ConfigError, match="blurry"):
        annotation_costs(["blurry"])
    assert annotation_costs(["blurry"], {"blurry": 10.0})["blurry"] == 10.0
    with pytest.raises(ConfigError, match="tree"):
        FeedbackWorld(attributes=("blurry", "funny"))
    with pytest.raises(ConfigError, match="target"):
        FeedbackWorld(target="forest")
