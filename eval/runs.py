"""Run retrieval systems over the benchmark queries and collect ranx-ready runs.

A run maps query id -> {chunk id: score}. Scores are rank-derived (depth, depth-1, …) so
that ranx, which sorts by score, sees exactly the order the system produced (no ties).
When the searcher folds near-duplicate chunks into one hit (`Hit.duplicates`), the folded
chunks follow their representative in the run: the reader is shown them too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from boussole.atomic import atomic_write_text
from boussole.eval.benchmark import Query
from boussole.index.encoders.base import passage_precision

SEARCH_MODES = ("bm25", "dense", "hybrid")
# "originals": the hybrid over the authoritative texts alone, i.e. without the translations
# (the corpus before its English versions): the "before" of every language figure.
SYSTEMS = ("bm25", "dense", "hybrid", "originals", "generic")
DEPTH = 100  # ranking depth per query (Recall@50 needs at least 50)

Progress = Callable[[str], None]


@dataclass
class SystemRun:
    name: str
    run: dict[str, dict[str, float]]
    seconds: float
    # the no-good-match signal, where the system produces one: query id -> fired?
    no_match: dict[str, bool] = field(default_factory=dict)
    confidence: dict[str, float] = field(default_factory=dict)

    @property
    def has_scope_signal(self) -> bool:
        return bool(self.no_match)


class QueryVectorCache:
    """Wraps an Encoder: query vectors are computed once, in batches, and reused by every
    system (the searcher embeds one query per call; on two cores batching saves minutes)."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self._vectors: dict[str, np.ndarray] = {}
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.fingerprint = inner.fingerprint
        self.passage_precision = passage_precision(inner)

    def prime(self, texts: Sequence[str]) -> None:
        missing = sorted({t.strip() for t in texts} - self._vectors.keys())
        if missing:
            for text, vector in zip(missing, self._inner.embed_queries(missing)):
                self._vectors[text] = vector

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.prime(texts)
        return np.stack([self._vectors[t.strip()] for t in texts]).astype(np.float32)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_documents(texts)

    def __getattr__(self, name):
        return getattr(self._inner, name)


def ranked_ids(hits) -> list[str]:
    """Chunk ids in result order, each hit followed by the near-duplicates it absorbed."""
    seen: dict[str, None] = {}
    for hit in hits:
        for cid in (hit.source.id, *getattr(hit, "duplicates", ())):
            seen.setdefault(cid, None)
    return list(seen)


def as_scores(ids: Sequence[str], depth: int = DEPTH) -> dict[str, float]:
    return {cid: float(depth - i) for i, cid in enumerate(ids[:depth])}


def run_searcher(searcher, queries: Sequence[Query], mode: str, depth: int = DEPTH) -> SystemRun:
    """One of the index's own modes; the scope signal is recorded for modes with cosines."""
    from boussole.index.scope import assess_scope

    started = time.perf_counter()
    run: dict[str, dict[str, float]] = {}
    no_match: dict[str, bool] = {}
    confidence: dict[str, float] = {}
    for query in queries:
        if mode == "originals":
            result = searcher.search(query.text, k=depth, mode="hybrid", originals_only=True)
        else:
            result = searcher.search(query.text, k=depth, mode=mode)
        run[query.id] = as_scores(ranked_ids(result.hits), depth)
        if mode not in ("bm25", "originals"):
            scope = assess_scope(result)
            no_match[query.id] = not scope.in_scope
            confidence[query.id] = round(float(scope.confidence), 4)
    return SystemRun(mode, run, time.perf_counter() - started, no_match, confidence)


def to_originals(ranking: dict[str, float], original_of: dict[str, str]) -> dict[str, float]:
    """A chunk ranking with each translation replaced by its original (judgments are on the
    passage, whatever its language), first occurrence kept, scores re-derived from ranks."""
    ids: dict[str, None] = {}
    for cid in sorted(ranking, key=lambda c: -ranking[c]):
        ids.setdefault(original_of.get(cid, cid), None)
    return as_scores(list(ids), len(ranking))


def run_generic(
    baseline, embedder, queries: Sequence[Query], depth: int = DEPTH, original_of: dict[str, str] | None = None
) -> SystemRun:
    started = time.perf_counter()
    vectors = embedder.embed_queries([q.text for q in queries])
    rankings = baseline.search(vectors, depth)
    run = {q.id: to_originals(ranking, original_of or {}) for q, ranking in zip(queries, rankings)}
    return SystemRun("generic", run, time.perf_counter() - started)


def run_systems(
    systems: Sequence[str],
    queries: Sequence[Query],
    searcher=None,
    embedder=None,
    baseline=None,
    depth: int = DEPTH,
    progress: Progress | None = None,
    original_of: dict[str, str] | None = None,
) -> list[SystemRun]:
    say = progress or (lambda _m: None)
    out = []
    for name in systems:
        if name not in SYSTEMS:
            raise ValueError(f"unknown system {name!r}; choose from {', '.join(SYSTEMS)}")
        say(f"running {name} over {len(queries)} queries")
        if name == "generic":
            out.append(run_generic(baseline, embedder, queries, depth, original_of))
        else:
            out.append(run_searcher(searcher, queries, name, depth))
    return out


def write_trec(path, system: SystemRun) -> None:
    """TREC run format: qid Q0 docid rank score tag."""
    lines = []
    for qid, docs in system.run.items():
        ranked = sorted(docs.items(), key=lambda kv: -kv[1])
        for rank, (cid, score) in enumerate(ranked, start=1):
            lines.append(f"{qid} Q0 {cid} {rank} {score:g} {system.name}\n")
    atomic_write_text(path, "".join(lines))
