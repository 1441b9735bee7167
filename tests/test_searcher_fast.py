"""The searcher's mechanics on the real corpus, over the in-memory backend with a fake
embedder: modes, filters, refusals and lookups need no real model, so these run in seconds
(`pytest -m "not slow"`). Retrieval quality is tested with the real model in test_index.py."""

from __future__ import annotations

import pytest

from boussole.index.backends.memory import build_parts
from boussole.index.encoders.base import BatchingEncoder
from boussole.index.errors import ChunkNotFound, FilterError, QueryError
from boussole.index.filters import Filters
from boussole.index.searcher import MAX_QUERY_CHARS, Searcher
from boussole.service.batching import QueryBatcher
from fakes import FakeEncoder

E5, USE = FakeEncoder(64, "fake-e5"), FakeEncoder(48, "fake-use")


@pytest.fixture(scope="module")
def parts(ingest_report):
    return build_parts(ingest_report.chunks, ingest_report.documents, E5, USE)


@pytest.fixture(scope="module")
def searcher(parts):
    """Shadows the session's real searcher for this module: same chunks, fake encoders."""
    return Searcher(parts, E5, USE)


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
    [
        ("doc", "hsp-ha-2-res-1"),
        ("kind", "measure"),
        ("pillar", "enabling-4"),
        ("actor", "local-regional"),
        ("lang", "fr"),
    ],
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


# -- encoders --------------------------------------------------------------------------


def test_a_batching_second_encoder_is_queued_and_closed_with_the_searcher(parts, searcher):
    """The service's path: the second encoder is a BatchingEncoder, so the searcher queues
    the query there before encoding with e5; same hits as the plain searcher, and closing
    the searcher stops the batching worker."""
    second = QueryBatcher(USE, max_wait=0.0)
    assert isinstance(second, BatchingEncoder) and not isinstance(USE, BatchingEncoder)
    batched = Searcher(parts, E5, second)
    for query in ("financer les projets numériques des villes", "open data and privacy"):
        got, want = batched.search(query, k=10), searcher.search(query, k=10)
        assert [(h.chunk.id, h.score) for h in got.hits] == [(h.chunk.id, h.score) for h in want.hits]
    assert second.batches == 2
    batched.close()
    assert not second.alive
