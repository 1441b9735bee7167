"""The contract every index backend keeps (index.backends.base): the same rows, vectors and
candidates as the in-memory numpy reference, the same filters, and so the same hits from
the one searcher; and, for every backend the reference included, the `Backend` duties:
name the version served, hand it over manifest first, publish a build, refuse another
model before any loads. Runs on the session's real index (447 chunks, real encoders) for
every backend the factory names (`faiss`: the data folder; `milvus`: a real milvus-lite
server in its own process, reached over gRPC) and the in-memory one."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from boussole.index import store
from boussole.index.backends.base import Selection
from boussole.index.backends.factory import BACKENDS, BackendChoice, BackendError, create_backend
from boussole.index.backends.faiss import open_folder
from boussole.index.backends.memory import MemoryBackend, MemoryDense
from boussole.index.errors import IndexMismatch
from boussole.index.filters import FilterColumns, Filters
from boussole.index.searcher import Searcher

pytestmark = pytest.mark.slow
EVERY = (*BACKENDS, "memory")  # the backends the factory names, and the reference they are held to


@pytest.fixture(scope="module")
def reference(index_dir):
    """The version folder's parts with numpy dense legs: what every backend must answer."""
    parts = open_folder(store.resolve(index_dir))
    return dataclasses.replace(parts, dense=MemoryDense(parts.vectors), second_dense=MemoryDense(parts.second_vectors))


@pytest.fixture(scope="module")
def backends(index_dir, milvus_uri, reference):
    """Every backend over the session's index: the named ones as the settings make them,
    each given the build as `boussole build` gives it, and the in-memory reference."""
    made = {name: create_backend(BackendChoice.of(name, milvus_uri, "contract"), index_dir) for name in BACKENDS}
    for backend in made.values():
        backend.publish(store.resolve(index_dir))
    made["memory"] = MemoryBackend(reference)
    return made


@pytest.fixture(scope="module")
def backend_parts(backends):
    return {name: backend.open() for name, backend in backends.items()}


def _selection(parts, filters: Filters) -> Selection:
    """What the searcher hands the backends: the checked filters and the rows they keep."""
    columns = FilterColumns(parts.chunks)
    checked = columns.check(filters)
    return Selection(checked, columns.mask(checked))


def _small_docs(parts) -> tuple[str, ...]:
    """The two documents with the fewest chunks (a filter that keeps few rows)."""
    counts: dict[str, int] = {}
    for chunk in parts.chunks:
        counts[chunk.work_id] = counts.get(chunk.work_id, 0) + 1
    return tuple(sorted(counts, key=lambda d: (counts[d], d))[:2])


def _filter_cases(parts) -> list[Filters]:
    """Filters over the values the corpus has: one field, two fields, several values."""
    first = parts.chunks[0]
    pillars = sorted({c.pillar for c in parts.chunks if c.pillar})
    return [
        Filters(),
        Filters(doc=_small_docs(parts)),
        Filters(doc=(first.work_id,), kind=("measure",)),
        Filters(pillar=tuple(pillars[:2]), actor=("local-regional",)),
        Filters(kind=("definition",), lang=(first.lang,)),
    ]


def _queries(parts, dim: int, seed: int) -> list[np.ndarray]:
    """Random unit vectors (no ties) and a few passage vectors (their own row must win)."""
    rng = np.random.default_rng(seed)
    random = rng.standard_normal((4, dim)).astype(np.float32)
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    return list(random)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_holds_the_same_index_version(backend, backend_parts, reference):
    parts = backend_parts[backend]
    assert [c.id for c in parts.chunks] == [c.id for c in reference.chunks]
    assert parts.chunks == reference.chunks
    assert parts.documents == reference.documents
    assert parts.manifest == reference.manifest
    np.testing.assert_array_equal(parts.vectors, reference.vectors)
    np.testing.assert_array_equal(parts.second_vectors, reference.second_vectors)
    np.testing.assert_array_equal(parts.calibration.query_means["fr"], reference.calibration.query_means["fr"])
    assert parts.scope_model == reference.scope_model
    assert parts.dense.size == parts.second_dense.size == parts.lexical.size == len(reference.chunks)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("leg", ["dense", "second_dense"])
def test_dense_candidates_match_the_reference_with_and_without_filters(backend, leg, backend_parts, reference):
    parts = backend_parts[backend]
    vectors = reference.vectors if leg == "dense" else reference.second_vectors
    for filters in _filter_cases(reference):
        allowed = None if filters.is_empty() else _selection(reference, filters)
        assert allowed is None or 0 < allowed.mask.sum() < len(reference.chunks), filters
        for query in _queries(reference, vectors.shape[1], seed=len(str(filters))):
            got = getattr(parts, leg).search(query, 25, allowed)
            want = getattr(reference, leg).search(query, 25, allowed)
            assert [r for r, _ in got] == [r for r, _ in want], (backend, leg, filters)
            np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=0, atol=1e-5)
            if allowed is not None:
                assert all(allowed.mask[r] for r, _ in got)


@pytest.mark.parametrize("backend", EVERY)
def test_a_passage_finds_itself_first(backend, backend_parts, reference):
    parts = backend_parts[backend]
    for row in (0, 101, len(reference.chunks) - 1):
        assert parts.dense.search(reference.vectors[row], 3)[0][0] == row
        assert parts.second_dense.search(reference.second_vectors[row], 3)[0][0] == row


@pytest.mark.parametrize("backend", EVERY)
def test_k_beyond_the_allowed_rows_returns_each_allowed_row_once(backend, backend_parts, reference):
    parts = backend_parts[backend]
    allowed = _selection(reference, Filters(kind=("definition",)))
    got = parts.dense.search(reference.vectors[0], 200, allowed)
    assert sorted(r for r, _ in got) == np.flatnonzero(allowed.mask).tolist()
    everything = parts.second_dense.search(reference.second_vectors[0], 10_000)
    assert sorted(r for r, _ in everything) == list(range(len(reference.chunks)))


@pytest.mark.parametrize("backend", BACKENDS)
def test_lexical_candidates_match_the_reference(backend, backend_parts, reference):
    parts = backend_parts[backend]
    allowed = _selection(reference, Filters(doc=_small_docs(reference)))
    for query, lang in [("données ouvertes et vie privée", "fr"), ("digital divide in rural areas", "en")]:
        assert parts.lexical.search(query, lang, 30) == reference.lexical.search(query, lang, 30)
        filtered = parts.lexical.search(query, lang, 30, allowed)
        assert filtered == reference.lexical.search(query, lang, 30, allowed)
        assert all(allowed.mask[r] for r, _ in filtered)
        assert len(filtered) < len(parts.lexical.search(query, lang, 30))
    tokens = ["donne", "ouvert", "plateform"]
    assert parts.lexical.search_tokens(tokens, 20, allowed) == reference.lexical.search_tokens(tokens, 20, allowed)


@pytest.fixture(scope="module")
def encoders(searcher):
    return searcher._embedder, searcher._second


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_searcher_ranks_the_same_over_every_backend(backend, backends, reference, encoders, models_dir):
    """Fusion, scope and folding run once above the seam: same query, same hits."""
    embedder, second = encoders
    expected = Searcher(reference, embedder, second)
    actual = Searcher.open_served(backends[backend], models_dir, encoders=lambda manifest: (embedder, second))
    assert actual.version == backends[backend].served().version
    cases = [
        ("comment associer les habitants aux décisions sur les capteurs urbains", Filters(), "hybrid"),
        ("cybersecurity of municipal systems", Filters(doc=_small_docs(reference)), "hybrid"),
        ("accès à internet pour les personnes âgées", Filters(kind=("measure",)), "dense"),
        ("procurement rules for technology vendors", Filters(actor=("national",)), "bm25"),
    ]
    for query, filters, mode in cases:
        want = expected.search(query, k=10, filters=filters, mode=mode)
        got = actual.search(query, k=10, filters=filters, mode=mode)
        assert want.hits, (query, filters, mode)
        assert [h.chunk.id for h in got.hits] == [h.chunk.id for h in want.hits], (backend, query)
        assert [h.duplicates for h in got.hits] == [h.duplicates for h in want.hits]
        np.testing.assert_allclose([h.score for h in got.hits], [h.score for h in want.hits], atol=1e-6)
        assert got.scope == want.scope


# -- the Backend duties ----------------------------------------------------------------------


@pytest.mark.parametrize("backend", EVERY)
def test_served_names_the_version_opened_without_opening_it(backend, backends, backend_parts, index_dir):
    served = backends[backend].served()
    parts = backend_parts[backend]
    assert served.version == parts.version
    assert served.built_at in (None, parts.manifest.built_at)
    folder = backends[backend].folder  # a backend of local files names the folder served
    assert served.path == (None if folder is None else store.resolve(index_dir))


@pytest.mark.parametrize("backend", EVERY)
def test_a_pinned_version_hands_over_its_manifest_then_the_same_version(backend, backends, reference):
    pinned = backends[backend].pin()
    assert pinned.manifest == reference.manifest
    parts = pinned.load()
    assert (parts.manifest, parts.location) == (pinned.manifest, pinned.location)
    assert parts.version == backends[backend].served().version


@pytest.mark.parametrize("backend", EVERY)
def test_publishing_the_build_served_already_changes_nothing(backend, backends, index_dir):
    before = backends[backend].served()
    report = backends[backend].publish(store.resolve(index_dir))
    assert report is None or (report.unchanged and report.collection == before.version)
    assert backends[backend].served() == before


@pytest.mark.parametrize("backend", EVERY)
def test_another_model_is_refused_before_any_encoder_loads(backend, backends, models_dir):
    def encoders(manifest):
        raise AssertionError("encoders chosen for an index of another model")

    with pytest.raises(
        IndexMismatch, match="was built with model 'multilingual-e5-small-problems', not 'another-model'"
    ):
        Searcher.open_served(backends[backend], models_dir, "another-model", encoders)


def test_the_factory_refuses_unusable_settings_in_one_line():
    with pytest.raises(BackendError, match=r"^unknown backend 'solr'; choose faiss or milvus$"):
        BackendChoice.of("solr")
    with pytest.raises(BackendError, match="the milvus backend needs --milvus-uri"):
        BackendChoice.of("milvus")
    with pytest.raises(BackendError, match="Milvus alias 'a-b'"):
        create_backend(BackendChoice.of("milvus", "http://127.0.0.1:1", "a-b"), Path("data/index"))
