"""The query side: open a built index, search it with filters, look chunks up."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boussole.index import store
from boussole.index.analysis import analyse
from boussole.index.backends.base import Backend, IndexParts, Selection
from boussole.index.calibrate import CalibrationVectors, hubness, outlying_hubs
from boussole.index.centring import centre, query_mean
from boussole.index.config import FusionConfig
from boussole.index.encoders.base import BatchingEncoder, Encoder
from boussole.index.encoders.factory import load_encoder, load_second_encoder
from boussole.index.errors import ChunkNotFound, IndexCorrupt, IndexMismatch, QueryError
from boussole.index.feedback import document_frequencies, feedback_terms
from boussole.index.filters import FilterColumns, Filters
from boussole.index.fusion import (
    NearDuplicates,
    collapse_twins,
    convex_combination,
    judged_lift,
    language_weights,
    structure_lift,
    suppress_near_duplicates,
    term_bridge,
)
from boussole.index.judged import JudgedVectors, votes
from boussole.index.language import language_probabilities
from boussole.index.models import Hit, SearchResult
from boussole.index.scope import ScopeFeatures, ScopeModel, neighbour_margin
from boussole.index.text import defined_term, lexical_text
from boussole.ingest.models import Chunk

MAX_QUERY_CHARS = 2000
MAX_K = 200
MODES = ("hybrid", "dense", "bm25")
AUTO = "auto"  # answer language: the question's own
QUERY_CACHE_SIZE = 64
# The two query encoders for an index, chosen once its manifest is read (None: the
# searcher loads the index's own).
Encoders = Callable[[store.Manifest], tuple[Encoder | None, Encoder | None]]


@dataclass(frozen=True)
class QueryVectors:
    """A question as both encoders see it."""

    e5: np.ndarray  # raw e5 query vector (before centring)
    use: np.ndarray


class Searcher:
    """Ranks the candidates of one index version, whichever backend (index.backends) holds it."""

    def __init__(
        self, parts: IndexParts, embedder: Encoder, second: Encoder, fusion: FusionConfig | None = None
    ) -> None:
        manifest, chunks, dense, lexical = parts.manifest, parts.chunks, parts.dense, parts.lexical
        if not (len(chunks) == dense.size == lexical.size == manifest.chunk_count):
            raise IndexCorrupt(
                f"index parts disagree: {len(chunks)} chunks, {dense.size} vectors, "
                f"{lexical.size} BM25 documents, manifest says {manifest.chunk_count}"
            )
        self.version = parts.version
        self.manifest = manifest
        self.chunks = chunks
        self.documents = parts.documents
        self._dense = dense
        self._lexical = lexical
        self._embedder = embedder
        self._second_dense = parts.second_dense
        self._second = second
        # Checked once, not per query: a runtime protocol check costs about 50 µs.
        self._queued_second = second if isinstance(second, BatchingEncoder) else None
        self.calibration: CalibrationVectors = parts.calibration
        self.scope_model: ScopeModel = parts.scope_model
        self.fusion = fusion or FusionConfig.from_dict(manifest.fusion)
        self._query_cache: dict[str, QueryVectors] = {}
        self._cache_lock = threading.Lock()  # searches may run in several threads at once
        self._vectors = parts.vectors
        self._second_vectors = parts.second_vectors
        self._hubness_cache: np.ndarray | None = None
        # Item problems (index.problems), per row; rows without statements have none.
        cal = parts.calibration
        self._problem_rows = np.asarray(cal.problem_rows, dtype=np.int64)
        self._problem_e5 = np.ascontiguousarray(cal.problem_e5, dtype=np.float32)
        self._problem_use = np.ascontiguousarray(cal.problem_use, dtype=np.float32)
        self._problem_of = np.full(len(chunks), -1, dtype=np.int64)
        self._problem_of[self._problem_rows] = np.arange(len(self._problem_rows))
        # Judged problems (index.judged): whole situations that vote for their items.
        self._judged = JudgedVectors(
            np.ascontiguousarray(cal.judged_e5, dtype=np.float32),
            np.ascontiguousarray(cal.judged_use, dtype=np.float32),
            np.asarray(cal.judged_ptr, dtype=np.int64),
            np.asarray(cal.judged_rows, dtype=np.int64),
            np.asarray(cal.judged_good, dtype=bool),
        )
        if len(self._judged.rows) and int(self._judged.rows.max()) >= len(chunks):
            raise IndexCorrupt(
                f"judged problems point past the index's {len(chunks)} chunks; run `boussole build --force`"
            )
        self._use_hubs: dict[float, np.ndarray] = {}
        self._pillars = [c.pillar or "" for c in chunks]
        # Items of one lettered list share a key (their document and paragraph).
        self._paragraphs = [f"{c.doc_id}:{c.paragraph}" if c.item and c.paragraph else "" for c in chunks]
        self._row = {c.id: i for i, c in enumerate(chunks)}
        self._filters = FilterColumns(chunks)
        self._near = NearDuplicates([frozenset(analyse(c.text, c.lang)) for c in chunks])
        self._lexical_tokens = [analyse(lexical_text(c), c.lang) for c in chunks]
        self._term_tokens = {i: analyse(term, c.lang) for i, c in enumerate(chunks) if (term := defined_term(c))}
        self._df = document_frequencies(self._lexical_tokens)
        # Twins: rows holding one passage in several languages share a group; the group's
        # representative is the authoritative text (the first row of its key otherwise).
        keys: dict[str, int] = {}
        self._group = np.array([keys.setdefault(c.key or c.id, len(keys)) for c in chunks], dtype=np.int64)
        self._representative = np.full(len(keys), -1, dtype=np.int64)
        self._versions: list[dict[str, int]] = [{} for _ in keys]
        for row, chunk in enumerate(chunks):
            g = self._group[row]
            self._versions[g].setdefault(chunk.lang, row)
            if self._representative[g] < 0 or (
                chunk.translation is None and chunks[self._representative[g]].translation
            ):
                self._representative[g] = row
        self.languages = sorted({c.lang for c in chunks if c.lang})
        self._is_original = np.array([c.translation is None for c in chunks], dtype=bool)
        self._row_langs, self._row_lang_codes = np.unique(np.array([c.lang or "" for c in chunks]), return_inverse=True)
        self._by_doc: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            self._by_doc.setdefault(chunk.doc_id, []).append(i)
        for rows in self._by_doc.values():
            rows.sort(key=lambda i: chunks[i].order)

    @classmethod
    def open(
        cls,
        index_dir: Path,
        models_dir: Path,
        model: str | None = None,
        embedder: Encoder | None = None,
        second: Encoder | None = None,
    ) -> Searcher:
        """Load and check an index folder; refuse one built with another model than `model`."""
        from boussole.index.backends.faiss import open_folder

        manifest = store.read_manifest(index_dir)
        check_model(manifest, model, str(index_dir))
        return cls.from_parts(open_folder(index_dir, manifest), models_dir, model, embedder, second)

    @classmethod
    def open_served(
        cls, backend: Backend, models_dir: Path, model: str | None = None, encoders: Encoders | None = None
    ) -> Searcher:
        """A searcher over the version `backend` serves now, read once (a version published
        meanwhile cannot mix in). An index built with another model than `model` is refused
        before any model loads; `encoders` then chooses the query encoders from the
        manifest, before the rest of the index is read (so they may load meanwhile)."""
        version = backend.pin()
        check_model(version.manifest, model, version.location)
        embedder, second = encoders(version.manifest) if encoders is not None else (None, None)
        return cls.from_parts(version.load(), models_dir, model, embedder, second)

    @classmethod
    def from_parts(
        cls,
        parts: IndexParts,
        models_dir: Path,
        model: str | None = None,
        embedder: Encoder | None = None,
        second: Encoder | None = None,
    ) -> Searcher:
        """A searcher over what a backend opened, with encoders checked against its manifest."""
        manifest, where = parts.manifest, parts.location
        check_model(manifest, model, where)
        if second is None:
            second = load_second_encoder()
        if second.fingerprint != manifest.second_encoder.get("fingerprint") or second.dim != parts.second_dense.dim:
            raise IndexMismatch(
                f"{where} was built with another version of {manifest.second_encoder.get('model_id')!r}: "
                "run `boussole build` to rebuild it"
            )
        embedder = embedder or load_encoder(manifest.model_id, models_dir)
        if embedder.fingerprint != manifest.model_fingerprint or embedder.dim != manifest.dim:
            raise IndexMismatch(
                f"{where} was built with other weights of {manifest.model_id!r} "
                f"(fingerprint {manifest.model_fingerprint[:12]}, loaded {embedder.fingerprint[:12]}): "
                "run `boussole build` to rebuild it"
            )
        return cls(parts, embedder, second)

    def close(self) -> None:
        """Stop what the encoders run beside the searcher (the service's batching worker
        thread); searches after this may fail. For a replaced index after a hot reload."""
        for encoder in (self._embedder, self._second):
            encoder.close()

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
        """Valid values per filter (index.filters.FilterColumns.values)."""
        return self._filters.values()

    # -- search --------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters = Filters(),
        mode: str = "hybrid",
        fusion: FusionConfig | None = None,
        answer_lang: str = AUTO,
        originals_only: bool = False,
    ) -> SearchResult:
        """The k best passages for `query`, with the scope verdict on the query.

        A passage and its translations are one result, shown in `answer_lang` when a
        version in that language exists ("auto": the question's language), else in its
        original. `fusion` overrides the index's configuration (the sweep and tests use it);
        `originals_only` searches the authoritative texts alone (the evaluation's "before").
        """
        started = time.perf_counter()
        query = _check_query(query)
        if not 1 <= k <= MAX_K:
            raise QueryError(f"k must be between 1 and {MAX_K}, got {k}", field="k")
        if mode not in MODES:
            raise QueryError(f"unknown mode {mode!r}", field="mode", valid=list(MODES))
        config = fusion or self.fusion
        if config.centre != self.fusion.centre:
            raise ValueError("centring is fixed when the index is built: build another index to change it")
        allowed = self._allowed(filters)
        if originals_only:
            mask = self._is_original & (allowed.mask if allowed is not None else True)
            allowed = Selection(filters, mask)
        probs = language_probabilities(query)
        query_lang = max(probs, key=lambda lang: probs[lang])
        shown_lang = self.answer_language(answer_lang, query_lang)
        # The depth does not grow with k: min-max fusion depends on the candidate list, and
        # the first ten results must not change with the number of results asked for.
        depth = max(config.candidates, k)

        vectors = self.query_vectors(query) if mode != "bm25" else None
        scope = self.scope_model.assess(query, self._scope_features(vectors) if vectors is not None else None)
        if allowed is not None and not allowed.any():
            return SearchResult(query, query_lang, [], _ms(started), scope, shown_lang)
        qdense = self._dense_query(vectors.e5, probs, config) if vectors is not None else None
        dense = self._dense_ranking(qdense, vectors.use, depth, allowed, config) if vectors is not None else []
        lexical = self._lexical.search(query, query_lang, depth, allowed) if mode != "dense" else []
        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = lexical
        else:
            ranked = self._fuse(dense, lexical, probs, depth, allowed, config)
            if config.judged_weight and len(self._judged) and vectors is not None and qdense is not None:
                ranked = judged_lift(ranked, self._votes(qdense, vectors.use, config), config.judged_weight)

        ranked = collapse_twins(ranked, self._group, self._representative, config.twin_weight)
        hits = []
        for rank, (row, score, absorbed) in enumerate(suppress_near_duplicates(ranked, self._near, limit=k), start=1):
            shown = self._versions[self._group[row]].get(shown_lang, row)
            cosine = float(self._vectors[shown] @ qdense) if qdense is not None else None
            duplicates = tuple(self.chunks[i].id for i in absorbed)
            original = self.chunks[row] if shown != row else None
            hits.append(Hit(self.chunks[shown], float(score), rank, cosine, duplicates, original))
        return SearchResult(query, query_lang, hits, _ms(started), scope, shown_lang)

    def answer_language(self, requested: str, query_lang: str) -> str:
        """The language results are shown in: `requested`, or the question's for "auto"."""
        if requested in (AUTO, "", None):
            return query_lang
        if requested not in self.languages:
            valid = [AUTO, *self.languages]
            raise QueryError(
                f"no version of the corpus in {requested!r}; answer languages: {', '.join(valid)}",
                field="answer_lang",
                valid=valid,
            )
        return requested

    def _fuse(self, dense, lexical, probs, depth, allowed, config: FusionConfig) -> list[tuple[int, float]]:
        """Dense + language-weighted BM25, then pseudo-relevance feedback, then the glossary's
        terms, then structure."""
        first = convex_combination(
            dense, lexical, config.dense_weight, language_weights(probs, self._row_langs, self._row_lang_codes)
        )
        terms = feedback_terms(
            [row for row, _ in first[: config.feedback_docs]], self._lexical_tokens, self._df, config.feedback_terms
        )
        feedback = self._lexical.search_tokens(terms, depth, allowed)
        ranked = convex_combination(first, feedback, 1 - config.feedback_weight)
        if config.glossary_weight:
            bridges = {
                row: self._lexical.search_tokens(self._term_tokens[row], depth, allowed)
                for row, _ in ranked[: config.glossary_depth]
                if self._term_tokens.get(row)
            }
            ranked = term_bridge(ranked, bridges, config.glossary_weight)
        return structure_lift(
            ranked, self._pillars, self._paragraphs, config.pillar_lift, config.paragraph_lift, config.lift_depth
        )

    def _votes(self, qdense: np.ndarray, quse: np.ndarray, config: FusionConfig) -> np.ndarray:
        return votes(
            self._judged,
            qdense,
            quse,
            len(self.chunks),
            use_weight=config.use_weight,
            neighbours=config.judged_neighbours,
            temperature=config.judged_temperature,
            good=config.judged_good,
        )

    def _dense_query(self, e5: np.ndarray, probs: dict[str, float], config: FusionConfig) -> np.ndarray:
        if not config.centre:
            return e5
        return centre(e5[None, :], query_mean(probs, self.calibration.query_means))[0]

    def _dense_ranking(self, qdense, quse, depth, allowed, config: FusionConfig) -> list[tuple[int, float]]:
        """e5 (centred) cosine + w · USE cosine, plus the item problems' term, over the union
        of both encoders' top rows and the items whose problem statements are closest."""
        rows = {row for row, _ in self._dense.search(qdense, depth, allowed)}
        if config.use_weight:
            rows |= {row for row, _ in self._second_dense.search(quse, depth, allowed)}
        problem_scores = None
        if config.problem_share and len(self._problem_rows):
            problem_scores = self._problem_e5 @ qdense + config.use_weight * (self._problem_use @ quse)
            admitted = allowed.mask[self._problem_rows] if allowed is not None else np.ones(len(problem_scores), bool)
            closest = np.flatnonzero(admitted)[np.argsort(-problem_scores[admitted], kind="stable")[:depth]]
            rows |= set(self._problem_rows[closest].tolist())
        if not rows:
            return []
        index = np.fromiter(rows, dtype=np.int64)
        if config.twin_dense_mean:  # every version of a candidate, to average over them
            wanted = np.isin(self._group, self._group[index])
            if allowed is not None:
                wanted &= allowed.mask
            index = np.flatnonzero(wanted)
        scores = self._vectors[index] @ qdense
        if config.hubness_penalty:
            scores = scores - config.hubness_penalty * self._hubness()[index]
        if config.use_weight:
            scores = scores + config.use_weight * (self._second_vectors[index] @ quse)
        if config.use_hub_penalty:
            scores = scores - config.use_hub_penalty * self._outlying_use_hubs(config.use_hub_z)[index]
        if problem_scores is not None:  # items: a share from their statements; others: their own text
            at = self._problem_of[index]
            share = config.problem_share
            mixed = (1 - share) * scores + share * problem_scores[np.maximum(at, 0)]
            scores = np.where(at >= 0, mixed, scores)
        if config.twin_dense_mean:
            groups = self._group[index]
            sums = np.bincount(groups, weights=scores, minlength=len(self._versions))
            counts = np.bincount(groups, minlength=len(self._versions))
            scores = sums[groups] / counts[groups]
        order = np.lexsort((index, -scores))[:depth]
        return [(int(index[i]), float(scores[i])) for i in order]

    def _hubness(self) -> np.ndarray:
        """CSLS penalty per passage, computed the first time a configuration asks for it
        (the default leaves it off, so start-up does not pay for it)."""
        if self._hubness_cache is None:
            self._hubness_cache = hubness(self._vectors, self.calibration)
        return self._hubness_cache

    def _outlying_use_hubs(self, z: float) -> np.ndarray:
        hubs = self._use_hubs.get(z)
        if hubs is None:  # one product of 447 × 100: cheap, but only once per z
            hubs = self._use_hubs[z] = outlying_hubs(self._second_vectors, self.calibration.use_in, z)
        return hubs

    def _scope_features(self, vectors: QueryVectors) -> ScopeFeatures:
        cal = self.calibration
        return ScopeFeatures(
            use_margin=float(neighbour_margin(vectors.use[None, :], cal.use_in, cal.use_out)[0]),
            e5_margin=float(neighbour_margin(vectors.e5[None, :], cal.e5_in, cal.e5_out)[0]),
            use_best=float(np.max(self._second_vectors @ vectors.use)),
        )

    def query_vectors(self, query: str) -> QueryVectors:
        """Encode a query with both encoders, remembering the last few: a recommendation
        and the page's follow-ups ask about one problem several times, and encoding is
        most of a search."""
        query = query.strip()
        with self._cache_lock:
            vectors = self._query_cache.get(query)
        if vectors is None:  # encode outside the lock: concurrent questions batch downstream
            vectors = self._encode(query)
        with self._cache_lock:
            self._query_cache.pop(query, None)
            self._query_cache[query] = vectors
            while len(self._query_cache) > QUERY_CACHE_SIZE:
                self._query_cache.pop(next(iter(self._query_cache)))
        return vectors

    def _encode(self, query: str) -> QueryVectors:
        """Both encoders at once when the second one queues its work (the service's
        `BatchingEncoder.submit`): each runs outside the interpreter lock most of the
        time, so a lone question waits for the slower of the two, not for their sum."""
        if self._queued_second is None:
            return QueryVectors(self._embedder.embed_queries([query])[0], self._second.embed_queries([query])[0])
        use = self._queued_second.submit([query])
        try:
            e5 = self._embedder.embed_queries([query])[0]
        finally:
            use_vectors = use.result()  # collected even if e5 failed, so nothing is left pending
        return QueryVectors(e5, use_vectors[0])

    def _allowed(self, filters: Filters) -> Selection | None:
        """The rows `filters` keep, checked against the index's values (the one check)."""
        if filters.is_empty():
            return None
        filters = self._filters.check(filters)
        return Selection(filters, self._filters.mask(filters))


def check_model(manifest: store.Manifest, model: str | None, where: str) -> None:
    """Refuse, before any model loads, an index built with another model than `model`."""
    if model is not None and model != manifest.model_id:
        raise IndexMismatch(
            f"{where} was built with model {manifest.model_id!r}, not {model!r}: "
            f"rebuild it with `boussole build --model {model}` or query it with its own model"
        )


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
