"""The "generic RAG" baseline: fixed-size character windows, dense retrieval only.

What a structure-blind pipeline does: take each document's plain text
(`ingest.pipeline.document_text`), cut it into windows of `size` characters that overlap by
`overlap` characters (ends moved back to the last whitespace so words are not cut), embed
them with the same model as the real index, and rank them by exact inner product (cosine on
normalised vectors, numpy).

Scoring it against chunk-level qrels needs a mapping from windows to structured chunks:

1. Locate every structured chunk in its document's text. Both strings are *folded* (only
   letters and digits kept, lower-cased, accents removed) with a map from folded positions
   back to the original ones, then the folded chunk text is searched for from the end of
   the previous chunk (chunks are in reading order), and from the start of the document if
   that fails. If the whole text is not found, its first and last 60 folded characters are
   used as anchors. A chunk found neither way is *unlocated*: the baseline can never
   retrieve it (reported, so the penalty is visible).
2. A window covers a chunk when their spans overlap by at least half of the chunk, or by
   at least half of the window (a long chunk that the window sits inside).
3. The ranked windows become a ranking of chunk ids: each window contributes the chunks it
   covers, in document order; a chunk already contributed by a better window is skipped
   (first occurrence wins). Scores are strictly decreasing with the rank.

How this can favour or penalise the baseline is discussed in eval/benchmark/README.md.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from boussole.ingest.models import Chunk

ANCHOR = 60  # folded characters used as start/end anchors when a chunk is not found whole


@dataclass(frozen=True)
class Window:
    """One fixed-size piece of a document's plain text, [start, end) in that text."""

    id: str  # "{doc_id}#w{n}"
    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Span:
    chunk_id: str
    doc_id: str
    start: int  # in the document text, [start, end)
    end: int
    order: int


@dataclass(frozen=True)
class Mapping:
    """Which structured chunks each window covers, and which chunks could not be located."""

    covers: dict[str, tuple[str, ...]]  # window id -> chunk ids in document order
    unlocated: tuple[str, ...]
    anchored: tuple[str, ...]  # located through start/end anchors rather than whole text


def windows(doc_id: str, text: str, size: int = 1000, overlap: int = 200) -> list[Window]:
    """Windows of about `size` characters, each starting `overlap` characters before the
    previous one ended; ends snap back to whitespace (never more than a fifth of `size`)."""
    if not 0 <= overlap < size:
        raise ValueError("need 0 <= overlap < size")
    out: list[Window] = []
    start, n = 0, len(text)
    while start < n:
        while start < n and text[start].isspace():
            start += 1
        if start >= n:
            break
        end = min(start + size, n)
        if end < n:
            cut = text.rfind(" ", start + size - size // 5, end)
            cut = max(cut, text.rfind("\n", start + size - size // 5, end))
            if cut > start:
                end = cut
        piece = text[start:end].strip()
        if piece:
            out.append(Window(f"{doc_id}#w{len(out)}", doc_id, start, end, piece))
        if end >= n:
            break
        next_start = end - overlap
        space = text.find(" ", next_start, next_start + size // 20)
        if space >= 0:  # begin the next window on a word, not inside one
            next_start = space + 1
        start = next_start if next_start > start else end
    return out


def _folded(text: str) -> tuple[str, list[int]]:
    """Letters and digits only, lower-cased, accents removed; plus folded→original offsets."""
    chars: list[str] = []
    where: list[int] = []
    for i, ch in enumerate(text):
        for part in unicodedata.normalize("NFKD", ch):
            if part.isalnum():
                chars.append(part.lower())
                where.append(i)
    return "".join(chars), where


def locate(doc_text: str, chunks: Sequence[Chunk]) -> tuple[list[Span], list[str], list[str]]:
    """Spans of the chunks (one document's, in reading order) in the document text."""
    folded, where = _folded(doc_text)
    spans: list[Span] = []
    unlocated: list[str] = []
    anchored: list[str] = []
    cursor = 0
    for chunk in sorted(chunks, key=lambda c: c.order):
        needle, _ = _folded(chunk.text)
        if not needle:
            unlocated.append(chunk.id)
            continue
        at = folded.find(needle, cursor)
        if at < 0:
            at = folded.find(needle)
        if at >= 0:
            lo, hi = at, at + len(needle)
        else:
            head, tail = needle[:ANCHOR], needle[-ANCHOR:]
            lo = folded.find(head, cursor)
            lo = lo if lo >= 0 else folded.find(head)
            tail_at = folded.find(tail, lo) if lo >= 0 else -1
            hi = tail_at + len(tail) if tail_at >= 0 else -1
            if lo < 0 or hi <= lo or hi - lo > 3 * len(needle):
                unlocated.append(chunk.id)
                continue
            anchored.append(chunk.id)
        spans.append(Span(chunk.id, chunk.doc_id, where[lo], where[hi - 1] + 1, chunk.order))
        cursor = lo + 1
    return spans, unlocated, anchored


def map_windows(
    all_windows: Sequence[Window], spans: Sequence[Span], min_share: float = 0.5
) -> dict[str, tuple[str, ...]]:
    """Window id -> chunk ids it covers (overlap ≥ min_share of the chunk or of the window)."""
    by_doc: dict[str, list[Span]] = {}
    for span in spans:
        by_doc.setdefault(span.doc_id, []).append(span)
    covers: dict[str, tuple[str, ...]] = {}
    for window in all_windows:
        hits = []
        for span in by_doc.get(window.doc_id, []):
            overlap = min(window.end, span.end) - max(window.start, span.start)
            if overlap <= 0:
                continue
            if overlap >= min_share * (span.end - span.start) or overlap >= min_share * (window.end - window.start):
                hits.append(span)
        covers[window.id] = tuple(s.chunk_id for s in sorted(hits, key=lambda s: (s.start, s.order)))
    return covers


def to_chunk_ranking(ranked_windows: Sequence[str], covers: dict[str, tuple[str, ...]], depth: int) -> dict[str, float]:
    """Ranked window ids → {chunk id: score}: first occurrence wins, scores strictly decrease."""
    ranking: dict[str, float] = {}
    for window_id in ranked_windows:
        for chunk_id in covers.get(window_id, ()):
            if chunk_id not in ranking:
                ranking[chunk_id] = float(depth - len(ranking))
                if len(ranking) >= depth:
                    return ranking
    return ranking


class GenericBaseline:
    """Fixed-size windows over whole documents, embedded once, searched exactly with numpy."""

    def __init__(self, all_windows: list[Window], vectors: np.ndarray, mapping: Mapping) -> None:
        if len(all_windows) != vectors.shape[0]:
            raise ValueError("one vector per window")
        self.windows = all_windows
        self.vectors = vectors
        self.mapping = mapping

    @classmethod
    def build(
        cls, texts: dict[str, str], chunks: Sequence[Chunk], embedder, cache=None, size: int = 1000, overlap: int = 200
    ) -> GenericBaseline:
        """`texts`: doc id -> plain text; `cache`: an index.cache.EmbeddingCache or None."""
        all_windows: list[Window] = []
        spans: list[Span] = []
        unlocated: list[str] = []
        anchored: list[str] = []
        by_doc: dict[str, list[Chunk]] = {}
        for chunk in chunks:
            by_doc.setdefault(chunk.doc_id, []).append(chunk)
        for doc_id in sorted(texts):
            text = texts[doc_id]
            all_windows.extend(windows(doc_id, text, size, overlap))
            found, lost, anchors = locate(text, by_doc.get(doc_id, []))
            spans.extend(found)
            unlocated.extend(lost)
            anchored.extend(anchors)
        unlocated.extend(c.id for c in chunks if c.doc_id not in texts)
        mapping = Mapping(map_windows(all_windows, spans), tuple(unlocated), tuple(anchored))
        vectors = _embed([w.text for w in all_windows], embedder, cache)
        return cls(all_windows, vectors, mapping)

    def search(self, query_vectors: np.ndarray, depth: int = 100) -> list[dict[str, float]]:
        """One chunk ranking per query vector (rows of `query_vectors`)."""
        scores = query_vectors @ self.vectors.T
        out = []
        for row in scores:
            order = np.lexsort((np.arange(len(row)), -row))  # by score, ties by window order
            out.append(to_chunk_ranking([self.windows[i].id for i in order], self.mapping.covers, depth))
        return out

    def best_cosines(self, query_vectors: np.ndarray) -> np.ndarray:
        return (query_vectors @ self.vectors.T).max(axis=1)


def _embed(texts: list[str], embedder, cache) -> np.ndarray:
    if cache is None:
        return embedder.embed_documents(texts)
    keys = ["generic:" + hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
    missing = [i for i, k in enumerate(keys) if cache.get(k) is None]
    if missing:
        fresh = embedder.embed_documents([texts[i] for i in missing])
        for i, vector in zip(missing, fresh):
            cache.put(keys[i], np.asarray(vector, dtype=np.float32))
        cache.save(keep=set(keys))
    return np.stack([cache.get(k) for k in keys]).astype(np.float32)
