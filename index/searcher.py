"""The query side: open a built index, search it with filters, look chunks up."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from index import store
from index.analysis import analyse
from index.dense import DenseIndex
from index.embedder import Embedder, load_embedder
from index.errors import ChunkNotFound, IndexCorrupt, IndexMismatch, QueryError
from index.feedback import document_frequencies, feedback_terms
from index.fusion import convex_combination, language_weights, suppress_near_duplicates
from index.language import language_probabilities
from index.lexical import LexicalIndex
from index.models import FILTER_FIELDS, Filters, Hit, SearchResult
from index.text import lexical_text
from ingest.models import Chunk, Document

MAX_QUERY_CHARS = 2000
MAX_K = 200
MODES = ("hybrid", "dense", "bm25")
CANDIDATES = 100  # depth of each ranking fed to the fusion
# Weight of the dense scores in the convex fusion; chosen on the tuning half of the
# benchmark (python -m eval.fusion_sweep), where it ties for best and beats RRF.
DENSE_WEIGHT = 0.5
# Pseudo-relevance feedback (index.feedback): terms from the first pass's top passages,
# and the weight of the feedback ranking in the final fusion; chosen the same way.
FEEDBACK_DOCS, FEEDBACK_TERMS, FEEDBACK_WEIGHT = 5, 20, 0.3
QUERY_CACHE_SIZE = 64


@dataclass(frozen=True)
class _Columns:
    """Per-row filter fields as arrays, so a filter is one vectorised comparison."""

    doc: np.ndarray
    kind: np.ndarray
    pillar: np.ndarray
    actor: np.ndarray
    lang: np.ndarray

    @classmethod
    def of(cls, chunks: list[Chunk]) -> "_Columns":
        def column(values):
            return np.array([v or "" for v in values], dtype=object)

        return cls(
            doc=column(c.doc_id for c in chunks),
            kind=column(c.kind for c in chunks),
            pillar=column(c.pillar for c in chunks),
            actor=column(c.actor for c in chunks),
            lang=column(c.lang for c in chunks),
        )


class Searcher:
    def __init__(
        self,
        manifest: store.Manifest,
        chunks: list[Chunk],
        documents: list[Document],
        dense: DenseIndex,
        lexical: LexicalIndex,
        embedder: Embedder,
        anchors: np.ndarray,
    ) -> None:
        if not (len(chunks) == dense.size == lexical.size == manifest.chunk_count):
            raise IndexCorrupt(
                f"index parts disagree: {len(chunks)} chunks, {dense.size} vectors, "
                f"{lexical.size} BM25 documents, manifest says {manifest.chunk_count}"
            )
        self.manifest = manifest
        self.chunks = chunks
        self.documents = documents
        self._dense = dense
        self._lexical = lexical
        self._embedder = embedder
        self._anchors = anchors
        self._query_cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()  # searches run concurrently in the HTTP service
        self._vectors = dense.vectors()
        self._row = {c.id: i for i, c in enumerate(chunks)}
        self._columns = _Columns.of(chunks)
        self._token_sets = [frozenset(analyse(c.text, c.lang)) for c in chunks]
        self._lexical_tokens = [analyse(lexical_text(c), c.lang) for c in chunks]
        self._df = document_frequencies(self._lexical_tokens)
        self._by_doc: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            self._by_doc.setdefault(chunk.doc_id, []).append(i)
        for rows in self._by_doc.values():
            rows.sort(key=lambda i: chunks[i].order)

    @classmethod
    def open(cls, index_dir: Path, models_dir: Path, model: str | None = None, embedder: Embedder | None = None) -> "Searcher":
        """Load and check an index; refuse one built with another model than `model`."""
        manifest = store.read_manifest(index_dir)
        if model is not None and model != manifest.model_id:
            raise IndexMismatch(
                f"{index_dir} was built with model {manifest.model_id!r}, not {model!r}: "
                f"rebuild it with `boussole build --model {model}` or query it with its own model"
            )
        store.verify_files(index_dir, manifest)
        chunks = _read_chunks(index_dir / store.CHUNKS_FILE)
        documents = _read_documents(index_dir / store.DOCUMENTS_FILE)
        dense = DenseIndex.load(index_dir / store.DENSE_FILE)
        if dense.dim != manifest.dim:
            raise IndexCorrupt(f"{index_dir}: vectors have dimension {dense.dim}, manifest says {manifest.dim}")
        lexical = LexicalIndex.load(index_dir / store.LEXICAL_DIR)
        try:
            anchors = np.load(index_dir / store.ANCHORS_FILE, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise IndexCorrupt(f"{index_dir / store.ANCHORS_FILE}: unreadable ({exc})") from exc
        if anchors.ndim != 2 or anchors.shape[1] != manifest.dim:
            raise IndexCorrupt(f"{index_dir / store.ANCHORS_FILE}: shape {anchors.shape} does not fit dimension {manifest.dim}")
        embedder = embedder or load_embedder(manifest.model_id, models_dir)
        if embedder.fingerprint != manifest.model_fingerprint or embedder.dim != manifest.dim:
            raise IndexMismatch(
                f"{index_dir} was built with other weights of {manifest.model_id!r} "
                f"(fingerprint {manifest.model_fingerprint[:12]}, loaded {embedder.fingerprint[:12]}): "
                "run `boussole build` to rebuild it"
            )
        return cls(manifest, chunks, documents, dense, lexical, embedder, anchors)

    # -- lookups -------------------------------------------------------------------

    def chunk(self, chunk_id: str) -> Chunk:
        try:
            return self.chunks[self._row[chunk_id]]
        except KeyError:
            raise ChunkNotFound(f"no chunk with id {chunk_id!r}") from None

    def neighbours(self, chunk_id: str, before: int = 2, after: int = 2) -> list[Chunk]:
        """The chunk with up to `before` and `after` chunks around it in its document."""
        chunk = self.chunk(chunk_id)
        rows = self._by_doc[chunk.doc_id]
        at = rows.index(self._row[chunk_id])
        return [self.chunks[i] for i in rows[max(0, at - before) : at + after + 1]]

    def filter_values(self) -> dict[str, list[str]]:
        columns = self._columns
        return {name: sorted({v for v in getattr(columns, name) if v}) for name in FILTER_FIELDS}

    # -- search --------------------------------------------------------------------

    def search(self, query: str, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid") -> SearchResult:
        started = time.perf_counter()
        query = _check_query(query)
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}, got {k}", field="k")
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}", field="mode", valid=list(MODES))
        allowed = self._allowed(filters)
        probs = language_probabilities(query)
        query_lang = max(probs, key=probs.get)
        depth = max(CANDIDATES, 3 * k)

        if allowed is not None and not allowed.any():
            return SearchResult(query, query_lang, [], _ms(started))
        qvec = self._query_vector(query) if mode != "bm25" else None
        dense = self._dense.search(qvec, depth, allowed) if qvec is not None else []
        lexical = self._lexical.search(query, query_lang, depth, allowed) if mode != "dense" else []
        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = lexical
        else:
            first = convex_combination(dense, lexical, DENSE_WEIGHT, language_weights(probs, self._columns.lang))
            terms = feedback_terms([row for row, _ in first[:FEEDBACK_DOCS]], self._lexical_tokens, self._df, FEEDBACK_TERMS)
            feedback = self._lexical.search_tokens(terms, depth, allowed)
            ranked = convex_combination(first, feedback, 1 - FEEDBACK_WEIGHT)

        hits = []
        for rank, (row, score, absorbed) in enumerate(suppress_near_duplicates(ranked, self._token_sets, limit=k), start=1):
            cosine = float(self._vectors[row] @ qvec) if qvec is not None else None
            duplicates = tuple(self.chunks[i].id for i in absorbed)
            hits.append(Hit(self.chunks[row], float(score), rank, cosine, duplicates))
        off_topic = float(np.max(self._anchors @ qvec)) if qvec is not None else None
        return SearchResult(query, query_lang, hits, _ms(started), off_topic)

    def _query_vector(self, query: str) -> np.ndarray:
        """Encode a query, remembering the last few: a recommendation searches one problem
        several times (principles, measures, examples), and encoding is most of a search."""
        with self._cache_lock:
            vector = self._query_cache.pop(query, None)
        if vector is None:
            vector = self._embedder.embed_queries([query])[0]
        with self._cache_lock:
            self._query_cache[query] = vector
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
        return vector

    def _allowed(self, filters: Filters) -> np.ndarray | None:
        if filters.is_empty():
            return None
        valid = self.filter_values()
        mask = np.ones(len(self.chunks), dtype=bool)
        for name in FILTER_FIELDS:
            wanted = getattr(filters, name)
            if not wanted:
                continue
            unknown = sorted(set(wanted) - set(valid[name]))
            if unknown:
                raise QueryError(
                    f"unknown {name} filter value(s) {', '.join(map(repr, unknown))}; "
                    f"valid values: {', '.join(valid[name])}",
                    field=name,
                    valid=valid[name],
                )
            mask &= np.isin(getattr(self._columns, name), list(wanted))
        return mask


def _check_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise QueryError("the query is empty: describe the problem in a few words", field="query")
    if len(query) > MAX_QUERY_CHARS:
        raise QueryError(
            f"the query is {len(query)} characters long; the limit is {MAX_QUERY_CHARS}",
            field="query",
        )
    return query.strip()


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 2)


def _read_chunks(path: Path) -> list[Chunk]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [Chunk.from_dict(json.loads(line)) for line in handle if line.strip()]
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{path}: unreadable chunks ({exc})") from exc


def _read_documents(path: Path) -> list[Document]:
    try:
        return [Document.from_dict(d) for d in json.loads(path.read_text(encoding="utf-8"))]
    except (json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{path}: unreadable documents ({exc})") from exc
