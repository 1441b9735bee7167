"""Typed records that cross the ingest → index boundary."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# Chunk kinds. Guidelines use the first five; resolutions "preamble"; conference reports
# "city-example" for a city's actual practice (ingest/README.md gives the rule).
KINDS = ("principle", "measure", "paragraph", "definition", "implementation-step", "preamble", "city-example")
# Who a measure is addressed to; "joint": all actors together (paras 32, 38, 44, 51, 73,
# 74 of the guidelines, "Tous les acteurs concernés …"). Not "all", which a reader (and the
# API's `actor` argument) takes to mean "every actor".
ACTORS = ("national", "local-regional", "stakeholders", "joint")
EVERY_ACTOR = "all"  # as a filter or `actor` argument: no restriction
# The eight pillars of the guidelines: stable keys used in filters, ids and the API.
PILLARS = {
    "thematic-1": "Prospérité partagée",
    "thematic-2": "Durabilité, résilience et réponse aux crises",
    "thematic-3": "Participation et collaboration citoyennes",
    "thematic-4": "Droits humains numériques, équité et inclusion",
    "enabling-1": "Gouvernance et réglementation",
    "enabling-2": "Infrastructure publique numérique, données et services",
    "enabling-3": "Habileté numérique et développement des compétences",
    "enabling-4": "Budgétisation et financement",
}
# The pillars' titles in English (the titles of the unofficial English translation).
PILLARS_EN = {
    "thematic-1": "Shared prosperity",
    "thematic-2": "Sustainability, resilience and crisis response",
    "thematic-3": "Citizen participation and collaboration",
    "thematic-4": "Digital human rights, equity and inclusion",
    "enabling-1": "Governance and regulation",
    "enabling-2": "Digital public infrastructure, data and services",
    "enabling-3": "Digital literacy and skills development",
    "enabling-4": "Budgeting and financing",
}
PILLAR_TITLES = {"fr": PILLARS, "en": PILLARS_EN}
TRANSLATIONS = ("unofficial", "official")


def pillar_title(key: str, lang: str) -> str:
    """A pillar's title in `lang` when known, else in the guidelines' original French."""
    return PILLAR_TITLES.get(lang, PILLARS).get(key, PILLARS.get(key, key))


@dataclass(frozen=True)
class Document:
    """One source document, as described by `corpus/documents.toml`."""

    id: str  # short, stable, e.g. "hsp-ha-2-14"
    title: str
    lang: str  # "fr" | "en"
    kind: str  # guidelines | resolution | executive-board-report | strategy | conference-report
    source: str  # file name inside the corpus directory
    symbol: str | None = None  # UN document symbol, e.g. "HSP/HA.2/14"
    date: str | None = None  # ISO date
    publisher: str | None = None
    short_title: str | None = None  # used in citations when there is no symbol
    # A language version of another document of the corpus (same symbol, same numbering):
    # the id of the authoritative document it translates, and whose translation it is.
    version_of: str | None = None
    translation: str | None = None  # "unofficial" (ours) | "official" (the UN's); None: authoritative

    @property
    def work_id(self) -> str:
        """The document every language version of this one shares: filters and twins use it."""
        return self.version_of or self.id

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class Chunk:
    """One citable unit: a lettered item, a numbered paragraph, a glossary term, ...

    `text` is what an official reads; `context` is what a reader needs to understand the
    item on its own (lead-in sentence, pillar title). The index embeds both, the answer
    shows `text`.
    """

    id: str  # "{doc_id}:{paragraph}[.{item}]", e.g. "hsp-ha-2-14:40.b"; stable across runs
    doc_id: str
    text: str
    lang: str
    citation: str  # e.g. "HSP/HA.2/14, para. 40 (b)"
    kind: str  # one of KINDS
    order: int  # position in its document, for neighbours and stable sorting
    section: list[str] = field(default_factory=list)  # headings from the top down to this chunk
    paragraph: str | None = None  # "40"
    item: str | None = None  # "b"
    page: int | None = None
    pillar: str | None = None  # key of PILLARS
    actor: str | None = None  # one of ACTORS, for measures
    context: str = ""
    notes: list[str] = field(default_factory=list)  # footnotes cited by this chunk
    # Language-independent place in its work ("hsp-ha-2-14:40.b"): a chunk and its
    # translations (its twins) share it. Set by ingest.versions; "" before alignment.
    key: str = ""
    translation: str | None = None  # as its Document's: None for the authoritative text

    @property
    def work_id(self) -> str:
        return self.key.split(":", 1)[0] if self.key else self.doc_id

    @property
    def pillar_type(self) -> str | None:
        return self.pillar.split("-")[0] if self.pillar else None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pillar_type"] = self.pillar_type
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})
