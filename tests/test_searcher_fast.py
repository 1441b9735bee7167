"""The searcher's mechanics on the real corpus, over the in-memory backend with a fake
embedder: modes, filters, refusals and lookups need no real model, so these run in seconds
(`pytest -m "not slow"`). Retrieval quality is tested with the real model in test_index.py."""

from __future__ import annotations

import pytest

from fakes import FakeEmbedder
from boussole.index.errors import ChunkNotFound, FilterError, QueryError
from boussole.index.filters import Filters
from boussole.index.memory_backend import build_parts
from boussole.index.searcher import MAX_QUERY_CHARS, Searcher


@pytest.fixture(scope="module")
def searcher(ingest_report):
    """Shadows the session's real searcher for this module: same chunks, fake encoders."""
    e5, use = FakeEmbedder(64, "fake-e5"), FakeEmbedder(48, "fake-use")
    return Searcher(build_parts(ingest_report.chunks, ingest_report.documents, e5, use), e5, use)


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_returns_ranked_hits(searcher, mode):
    result = searcher.search("données ouvertes et protection de la vie privée", k=7, mode=mode)
    assert 1 <= len(result.hits) <= 7
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True)


# -- filters ---------------------------------------------------------------------------

@pytest.mark.parametrize(
    "field,value",
    [("doc", "hsp-ha-2-res-1"), ("kind", "measure"), ("pillar", "enabling-4"), ("actor", "local-regional"), ("lang", "fr")],
)
def test_each_filter_restricts_results(searcher, field, value):
    result = searcher.search("financer les projets numériques des villes", k=10, filters=Filters(**{field: (value,)}))
    assert result.hits
    attribute = {"doc": "doc_id"}.get(field, field)
    assert all(getattr(h.chunk, attribute) == value for h in result.hits)


def test_filters_combine(searcher):
    filters = Filters(kind=("measure",), actor=("national",), pillar=("thematic-4",))
    result = searcher.search("accessibilité numérique des personnes handicapées", k=10, filters=filters)
    assert result.hits
    for hit in result.hits:
        assert (hit.chunk.kind, hit.chunk.actor, hit.chunk.pillar) == ("measure", "national", "thematic-4")


def test_unknown_filter_value_lists_valid_values(searcher):
    with pytest.raises(FilterError) as caught:
        searcher.search("inondations", filters=Filters(pillar=("thematic-9",)))
    assert caught.value.field == "filters.pillar"
    assert "thematic-1" in caught.value.valid and "enabling-4" in caught.value.valid
    assert "thematic-9" in str(caught.value)


@pytest.mark.parametrize("query", ["", "   \n "])
def test_empty_query_is_refused(searcher, query):
    with pytest.raises(QueryError, match="empty"):
        searcher.search(query)


def test_huge_query_is_refused(searcher):
    with pytest.raises(QueryError, match=str(MAX_QUERY_CHARS)):
        searcher.search("inondation " * 400)


def test_chunk_lookup_and_neighbours(searcher):
    around = searcher.neighbours("hsp-ha-2-14:40.b", before=1, after=1)
    assert [c.id for c in around] == ["hsp-ha-2-14:40.a", "hsp-ha-2-14:40.b", "hsp-ha-2-14:40.c"]
    with pytest.raises(ChunkNotFound):
        searcher.chunk("hsp-ha-2-14:999.z")
