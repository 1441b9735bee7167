"""Pydantic models of the HTTP API: what requests accept and responses return.

Pydantic lives only here, at the HTTP edge; the library hands typed dataclasses
(`Chunk`, `Hit`, `Recommendation`) to the routes, which map them with the `from_*`
helpers below.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from boussole.index.filters import FILTER_FIELDS, Filters
from boussole.index.models import Hit
from boussole.ingest.models import ACTORS, EVERY_ACTOR, TRANSLATIONS, Chunk, Document, pillar_title

# Mirrors index.searcher.MAX_QUERY_CHARS; kept here so that the OpenAPI schema states it
# and the check happens before the model is touched. tests/test_api.py checks they agree.
MAX_QUERY_CHARS = 2000
MAX_K = 50

Actor = Literal[ACTORS]  # type: ignore[valid-type]  # the library's tuple, not a copy
ActorChoice = Literal[(*ACTORS, EVERY_ACTOR)]  # type: ignore[valid-type]

# A query is refused when nothing is left after str.strip(), which also strips the ASCII
# separators \x1c-\x1f and \x85 that JSON Schema's (ECMA-262) \s does not know; the
# pattern says so, so that "\u001e" is invalid by the schema as it is by the service.
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"

QueryText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_QUERY_CHARS),
    Field(json_schema_extra={"pattern": NOT_BLANK}),
]


def _json_integer(value: object) -> object:
    """JSON integers only: `true` and `"5"` are refused (pydantic's lax mode takes them),
    while 5.0, an integer for JSON Schema, is still accepted."""
    if isinstance(value, (bool, str)):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


JsonInt = Annotated[int, BeforeValidator(_json_integer)]


class _Strict(BaseModel):
    # Unknown fields are refused: a typo ("filter" for "filters") should not be ignored.
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- errors


class ErrorBody(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. invalid_filter.")
    message: str = Field(description="A sentence a person can act on.")
    field: str | None = Field(None, description="The request field at fault, e.g. filters.doc.")
    valid: list[str] = Field(default_factory=list, description="Accepted values, when finite.")


class ErrorResponse(BaseModel):
    error: ErrorBody


# ---------------------------------------------------------------- search


class SearchFilters(_Strict):
    doc: list[str] = Field(default_factory=list, description="Document ids, e.g. hsp-ha-2-14.")
    kind: list[str] = Field(default_factory=list, description="principle, measure, ...")
    pillar: list[str] = Field(default_factory=list, description="thematic-1 … enabling-4.")
    actor: list[str] = Field(default_factory=list, description="national, local-regional, ...")
    lang: list[str] = Field(default_factory=list, description="Chunk language: fr, en.")

    def to_filters(self) -> Filters:
        """The index's one filter type; the searcher checks the values."""
        return Filters(**{name: getattr(self, name) for name in FILTER_FIELDS})


AnswerLang = Annotated[
    str,
    Field(
        min_length=2,
        max_length=12,
        description="The language results are shown in: `auto` (the question's language), or a "
        "language code a version of the corpus exists in (`fr`, `en`, …). A passage without a "
        "version in that language is shown in its original.",
    ),
]


class SearchRequest(_Strict):
    query: QueryText = Field(description="The problem or question, in French or English.")
    k: JsonInt = Field(10, ge=1, le=MAX_K, description="How many results (1–50).")
    filters: SearchFilters = Field(default_factory=SearchFilters)
    answer_lang: AnswerLang = "auto"


Translation = Literal[TRANSLATIONS]  # type: ignore[valid-type]


class OriginalOut(BaseModel):
    """The authoritative text of a passage shown in translation."""

    id: str
    text: str
    lang: str
    citation: str
    doc_id: str


class ChunkOut(BaseModel):
    id: str
    text: str
    citation: str
    doc_id: str
    doc_title: str
    kind: str
    pillar: str | None
    pillar_title: str | None
    actor: str | None
    section: list[str]
    paragraph: str | None
    item: str | None
    page: int | None
    lang: str
    context: str
    translation: Translation | None = Field(
        None,
        description="Whether `text` is a translation: `unofficial` (Boussole's own), `official` (the "
        "UN's), or null when it is the authoritative original.",
    )
    original: OriginalOut | None = Field(
        None, description="When `text` is a translation: the authoritative original, to quote or check."
    )

    @classmethod
    def from_chunk(cls, chunk: Chunk, doc_titles: dict[str, str], original: Chunk | None = None) -> ChunkOut:
        return cls(
            id=chunk.id,
            text=chunk.text,
            citation=chunk.citation,
            doc_id=chunk.doc_id,
            doc_title=doc_titles.get(chunk.doc_id, chunk.doc_id),
            kind=chunk.kind,
            pillar=chunk.pillar,
            pillar_title=pillar_title(chunk.pillar, chunk.lang) if chunk.pillar else None,
            actor=chunk.actor,
            section=list(chunk.section),
            paragraph=chunk.paragraph,
            item=chunk.item,
            page=chunk.page,
            lang=chunk.lang,
            context=chunk.context,
            translation=chunk.translation,
            original=OriginalOut(
                id=original.id,
                text=original.text,
                lang=original.lang,
                citation=original.citation,
                doc_id=original.doc_id,
            )
            if original is not None
            else None,
        )


class SearchHit(ChunkOut):
    rank: int = Field(description="1-based.")
    score: float = Field(description="Fused score; comparable within one response only.")
    similarity: float | None = Field(None, description="Cosine similarity of query and passage.")
    duplicates: list[str] = Field(
        default_factory=list,
        description="Ids of near-identical passages folded into this one (the guidelines "
        "repeat some measures under several pillars).",
    )

    @classmethod
    def from_hit(cls, hit: Hit, doc_titles: dict[str, str]) -> SearchHit:
        """The one serialisation of a hit, shared by the API and `boussole search --json`."""
        return cls(
            **ChunkOut.from_chunk(hit.chunk, doc_titles, hit.original).model_dump(),
            rank=hit.rank,
            score=float(hit.score),
            similarity=hit.dense_score,
            duplicates=list(hit.duplicates),
        )


class SearchResponse(BaseModel):
    query: str
    query_lang: str = Field(description="Detected language of the query, e.g. fr or en.")
    answer_lang: str = Field(description="The language results are shown in when a version exists.")
    in_scope: bool = Field(
        description="False when the guidelines do not seem to deal with the query: the results "
        "are then only the closest passages, weak matches to be read with care."
    )
    confidence: float = Field(ge=0.0, le=1.0, description="How likely the results answer the query.")
    scope_reason: str = Field(description="The scope verdict in words an official understands.")
    results: list[SearchHit]
    took_ms: float


# ---------------------------------------------------------------- recommend


class RecommendRequest(_Strict):
    problem: QueryText = Field(description="The city's problem in plain French or English.")
    actor: ActorChoice | None = Field(
        None,
        description="Whose measures to return: `local-regional`, `national` or `stakeholders` "
        "(with the `joint` measures, addressed to all actors together), `joint` alone, or "
        "`all` (every actor: the same as leaving it out).",
    )
    answer_lang: AnswerLang = "auto"


class RecommendItem(ChunkOut):
    score: float


class ActorGroupOut(BaseModel):
    actor: str
    measures: list[RecommendItem]


class PillarOut(BaseModel):
    key: str
    title: str
    count: int = Field(description="How many returned principles and measures belong to it.")


class ScopeOut(BaseModel):
    in_scope: bool
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str


class RecommendResponse(BaseModel):
    problem: str
    query_lang: str
    answer_lang: str = Field(description="The language the answer is shown in when a version exists.")
    actor: str | None
    in_scope: bool
    confidence: float = Field(ge=0.0, le=1.0)
    scope_reason: str = Field(description="The scope verdict in words an official understands.")
    message: str = Field(description="A one-line summary in the query's language.")
    principles: list[RecommendItem]
    measures: list[ActorGroupOut] = Field(description="Measures grouped by actor.")
    examples: list[RecommendItem] = Field(
        description="A city's actual practice (conference report) related to the problem."
    )
    pillars: list[PillarOut]
    weak_matches: list[RecommendItem] = Field(
        default_factory=list,
        description="Only when in_scope is false: the closest passages, which are weak "
        "matches and not recommendations.",
    )
    more: list[RecommendItem] = Field(
        default_factory=list,
        description="Principles and measures that fit less well than those of the answer (below "
        "its cut), best first: for a reader who asks for more, not part of the recommendation.",
    )
    took_ms: float


# ---------------------------------------------------------------- chunks, documents, health


class ChunkContextResponse(BaseModel):
    chunk: ChunkOut
    neighbours: list[ChunkOut] = Field(description="Same document, in reading order, including the chunk itself.")


class DocumentOut(BaseModel):
    id: str
    title: str
    lang: str
    kind: str
    symbol: str | None
    date: str | None
    publisher: str | None

    @classmethod
    def from_document(cls, doc: Document) -> DocumentOut:
        return cls(
            id=doc.id,
            title=doc.title,
            lang=doc.lang,
            kind=doc.kind,
            symbol=doc.symbol,
            date=doc.date,
            publisher=doc.publisher,
        )


class IndexVersionOut(BaseModel):
    index_version: str | None = Field(
        None, description="The index version being served (its folder under data/index-versions)."
    )
    index_built_at: str | None = Field(None, description="When that version was built (UTC, ISO 8601).")


class DocumentsResponse(IndexVersionOut):
    documents: list[DocumentOut]


class FiltersResponse(BaseModel):
    values: dict[str, list[str]] = Field(description="Valid values of each search filter.")


class HealthResponse(BaseModel):
    status: Literal["ok"]


class ReadyResponse(IndexVersionOut):
    status: Literal["ready"]
    took_ms: float
