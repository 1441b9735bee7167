"""Typed records that cross the index → service boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from boussole.ingest.models import Chunk


@dataclass(frozen=True)
class Hit:
    """One passage of the answer, shown in the reader's language when a version exists.

    `chunk` is the text shown; `original` the authoritative text when `chunk` is a
    translation of it (None when the shown text is the original)."""

    chunk: Chunk
    score: float  # fused score, higher is better; comparable within one result list only
    rank: int  # 1-based
    dense_score: float | None = None  # cosine similarity of query and chunk, when known
    duplicates: tuple[str, ...] = ()  # ids of near-identical passages folded into this hit (originals' ids)
    original: Chunk | None = None

    @property
    def source(self) -> Chunk:
        """The authoritative text of the passage: what judgments and ids refer to."""
        return self.original or self.chunk


@dataclass(frozen=True)
class Scope:
    """Whether the guidelines cover the question, in words an official understands."""

    in_scope: bool
    confidence: float  # 0..1; 0.5 is the decision threshold
    reason: str


@dataclass
class SearchResult:
    query: str
    query_lang: str
    hits: list[Hit] = field(default_factory=list)
    took_ms: float = 0.0
    scope: Scope | None = None  # index.scope's verdict on the query (None in keyword-only mode)
    answer_lang: str = ""  # the language the hits are shown in when a version exists
