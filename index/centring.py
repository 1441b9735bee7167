"""Language-mean centring of multilingual embeddings (pure functions over arrays).

Multilingual encoders carry a language component: every French text shares a direction,
every English text another, so an English question sits closer to English passages and
to "hub" passages that resemble every question than to the French passage that answers
it. Subtracting the mean passage vector from passages, and the mean question vector of
the question's language from a question, then renormalising, removes that component
(Libovický, Rosa & Fraser 2020, "On the Language Neutrality of Pre-trained Multilingual
Representations"). The means come from the corpus and from the calibration set.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def unit(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return (vectors / np.where(norms == 0, 1.0, norms)).astype(np.float32)


def centre(vectors: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Subtract `mean` from each row and renormalise."""
    return unit(np.asarray(vectors, dtype=np.float32) - mean.astype(np.float32))


def query_mean(lang_probs: Mapping[str, float], means: Mapping[str, np.ndarray]) -> np.ndarray:
    """The mean to subtract from a question: the per-language means weighted by how likely
    the question is in each language (a question of unsure language gets a blend)."""
    total = sum(lang_probs.get(lang, 0.0) for lang in means) or 1.0
    # never the empty sum 0: an index has a mean for each of its languages
    return sum(means[lang] * (lang_probs.get(lang, 0.0) / total) for lang in means)  # type: ignore[return-value]


def centre_by_language(vectors: np.ndarray, langs: Sequence[str], means: Mapping[str, np.ndarray]) -> np.ndarray:
    """Each row centred on the mean of its own language (a language without a mean: only
    renormalised), as a question written in that language is: for texts whose language is
    known (item-problem statements, judged problems)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    zero = np.zeros(vectors.shape[1], np.float32)
    return unit(vectors - np.stack([means.get(lang, zero) for lang in langs]).astype(np.float32))
