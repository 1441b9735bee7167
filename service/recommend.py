"""From a city's problem to the answer an official needs: principles, measures by actor,
city examples, pillars, each with its citation, or an honest "outside the guidelines".

`recommend()` is a function over anything shaped like `index.searcher.Searcher`
(`SearchBackend` below); it assembles typed dataclasses, and the HTTP route only maps the
result to JSON.

How the answer is put together: one ranking of the whole corpus for the problem (the
searcher's hybrid, with its structure lift: the pillars the best passages agree on lift
their other principles and measures; and the judged problems' vote at the answer's weight,
index.config.FusionConfig.for_answer: officials' situations like this one lend the items
judged for them), and every part of the answer is read off that one
ranking, so the principles, the measures and the examples rest on the same evidence:
1. Scope: the searcher's verdict (index.scope). Out of scope, the answer carries no
   principles or measures, only the closest passages, marked as weak matches.
2. Principles and measures: the guidelines' own, in ranking order, near-identical ones
   folded, each kind cut where the evidence stops (service.cut: the items scoring at
   least a ratio of the kind's best, within a minimum and a maximum, chosen on the answer
   benchmark's tuning half). Measures are grouped by actor, local and regional
   governments first (the page is for city officials). With `actor`, only that actor's
   measures and the joint ones (addressed to all actors together), the actor's group
   first; `actor="all"` means every actor, like no actor.
3. City examples: chunks of kind "city-example" (a city's actual practice) scoring like
   the items shown (the same ratio of the best item's score): related to the problem as
   much as the guidelines' own text is, not merely the best of a small document.
4. Pillars: those of the shown principles and measures, most frequent first.
5. More: the next principles and measures below the cut, for a reader who asks.
Principles and measures are each one `Filters` (the actor's in the measures'): what it
admits of the ranking, topped up, when the ranking's depth holds fewer than the minimum,
by a search of the same problem with the same filters (the query vectors are cached).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from boussole.index.config import FusionConfig
from boussole.index.filters import Filters
from boussole.index.models import Hit, Scope, SearchResult
from boussole.index.scope import has_words
from boussole.ingest.models import EVERY_ACTOR, PILLARS, Chunk, Document, pillar_title
from boussole.service.cut import DEFAULT_CUT, AnswerCut, cut, fold_contained

GUIDELINES_DOC = "hsp-ha-2-14"
EXAMPLE_KIND = "city-example"
DEPTH = 100  # how deep the one ranking is read
N_WEAK = 5  # closest passages shown when the problem is out of scope
# Group order for measures: the page's readers are city officials.
JOINT = "joint"  # measures addressed to all actors together
ACTOR_ORDER = ("local-regional", "national", "stakeholders", JOINT)


class SearchBackend(Protocol):
    """What the service needs from `index.searcher.Searcher`."""

    @property
    def documents(self) -> list[Document]: ...

    @property
    def fusion(self) -> FusionConfig: ...

    def search(
        self,
        query: str,
        k: int = 10,
        filters: Filters = Filters(),
        mode: str = "hybrid",
        *,
        fusion: FusionConfig | None = None,
        answer_lang: str = "auto",
    ) -> SearchResult: ...

    def chunk(self, chunk_id: str) -> Chunk: ...

    def neighbours(self, chunk_id: str, before: int = 2, after: int = 2) -> list[Chunk]: ...

    def filter_values(self) -> dict[str, list[str]]: ...


@dataclass(frozen=True)
class Item:
    chunk: Chunk  # as shown, in the answer's language when a version exists
    score: float
    original: Chunk | None = None  # the authoritative text when `chunk` is a translation


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
    answer_lang: str = ""
    principles: tuple[Item, ...] = ()
    measures: tuple[ActorGroup, ...] = ()
    examples: tuple[Item, ...] = ()
    pillars: tuple[PillarCount, ...] = ()
    weak_matches: tuple[Item, ...] = ()  # out of scope only: the closest passages, not advice
    more: tuple[Item, ...] = ()  # principles and measures below the cut, best first, for "more"
    took_ms: float = 0.0
    searches: int = field(default=0, compare=False)  # how many searches it took


Assess = Callable[[SearchResult], Scope]  # index.scope.assess_scope, or a test's stand-in


def recommend(
    searcher: SearchBackend,
    problem: str,
    actor: str | None = None,
    *,
    assess: Assess,
    answer_lang: str = "auto",
    answer_cut: AnswerCut = DEFAULT_CUT,
) -> Recommendation:
    """The answer to `problem`: what fits, cut where the evidence stops (service.cut)."""
    start = time.perf_counter()

    fusion = searcher.fusion.for_answer()  # the judged problems' vote at the answer's weight
    ranking = searcher.search(problem, k=DEPTH, answer_lang=answer_lang, fusion=fusion)
    raw = assess(ranking)
    scope = Scope(bool(raw.in_scope), float(raw.confidence), str(raw.reason))
    lang = ranking.query_lang
    shown = ranking.answer_lang or lang
    searches = 1

    def done(**parts: object) -> Recommendation:
        rec = Recommendation(
            problem=problem,
            query_lang=lang,
            actor=actor,
            scope=scope,
            message="",
            answer_lang=shown,
            took_ms=round((time.perf_counter() - start) * 1000, 1),
            searches=searches,
            **parts,  # type: ignore[arg-type]
        )
        return _with_message(rec)

    if not scope.in_scope:
        weak = ranking.hits[:N_WEAK] if has_words(problem) else []  # a lone symbol has no neighbours worth showing
        return done(weak_matches=tuple(_items(weak)))

    def read(filters: Filters, least: int, most: int) -> list[Hit]:
        """The ranking's hits that `filters` admit; when it holds fewer than `least`, a
        search with the same filters tops them up."""
        nonlocal searches
        hits = [h for h in ranking.hits if filters.admits(h.chunk)]
        if len(hits) < least:
            searches += 1
            more = searcher.search(problem, k=most, filters=filters, answer_lang=shown, fusion=fusion).hits
            hits = _top_up(hits, more, most)
        return hits

    cut_ = answer_cut
    # The actor applies here, once: to the ranking and, when it runs short, to the top-up.
    principles = read(Filters(doc=(GUIDELINES_DOC,), kind=("principle",)), cut_.least_principles, cut_.most_principles)
    measures = read(
        Filters(doc=(GUIDELINES_DOC,), kind=("measure",), actor=_actors_for(actor)),
        cut_.least_measures,
        cut_.most_measures,
    )
    principles = _fold(principles, cut_.fold_containment, cut_.most_principles + cut_.more)
    measures = _fold(measures, cut_.fold_containment, cut_.most_measures + cut_.more)
    principles, more_principles = cut(principles, _score, cut_.ratio, cut_.least_principles, cut_.most_principles)
    measures, more_measures = cut(measures, _score, cut_.ratio, cut_.least_measures, cut_.most_measures)
    more = sorted(more_principles + more_measures, key=lambda h: -h.score)[: cut_.more]
    # A city example is shown when it fits as well as the items shown do.
    floor = cut_.ratio * max((h.score for h in principles + measures), default=0.0)
    examples = [h for h in ranking.hits if h.chunk.kind == EXAMPLE_KIND and h.score >= floor][: cut_.most_examples]

    principle_items = tuple(_items(principles))
    measure_items = tuple(_items(measures))
    return done(
        principles=principle_items,
        measures=group_by_actor(measure_items, first=actor),
        examples=tuple(_items(examples)),
        pillars=count_pillars(principle_items + measure_items),
        more=tuple(_items(more)),
    )


def _score(hit: Hit) -> float:
    return hit.score


_WORD = re.compile(r"\w+")


def _words(hit: Hit) -> frozenset[str]:
    """The words of the authoritative text: folding does not depend on the answer's
    language (translations of two near-identical items need not be near-identical)."""
    return frozenset(_WORD.findall(hit.source.text.lower()))


def _fold(hits: list[Hit], threshold: float, limit: int) -> list[Hit]:
    """Near-identical items (one's words all in a better one's, same actor) shown once;
    only as far down the ranking as the answer and its "more" can reach."""
    return fold_contained(hits, _words, lambda h: (h.chunk.kind, h.chunk.actor), threshold, limit)


def _top_up(hits: list[Hit], more: Iterable[Hit], n: int) -> list[Hit]:
    seen = {h.chunk.id for h in hits}
    return (hits + [h for h in more if h.chunk.id not in seen])[:n]


def _actors_for(actor: str | None) -> tuple[str, ...]:
    """The measures' actors an `actor` argument keeps: that actor's and the joint ones
    (addressed to all actors together); None or "all" (every actor) keeps every measure."""
    if actor is None or actor == EVERY_ACTOR:
        return ()
    return (actor,) if actor == JOINT else (actor, JOINT)


def _items(hits: Iterable[Hit]) -> list[Item]:
    return [Item(chunk=h.chunk, score=float(h.score), original=h.original) for h in hits]


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
    first_seen: dict[str | None, int] = {}
    for n, item in enumerate(items):
        first_seen.setdefault(item.chunk.pillar, n)
    keys = sorted(counts, key=lambda k: (-counts[k], first_seen[k]))
    lang = items[0].chunk.lang if items else "fr"
    return tuple(PillarCount(key=k, title=pillar_title(k, lang), count=counts[k]) for k in keys)


_MESSAGES = {
    "fr": {
        "out": "Les Directives sur les villes intelligentes centrées sur les personnes ne "
        "semblent pas traiter ce problème : aucune recommandation n'en est tirée. Les passages "
        "ci-dessous sont seulement les plus proches, à lire avec prudence.",
        "in": "{p} principe(s) et {m} mesure(s) des Directives répondent à ce problème.",
        "low": " Pertinence incertaine : vérifiez les passages cités.",
        "words": "Décrivez le problème de la ville en quelques mots.",
        "none": "Aucun principe ni aucune mesure des Directives ne correspond à ce problème.",
    },
    "en": {
        "out": "The Guidelines on People-Centred Smart Cities do not seem to deal with this "
        "problem, so no recommendation is drawn from them. The passages below are only the "
        "closest ones; read them with care.",
        "in": "{p} principle(s) and {m} measure(s) of the Guidelines address this problem.",
        "low": " Relevance is uncertain: check the cited passages.",
        "words": "Describe the city's problem in a few words.",
        "none": "No principle or measure of the Guidelines matches this problem.",
    },
}
LOW_CONFIDENCE = 0.5


def _with_message(rec: Recommendation) -> Recommendation:
    text = _MESSAGES.get(rec.answer_lang or rec.query_lang, _MESSAGES["en"])
    n_measures = sum(len(g.measures) for g in rec.measures)
    if not rec.scope.in_scope and not has_words(rec.problem):
        message = text["words"]
    elif not rec.scope.in_scope:
        message = text["out"]
    elif not rec.principles and not n_measures:
        message = text["none"]
    else:
        message = text["in"].format(p=len(rec.principles), m=n_measures)
        if rec.scope.confidence < LOW_CONFIDENCE:
            message += text["low"]
    return replace(rec, message=message)
