"""The one filter type: what a search may be restricted to, checked once, against the index.

The API's request, the CLI's options, the MCP tools and the service's own answers all
build a `Filters`; the searcher checks it against the values its index holds
(`FilterColumns.check`, the one place a filter is refused, with one message) and turns it
into the rows it keeps; a backend receives the checked `Filters` (Milvus translates it
into an expression) or those rows. A new filter is a field here, named after the chunk
attribute it reads (`value_of`), and in the API's `SearchFilters` and the CLI's options.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields, replace

import numpy as np

from boussole.index.errors import FilterError
from boussole.ingest.models import ACTORS, EVERY_ACTOR, KINDS, PILLARS, Chunk


def value_of(chunk: Chunk, name: str) -> str:
    """A chunk's value for the filter `name` ("" when it has none). `doc` is the document
    in every language: a version's chunks carry their original's id."""
    return (chunk.work_id if name == "doc" else getattr(chunk, name)) or ""


@dataclass(frozen=True)
class Filters:
    """Restrict a search; an empty tuple means no restriction on that field. Fields AND,
    values within a field OR."""

    doc: tuple[str, ...] = ()
    kind: tuple[str, ...] = ()
    pillar: tuple[str, ...] = ()
    actor: tuple[str, ...] = ()
    lang: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in FILTER_FIELDS:  # the API gives lists, click tuples: one immutable, hashable form
            values = getattr(self, name)
            if isinstance(values, str):
                raise TypeError(f"Filters.{name} takes a sequence of values, not the string {values!r}")
            object.__setattr__(self, name, tuple(values))

    def is_empty(self) -> bool:
        return not any(getattr(self, f) for f in FILTER_FIELDS)

    def admits(self, chunk: Chunk) -> bool:
        """Whether `chunk` passes these filters, as checked (`FilterColumns.check`)."""
        return all(not (wanted := getattr(self, name)) or value_of(chunk, name) in wanted for name in FILTER_FIELDS)


FILTER_FIELDS = tuple(f.name for f in fields(Filters))  # ("doc", "kind", "pillar", "actor", "lang")


def library_values() -> dict[str, list[str]]:
    """The values the library itself defines, for before an index is loaded: kinds, pillar
    keys, and the actors with "all" (every actor)."""
    return {"kind": list(KINDS), "pillar": list(PILLARS), "actor": [*ACTORS, EVERY_ACTOR]}


class FilterColumns:
    """The filter fields of one index's rows, read once: the values its filters may name
    (`values`), the check of a `Filters` against them (`check`) and the rows it keeps (`mask`)."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        self._size = len(chunks)
        self._columns = {name: np.array([value_of(c, name) for c in chunks], dtype=object) for name in FILTER_FIELDS}
        self._work_of = {c.doc_id: c.work_id for c in chunks}
        values = {name: sorted({v for v in column if v}) for name, column in self._columns.items()}
        values["doc"] = sorted(set(values["doc"]) | set(self._work_of))  # a version's id stands for its document
        values["actor"] = [*values["actor"], EVERY_ACTOR]  # "all": every actor, no restriction
        self._values = values
        self._known = {name: frozenset(v) for name, v in values.items()}

    def values(self) -> dict[str, list[str]]:
        """Valid values per filter. `doc` takes a document's id or any of its versions' ids:
        each selects the document in every language (`lang` picks a language)."""
        return {name: list(v) for name, v in self._values.items()}

    def check(self, filters: Filters) -> Filters:
        """`filters` in the index's terms: a version's id becomes its document's, actor "all"
        no restriction. A value the index does not hold is a FilterError listing the valid ones."""
        for name in FILTER_FIELDS:
            unknown = [v for v in dict.fromkeys(getattr(filters, name)) if v not in self._known[name]]
            if unknown:
                raise FilterError(name, unknown, self._values[name])
        return replace(
            filters,
            doc=tuple(dict.fromkeys(self._work_of.get(d, d) for d in filters.doc)),
            actor=() if EVERY_ACTOR in filters.actor else filters.actor,
        )

    def mask(self, filters: Filters) -> np.ndarray:
        """The rows checked `filters` keep, as a boolean array."""
        mask = np.ones(self._size, dtype=bool)
        for name in FILTER_FIELDS:
            if wanted := getattr(filters, name):
                mask &= np.isin(self._columns[name], list(wanted))
        return mask
