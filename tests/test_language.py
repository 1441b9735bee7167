"""Language detection, deterministic: a chunk's language (`boussole.language`, at ingestion)
and a query's language probabilities (`boussole.index.language`, at search time)."""

import pytest

from boussole.index.language import language_probabilities
from boussole.language import detect_language

FRENCH = "Les collectivités locales et régionales sont encouragées à ouvrir leurs données au public."
ENGLISH = "Local and regional governments are encouraged to open their data to the public."
SPANISH = "Los gobiernos locales y regionales deben abrir sus datos al público y a la ciudadanía."


@pytest.mark.parametrize("text,lang", [(FRENCH, "fr"), (ENGLISH, "en")])
@pytest.mark.parametrize("declared", ["fr", "en"])
def test_a_chunk_gets_its_own_language_whatever_its_document_declares(text, lang, declared):
    assert detect_language(text, declared) == lang


def test_a_text_too_short_to_tell_gets_the_documents_language():
    assert detect_language("Secteur privé ;", "fr") == "fr"
    assert detect_language("Open data portal", "fr") == "fr"


def test_the_declared_language_is_a_candidate_beside_the_analysers_ones():
    assert detect_language(SPANISH, "es") == "es"
    assert detect_language(SPANISH, "fr") != "es"


def test_a_chunks_language_is_the_same_every_time():
    assert all(detect_language(ENGLISH, "fr") == "en" for _ in range(20))


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
def test_short_queries_lean_to_their_language(text, lang):
    assert language_probabilities(text)[lang] > 0.5


def test_same_answer_every_time():
    text = "budget participatif numérique"
    first = language_probabilities(text)
    assert all(language_probabilities(text) == first for _ in range(20))


def test_ambiguous_text_is_not_certain():
    probs = language_probabilities("open data portal")
    assert 0.2 < probs["en"] < 0.8
    assert abs(sum(probs.values()) - 1) < 1e-9
