"""Text analysis for BM25: accent folding, stop words and Snowball stemming per language.

French and English text must be analysed with their own stemmer and stop words; the
stem is taken before accent folding (Snowball's French stemmer expects accents), the
folded form is what is indexed so that "reseau" matches "réseau".
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)
_ELISION = re.compile(r"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)['’]", re.IGNORECASE)
_STEMMER_NAMES = {"fr": "french", "en": "english"}


def fold_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


@cache
def _stopwords(lang: str) -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN_PLUS, STOPWORDS_FRENCH

    words = {"fr": STOPWORDS_FRENCH, "en": STOPWORDS_EN_PLUS}.get(lang, ())
    return frozenset(fold_accents(w.lower()) for w in words)


@cache
def _stemmer(lang: str):
    import Stemmer

    return Stemmer.Stemmer(_STEMMER_NAMES.get(lang, "french"))


def analyse(text: str, lang: str) -> list[str]:
    """Tokens of `text` as indexed by BM25: lower-cased, elisions cut, stop words out, stemmed, folded."""
    words = []
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", text).lower()):
        word = _ELISION.sub("", match.group())
        word = word.replace("’", "'")
        if len(word) < 2 or word.isdigit() and len(word) < 3:
            continue
        if fold_accents(word) in _stopwords(lang):
            continue
        words.append(word)
    stems = _stemmer(lang).stemWords(words)
    return [fold_accents(s) for s in stems]
