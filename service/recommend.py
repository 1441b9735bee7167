"""From a city's problem to the answer an official needs: principles, measures by actor,
city examples, pillars, each with its citation, or an honest "outside the guidelines".

`recommend()` is a function over anything shaped like `index.searcher.Searcher`
(`SearchBackend` below); it runs a few filtered searches and assembles typed dataclasses.
The HTTP route only maps the result to JSON.

How the answer is put together:
1. One unfiltered search over the whole corpus; `index.scope.assess_scope` judges from it
   whether the problem lies within the guidelines. If not, the answer says so and carries
   no principles or measures: no confident-looking list for a cake recipe.
2. Principles: the guidelines (hsp-ha-2-14), kind "principle", top `n_principles`.
3. Measures: the guidelines, kind "measure", top `n_measures`, grouped by actor, local and
   regional governments first (the page is for city officials). With `actor`, only that
   actor's measures and those addressed to all actors are returned, the actor's group first.
4. City examples: the conference report (aimf-2025-hue), kept only when the passage also
   ranks among the top `probe_k` of the unfiltered search, i.e. it is related to the
   problem as much as the guidelines' own text is, not merely the best of a small document.
5. Pillars: those of the returned principles and measures, most frequent first.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from index.models import Filters, Hit, SearchResult
from index.scope import Scope
from ingest.models import PILLARS, Chunk, Document

GUIDELINES_DOC = "hsp-ha-2-14"
EXAMPLES_DOC = "aimf-2025-hue"
# Group order for measures: the page's readers are city officials.
ACTOR_ORDER = ("local-regional", "national", "stakeholders", "all")


class SearchBackend(Protocol):
    """What the service needs from `index.searcher.Searcher`."""

    @property
    def documents(self) -> list[Document]: ...

    def search(
        self, query: str, k: int = 10, filters: Filters = Filters(), mode: str = "hybrid"
    ) -> SearchResult: ...

    def chunk(self, chunk_id: str) -> Chunk: ...

    def neighbours(self, chunk_id: str, before: int = 2, after: int = 2) -> list[Chunk]: ...

    def filter_values(self) -> dict[str, list[str]]: ...


@dataclass(frozen=True)
class Item:
    chunk: Chunk
    score: float


@dataclass(frozen=True)
class ActorGroup:
    actor: str
    measures: tuple[Item, ...]


@dataclass(frozen=True)
class PillarCount:
    key: str
    title: str
    count: int


@dataclass(frozen=True)
class Recommendation:
    problem: str
    query_lang: str
    actor: str | None
    scope: Scope
    message: str
    principles: tuple[Item, ...] = ()
    measures: tuple[ActorGroup, ...] = ()
    examples: tuple[Item, ...] = ()
    pillars: tuple[PillarCount, ...] = ()
    took_ms: float = 0.0
    searches: int = field(default=0, compare=False)  # how many searches it took


Assess = Callable[[SearchResult], Scope]  # index.scope.assess_scope, or a test's stand-in


def recommend(
    searcher: SearchBackend,
    problem: str,
    actor: str | None = None,
    *,
    assess: Assess,
    n_principles: int = 5,
    n_measures: int = 10,
    n_examples: int = 3,
    probe_k: int = 30,
) -> Recommendation:
    start = time.perf_counter()

    probe = searcher.search(problem, k=probe_k)
    raw = assess(probe)
    scope = Scope(bool(raw.in_scope), float(raw.confidence), str(raw.reason))
    lang = probe.query_lang

    def done(**parts: object) -> Recommendation:
        rec = Recommendation(
            problem=problem,
            query_lang=lang,
            actor=actor,
            scope=scope,
            message="",
            took_ms=round((time.perf_counter() - start) * 1000, 1),
            **parts,  # type: ignore[arg-type]
        )
        return _with_message(rec)

    if not scope.in_scope:
        return done(searches=1)

    principles = searcher.search(
        problem, k=n_principles, filters=Filters(doc=(GUIDELINES_DOC,), kind=("principle",))
    )
    measures = searcher.search(
        problem,
        k=n_measures,
        filters=Filters(doc=(GUIDELINES_DOC,), kind=("measure",), actor=_actors_for(actor)),
    )
    examples = searcher.search(problem, k=n_examples, filters=Filters(doc=(EXAMPLES_DOC,)))
    related = {hit.chunk.id for hit in probe.hits}

    principle_items = tuple(_items(principles.hits))
    measure_items = tuple(_items(measures.hits))
    return done(
        principles=principle_items,
        measures=group_by_actor(measure_items, first=actor),
        examples=tuple(_items(h for h in examples.hits if h.chunk.id in related)),
        pillars=count_pillars(principle_items + measure_items),
        searches=4,
    )


def _actors_for(actor: str | None) -> tuple[str, ...]:
    if actor is None:
        return ()
    return (actor,) if actor == "all" else (actor, "all")


def _items(hits: Iterable[Hit]) -> list[Item]:
    return [Item(chunk=h.chunk, score=float(h.score)) for h in hits]


def group_by_actor(items: tuple[Item, ...], first: str | None = None) -> tuple[ActorGroup, ...]:
    """Measures grouped by actor, in ACTOR_ORDER (with `first` moved to the front); within a
    group, the search's order. Measures without an actor go to a last group "unspecified"."""
    order = list(ACTOR_ORDER)
    if first in order:
        order.remove(first)
        order.insert(0, first)
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(item.chunk.actor or "unspecified", []).append(item)
    keys = [a for a in order if a in groups] + sorted(k for k in groups if k not in order)
    return tuple(ActorGroup(actor=k, measures=tuple(groups[k])) for k in keys)


def count_pillars(items: tuple[Item, ...]) -> tuple[PillarCount, ...]:
    """Pillars of the items, most frequent first, ties by first appearance."""
    counts = Counter(i.chunk.pillar for i in items if i.chunk.pillar in PILLARS)
    first_seen = {}
    for n, item in enumerate(items):
        first_seen.setdefault(item.chunk.pillar, n)
    keys = sorted(counts, key=lambda k: (-counts[k], first_seen[k]))
    return tuple(PillarCount(key=k, title=PILLARS[k], count=counts[k]) for k in keys)


_MESSAGES = {
    "fr": {
        "out": "Ce problème semble hors du champ des Directives sur les villes intelligentes "
        "centrées sur les personnes : aucune recommandation fiable ne peut en être tirée.",
        "in": "{p} principe(s) et {m} mesure(s) des Directives répondent à ce problème.",
        "low": " Pertinence incertaine : vérifiez les passages cités.",
        "none": "Aucun principe ni aucune mesure des Directives ne correspond à ce problème.",
    },
    "en": {
        "out": "This problem seems outside the scope of the Guidelines on People-Centred "
        "Smart Cities: no reliable recommendation can be drawn from them.",
        "in": "{p} principle(s) and {m} measure(s) of the Guidelines address this problem.",
        "low": " Relevance is uncertain: check the cited passages.",
        "none": "No principle or measure of the Guidelines matches this problem.",
    },
}
LOW_CONFIDENCE = 0.5


def _with_message(rec: Recommendation) -> Recommendation:
    text = _MESSAGES["fr" if rec.query_lang == "fr" else "en"]
    n_measures = sum(len(g.measures) for g in rec.measures)
    if not rec.scope.in_scope:
        message = text["out"]
    elif not rec.principles and not n_measures:
        message = text["none"]
    else:
        message = text["in"].format(p=len(rec.principles), m=n_measures)
        if rec.scope.confidence < LOW_CONFIDENCE:
            message += text["low"]
    return replace(rec, message=message)
