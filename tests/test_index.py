"""The index on the real corpus with the real model: retrieval, integrity, rebuilds.

The searcher's mechanics (modes, filters, refusals, lookups) are in test_searcher_fast.py,
over the in-memory backend and a fake embedder."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from boussole.index import store
from boussole.index.builder import build_index, embed_chunks, is_fresh
from boussole.index.cache import EmbeddingCache, passage_key, text_key
from boussole.index.centring import centre
from boussole.index.encoders.convert.onnx_build import INT8_PASSAGES
from boussole.index.errors import IndexCorrupt, IndexMismatch, IndexNotFound
from boussole.index.searcher import Searcher

pytestmark = pytest.mark.slow


def ids(result) -> list[str]:
    """The passages' ids (their authoritative text's), whatever language they are shown in."""
    return [hit.source.id for hit in result.hits]


# -- cross-lingual retrieval ---------------------------------------------------------


def test_english_flood_warning_finds_item_40_b(searcher):
    result = searcher.search(
        "Floods hit our neighbourhoods without any warning and residents are not alerted in time", k=5
    )
    assert result.query_lang == "en"
    assert "hsp-ha-2-14:40.b" in ids(result)


def test_french_elderly_e_services_finds_item_77_f(searcher):
    result = searcher.search("Nos habitants âgés n'arrivent pas à utiliser les services administratifs en ligne", k=15)
    assert result.query_lang == "fr"
    # 77 (f): skills programmes for older people (12th, with int8 and float32 vectors alike,
    # 2026-12-07); 69 (a) and 50 (e): services accessible to all
    assert "hsp-ha-2-14:77.f" in ids(result)
    assert {"hsp-ha-2-14:69.a", "hsp-ha-2-14:50.e"} & set(ids(result)[:3])


def test_a_matched_definition_brings_the_measures_that_use_its_term(searcher):
    """Vendor lock-in in other words: the glossary's "verrouillage par le fournisseur"
    matches, and the principle that names it, 80 (c), moves up. The bridge is measured on
    the ranking without the item problems' dense share (index.problems), which finds 80 (c)
    by its statements and leaves the bridge little to do. BM25 still reads the statements,
    and since their fourth round the French question's definition ranks 11th there, just
    past the bridge's reach (glossary_depth 10): that question now checks the answer only,
    as the English one does. Since the judged problems (index/judged_problems.toml) the
    bridge lifts the lock-in measures 33 (e) and 69 (e) with 80 (c), so 80 (c) gains score
    (0.32 to 0.44 of the first passage's, 2026-12-07) more than places: the score is what
    is checked. The English question's passages put 80 (c) 6th with the defaults, behind
    glossary entries and those measures: for both questions, what is checked is the answer
    an official reads, whose principles name it."""
    texts_only = searcher.fusion.with_(problem_share=0.0)
    english = "All our data is locked in one vendor's platform and we cannot switch"
    french = "Notre fournisseur de logiciels garde toutes nos données et nous ne pouvons pas changer de société"

    def share_of_best(fusion) -> float:
        hits = searcher.search(english, k=50, fusion=fusion).hits
        score = next(h.score for h in hits if h.source.id == "hsp-ha-2-14:80.c")
        return score / hits[0].score

    result = ids(searcher.search(english, k=10, fusion=texts_only))
    assert "hsp-ha-2-14:glossary.verrouillage-par-le-fournisseur" in result
    assert "hsp-ha-2-14:80.c" in result
    assert share_of_best(texts_only) > share_of_best(texts_only.with_(glossary_weight=0.0)) + 0.05
    from boussole.index.scope import assess_scope
    from boussole.service.recommend import recommend

    for query in (english, french):
        principles = [(i.original or i.chunk).id for i in recommend(searcher, query, assess=assess_scope).principles]
        assert "hsp-ha-2-14:80.c" in principles, (query, principles)


def test_the_first_results_do_not_depend_on_how_many_are_asked(searcher):
    for query in ("Nos systèmes municipaux subissent des cyberattaques", "how do we reach people without internet?"):
        assert ids(searcher.search(query, k=10)) == ids(searcher.search(query, k=50))[:10]


def test_an_outlying_hub_passage_is_held_back(searcher):
    """A conference speaker's definition of a smart city resembles every question; the
    hub penalty lowers it, and only it and a few like it. Its score is what is checked,
    not the places around it: the penalty also changes the pseudo-relevance feedback, and
    the neighbours of a hub moved by a place either way between two CPUs' float rounding
    (bench/cpu_parity.py), while the first hub lost 0.09-0.16 on both (2026-12-07)."""
    hubs = searcher._outlying_use_hubs(searcher.fusion.use_hub_z)
    assert 0 < np.count_nonzero(hubs) <= 0.05 * len(searcher.chunks)
    hub_ids = {searcher.chunks[searcher._representative[searcher._group[i]]].id for i in np.flatnonzero(hubs)}
    for query in (
        "what makes a city smart for its residents?",
        "qu'est-ce qui rend une ville intelligente pour ses habitants ?",
    ):
        plain = searcher.search(query, k=50, fusion=searcher.fusion.with_(use_hub_penalty=0.0))
        held = {h.source.id: h.score for h in searcher.search(query, k=50).hits}
        first = next((h for h in plain.hits[:10] if h.source.id in hub_ids), None)
        assert first is not None, (query, ids(plain)[:10])  # a hub among the first ten without the penalty
        assert held.get(first.source.id, 0.0) < first.score - 0.05, (query, first.source.id, first.score)


def test_near_duplicates_do_not_fill_the_top_k(searcher):
    a, b = searcher.chunk("hsp-ha-2-14:69.k"), searcher.chunk("hsp-ha-2-14:77.g")
    result = searcher.search(a.text, k=10)
    found = ids(result)
    assert ("hsp-ha-2-14:69.k" in found) != ("hsp-ha-2-14:77.g" in found), (a.text, b.text)
    folded = [h for h in result.hits if h.source.id in ("hsp-ha-2-14:69.k", "hsp-ha-2-14:77.g")][0]
    assert set(folded.duplicates) & {"hsp-ha-2-14:69.k", "hsp-ha-2-14:77.g"}


# -- integrity -------------------------------------------------------------------------


@pytest.fixture
def index_copy(index_dir, tmp_path) -> Path:
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    return copy


def test_manifest_describes_the_build(index_dir, ingest_report):
    manifest = store.read_manifest(index_dir)
    assert manifest.model_id == "multilingual-e5-small-problems"
    assert manifest.dim == 384
    assert manifest.chunk_count == len(ingest_report.chunks)
    assert set(manifest.files) >= {"dense.faiss", "chunks.jsonl", "documents.json"}
    assert manifest.libraries["faiss-cpu"] != "absent"


def test_passage_precision_is_part_of_freshness(index_copy, ingest_report, searcher):
    """An index of int8 passages is stale for a float32 build and the other way round (the
    manifest says which it holds); a manifest written before the field existed held
    float32 passages. The cache keys of the two precisions never meet."""
    chunks, documents = ingest_report.chunks, ingest_report.documents
    fingerprint = searcher._embedder.fingerprint
    assert store.read_manifest(index_copy).passage_precision == INT8_PASSAGES
    assert is_fresh(index_copy, chunks, documents, fingerprint, passages=INT8_PASSAGES)
    assert not is_fresh(index_copy, chunks, documents, fingerprint, passages="fp32")
    path = index_copy / store.MANIFEST
    data = json.loads(path.read_text())
    del data["passage_precision"]
    path.write_text(json.dumps(data))
    assert store.read_manifest(index_copy).passage_precision == "fp32"
    assert is_fresh(index_copy, chunks, documents, fingerprint, passages="fp32")
    assert not is_fresh(index_copy, chunks, documents, fingerprint, passages=INT8_PASSAGES)
    text = chunks[0].text
    assert passage_key(text, "fp32") == text_key(text) != passage_key(text, INT8_PASSAGES)


def test_index_built_with_another_model_is_refused(index_copy, models_dir):
    with pytest.raises(IndexMismatch, match="multilingual-e5-small-problems"):
        Searcher.open(index_copy, models_dir, model="some-other-model")


def test_index_built_with_other_weights_is_refused(index_copy, models_dir):
    path = index_copy / store.MANIFEST
    data = json.loads(path.read_text())
    data["model_fingerprint"] = "0" * 64
    path.write_text(json.dumps(data))
    with pytest.raises(IndexMismatch, match="rebuild"):
        Searcher.open(index_copy, models_dir)


def test_truncated_faiss_file_is_a_clear_error(index_copy, models_dir):
    faiss_file = index_copy / store.DENSE_FILE
    faiss_file.write_bytes(faiss_file.read_bytes()[:1000])
    with pytest.raises(IndexCorrupt, match="dense.faiss"):
        Searcher.open(index_copy, models_dir)


def test_garbage_faiss_file_with_matching_checksum_is_a_clear_error(index_copy, models_dir):
    """Even when the manifest agrees, FAISS's own failure surfaces as IndexCorrupt."""
    faiss_file = index_copy / store.DENSE_FILE
    faiss_file.write_bytes(b"not a faiss index" * 10)
    path = index_copy / store.MANIFEST
    data = json.loads(path.read_text())
    data["files"]["dense.faiss"] = store.sha256_file(faiss_file)
    path.write_text(json.dumps(data))
    with pytest.raises(IndexCorrupt, match="FAISS"):
        Searcher.open(index_copy, models_dir)


def test_missing_index_says_how_to_build(tmp_path, models_dir):
    with pytest.raises(IndexNotFound, match="boussole build"):
        Searcher.open(tmp_path / "nowhere", models_dir)


# -- builds ----------------------------------------------------------------------------


def test_rebuild_embeds_only_new_or_changed_chunks(data_dir, ingest_report, searcher, tmp_path):
    """With the session's cache, a new document and one edited chunk are all that is embedded."""
    cache_dir = tmp_path / "cache"
    shutil.copytree(data_dir / "cache", cache_dir)
    chunks = list(ingest_report.chunks)
    chunks[0] = replace(chunks[0], text=chunks[0].text + " (texte modifié)")
    new_doc = replace(ingest_report.documents[0], id="new-doc", title="A new document", source="new.txt")
    new_chunks = [
        replace(chunks[5], id="new-doc:1", doc_id="new-doc", text="Smart streetlights save energy.", order=0),
        replace(chunks[6], id="new-doc:2", doc_id="new-doc", text="Sensors report air quality hourly.", order=1),
    ]
    report = build_index(
        chunks + new_chunks,
        list(ingest_report.documents) + [new_doc],
        searcher._embedder,
        tmp_path / "index",
        cache_dir,
    )
    assert (report.embedded, report.reused) == (3, len(chunks) - 1)
    again = build_index(
        chunks + new_chunks,
        list(ingest_report.documents) + [new_doc],
        searcher._embedder,
        tmp_path / "index",
        cache_dir,
    )
    assert again.embedded == 0


def test_cached_vectors_equal_fresh_ones(ingest_report, searcher):
    chunks = ingest_report.chunks[:4]
    fresh, _ = embed_chunks(chunks, searcher._embedder, EmbeddingCache(None))
    stored = np.stack([searcher._vectors[searcher._row[c.id]] for c in chunks])
    # the index holds the vectors centred on the corpus mean (index.centring)
    assert np.allclose(centre(fresh, searcher.calibration.passage_mean), stored, atol=1e-5)


class _FailingEncoder:
    def __init__(self, real):
        self.model_id, self.dim, self.fingerprint = real.model_id, real.dim, "failing"

    def embed_documents(self, texts):
        raise RuntimeError("interrupted")

    def embed_queries(self, texts):
        raise RuntimeError("interrupted")


def test_failed_build_leaves_the_old_index_untouched(index_copy, ingest_report, searcher, models_dir):
    before = (index_copy / store.MANIFEST).read_text()
    with pytest.raises(RuntimeError, match="interrupted"):
        build_index(ingest_report.chunks, ingest_report.documents, _FailingEncoder(searcher._embedder), index_copy)
    assert (index_copy / store.MANIFEST).read_text() == before
    leftovers = [
        p.name
        for folder in (index_copy.parent, store.versions_dir(index_copy))
        if folder.is_dir()
        for p in folder.iterdir()
        if ".building-" in p.name
    ]
    assert leftovers == []
    assert Searcher.open(index_copy, models_dir).search("inondations", k=1).hits
