"""Query language detection that is deterministic and honest about doubt.

langdetect is seeded (it is random otherwise) and restricted to the languages the
analysers know. Short queries ("open data portal", "inondations") are where it guesses,
so stop words and French diacritics weigh in, and the result is a probability: the
fusion lowers BM25's weight by how unsure the language is, instead of betting on a guess.
"""

from __future__ import annotations

import re

from boussole.language import LANGUAGES as SUPPORTED

_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)?", re.UNICODE)
_FRENCH_LETTERS = re.compile(r"[éèêëàâçùûüôîïœ]", re.IGNORECASE)
# Function words that are frequent in one language and rare in the other.
_MARKERS = {
    "fr": {
        "le",
        "la",
        "les",
        "des",
        "du",
        "de",
        "un",
        "une",
        "et",
        "est",
        "sont",
        "nos",
        "notre",
        "pas",
        "ne",
        "qui",
        "que",
        "pour",
        "dans",
        "sur",
        "avec",
        "aux",
        "au",
        "ce",
        "ces",
        "il",
        "ils",
        "elles",
        "nous",
        "vous",
        "leur",
        "leurs",
        "comment",
        "quoi",
        "très",
        "plus",
        "d'un",
        "d'une",
        "l'accès",
        "n'ont",
        "n'est",
        "qu'il",
        "ou",
        "mais",
        "sans",
        "faire",
    },
    "en": {
        "the",
        "of",
        "and",
        "is",
        "are",
        "our",
        "we",
        "they",
        "not",
        "no",
        "with",
        "for",
        "in",
        "on",
        "to",
        "a",
        "an",
        "how",
        "what",
        "can",
        "cannot",
        "can't",
        "don't",
        "do",
        "does",
        "their",
        "this",
        "that",
        "there",
        "have",
        "has",
        "be",
        "by",
        "from",
        "it",
        "without",
        "when",
        "who",
        "which",
        "should",
        "about",
        "into",
        "or",
        "but",
        "get",
    },
}


def language_probabilities(text: str) -> dict[str, float]:
    """P(language) over SUPPORTED for a query or passage; sums to 1."""
    words = [w.lower() for w in _WORD.findall(text)]
    if not words:
        return {"fr": 0.5, "en": 0.5}
    votes = {lang: float(sum(w in markers for w in words)) for lang, markers in _MARKERS.items()}
    votes["fr"] += 0.5 * len(_FRENCH_LETTERS.findall(text))
    # Markers are reliable evidence; langdetect counts as one vote, weighted by its
    # confidence, and is only asked when the markers do not already decide (it is the
    # slowest step of a search after the model).
    high, low = sorted(votes.values(), reverse=True)
    if not (high >= 2 and high >= 3 * low):
        detected = _langdetect(text)
        for lang in SUPPORTED:
            votes[lang] += detected.get(lang, 0.0)
    total = sum(votes.values())
    if total == 0:
        return {"fr": 0.5, "en": 0.5}
    # Laplace smoothing: one word of evidence should not make us certain.
    smoothed = {lang: (votes[lang] + 0.5) / (total + 1.0) for lang in SUPPORTED}
    return smoothed


def _langdetect(text: str) -> dict[str, float]:
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    DetectorFactory.seed = 0
    try:
        guesses = detect_langs(text)
    except LangDetectException:
        return {}
    probs = {g.lang: g.prob for g in guesses if g.lang in SUPPORTED}
    total = sum(probs.values())
    return {lang: p / total for lang, p in probs.items()} if total else {}
