"""Query language detection: deterministic, and right on the short queries officials type."""

import pytest

from boussole.index.language import detect_language, language_probabilities


@pytest.mark.parametrize(
    "text,lang",
    [
        ("floods arrive without warning", "en"),
        ("our pilot projects stop when the grant runs out", "en"),
        ("nos aînés ne savent pas utiliser les services en ligne", "fr"),
        ("les habitants des quartiers informels n'ont pas accès à internet", "fr"),
        ("données ouvertes", "fr"),
    ],
)
def test_detects_french_and_english(text, lang):
    assert detect_language(text) == lang


def test_same_answer_every_time():
    text = "budget participatif numérique"
    first = language_probabilities(text)
    assert all(language_probabilities(text) == first for _ in range(20))


def test_ambiguous_text_is_not_certain():
    probs = language_probabilities("open data portal")
    assert 0.2 < probs["en"] < 0.8
    assert abs(sum(probs.values()) - 1) < 1e-9
