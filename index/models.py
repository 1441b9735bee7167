"""Typed records that cross the index → service boundary."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.models import Chunk

FILTER_FIELDS = ("doc", "kind", "pillar", "actor", "lang")


@dataclass(frozen=True)
class Filters:
    """Restrict a search; an empty tuple means no restriction on that field."""

    doc: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    pillar: tuple[str, ...] = ()
    actor: tuple[str, ...] = ()
    lang: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in FILTER_FIELDS)


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    score: float  # fused score, higher is better; comparable within one result list only
    rank: int  # 1-based
    dense_score: float | None = None  # cosine similarity of query and chunk, when known
    duplicates: tuple[str, ...] = ()  # ids of near-identical chunks folded into this hit


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
