"""The one filter type (index.filters): its check against an index's values, the rules that
put a filter in the index's terms, and the rows it keeps. No model, no index: a few chunks."""

from __future__ import annotations

import pytest

from boussole.index.errors import FilterError, QueryError
from boussole.index.filters import FilterColumns, Filters
from boussole.ingest.models import Chunk

GUIDE = "hsp-ha-2-14"


def _chunk(cid: str, doc: str, kind: str, lang: str = "fr", actor: str | None = None, key: str = "") -> Chunk:
    return Chunk(
        id=cid,
        doc_id=doc,
        text=cid,
        lang=lang,
        citation=cid,
        kind=kind,
        order=0,
        pillar="thematic-2",
        actor=actor,
        key=key,
    )


CHUNKS = [
    _chunk(f"{GUIDE}:38", GUIDE, "principle", key=f"{GUIDE}:38"),
    _chunk(f"{GUIDE}:40.b", GUIDE, "measure", actor="local-regional", key=f"{GUIDE}:40.b"),
    _chunk(f"{GUIDE}:42", GUIDE, "measure", actor="joint", key=f"{GUIDE}:42"),
    # the English version of 40 (b): its document is the guidelines
    _chunk(f"{GUIDE}-en:40.b", f"{GUIDE}-en", "measure", lang="en", actor="local-regional", key=f"{GUIDE}:40.b"),
    _chunk("aimf-2025-hue:12", "aimf-2025-hue", "city-example"),
]
COLUMNS = FilterColumns(CHUNKS)


def kept(filters: Filters) -> list[str]:
    checked = COLUMNS.check(filters)
    by_mask = [c.id for c, keep in zip(CHUNKS, COLUMNS.mask(checked)) if keep]
    assert by_mask == [c.id for c in CHUNKS if checked.admits(c)]  # the mask and a chunk's test agree
    return by_mask


def test_values_list_versions_ids_and_every_actor():
    values = COLUMNS.values()
    assert values["doc"] == ["aimf-2025-hue", GUIDE, f"{GUIDE}-en"]
    assert values["actor"] == ["joint", "local-regional", "all"]
    assert values["kind"] == ["city-example", "measure", "principle"]
    assert values["lang"] == ["en", "fr"]


def test_a_versions_id_selects_the_document_in_every_language():
    assert COLUMNS.check(Filters(doc=(f"{GUIDE}-en", GUIDE))).doc == (GUIDE,)
    assert kept(Filters(doc=(f"{GUIDE}-en",))) == kept(Filters(doc=(GUIDE,))) == [c.id for c in CHUNKS[:4]]


def test_actor_all_is_no_restriction():
    assert COLUMNS.check(Filters(actor=("all",), kind=("measure",))) == Filters(kind=("measure",))
    assert kept(Filters(actor=("all",))) == [c.id for c in CHUNKS]


def test_fields_and_values_combine():
    assert kept(Filters(kind=("measure",), actor=("joint", "local-regional"), lang=("fr",))) == [
        f"{GUIDE}:40.b",
        f"{GUIDE}:42",
    ]


@pytest.mark.parametrize(
    "filters,field,message",
    [
        (Filters(actor=("mayor",)), "filters.actor", "unknown actor 'mayor': choose one of joint, local-regional, all"),
        (
            Filters(actor=("all", "mayor")),
            "filters.actor",
            "unknown actor 'mayor': choose one of joint, local-regional, all",
        ),
        (Filters(lang=("de", "es", "de")), "filters.lang", "unknown lang 'de', 'es': choose one of en, fr"),
        (
            Filters(doc=("nope",), lang=("de",)),
            "filters.doc",
            f"unknown doc 'nope': choose one of aimf-2025-hue, {GUIDE}, {GUIDE}-en",
        ),
    ],
)
def test_an_unknown_value_is_one_error_with_one_message(filters, field, message):
    with pytest.raises(FilterError) as caught:
        COLUMNS.check(filters)
    assert isinstance(caught.value, QueryError)
    assert (str(caught.value), caught.value.field) == (message, field)
    assert caught.value.valid == COLUMNS.values()[field.split(".")[1]]


def test_filters_take_any_sequence_but_not_a_bare_string():
    assert Filters(doc=[GUIDE], kind=["measure"]) == Filters(doc=(GUIDE,), kind=("measure",))
    assert hash(Filters(doc=[GUIDE])) == hash(Filters(doc=(GUIDE,)))
    with pytest.raises(TypeError, match="sequence"):
        Filters(doc=GUIDE)  # type: ignore[arg-type]
