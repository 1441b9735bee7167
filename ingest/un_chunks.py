"""Blocks → chunks for UN-style documents: one chunk per numbered paragraph without items,
per lettered item, per sub-item, per table row of a stand-alone table.

A paragraph's lead-in ("Les pouvoirs publics nationaux … sont encouragés à :") becomes the
`context` of its items; it is a chunk of its own only when it says more than that. A list
with an item shorter than a sentence ("Secteur privé ;") is an enumeration: the paragraph
and its items make one chunk.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from boussole.ingest.clean import FootnoteMarkers, clean_inline, join_lines, strip_markup
from boussole.ingest.models import Chunk, Document
from boussole.ingest.un_structure import Block, heading_text

# Lead-ins that only introduce a list: they carry no content of their own.
BARE_LEAD_RE = re.compile(
    r"(sont (encouragé|invité|prié)e?s à|travailler ensemble pour|suivant(e)?s|ci-après"
    r"|are (encouraged|invited|requested) to|work together to|following(?: \w+)?|as follows)\s*:\s*$",
    re.I,
)
MIN_SUBSTANTIVE_LEAD = 120  # shorter lead-ins ending with ":" are not worth a chunk
MAX_BARE_LEAD = 250  # a longer lead-in says more than "… are encouraged to:"
MIN_CHUNK_CHARS = 60  # an item shorter than this is a fragment ("Secteur privé ;"), not a result


def citation_base(doc: Document) -> str:
    return doc.symbol or doc.short_title or doc.title


def table_row_citation(doc: Document, title: str, row: str, name: str) -> str:
    """'…, tableau « Titre », ligne 3 : Libellé': the table by its title (the heading above
    it), the row by the number it prints (else its position) and its first cell."""
    base = citation_base(doc)
    if doc.lang == "en":
        where = f'table "{title}"' if title else "table"
        return f"{base}, {where}, row {row}: {name}"
    where = f"tableau « {title} »" if title else "tableau"
    return f"{base}, {where}, ligne {row} : {name}"


@dataclass
class TextUnit:
    """A block's display text and the footnotes it cites."""

    text: str
    notes: list[str]


def render_block(block: Block, markers: FootnoteMarkers, hard: bool) -> TextUnit:
    if block.kind == "table":
        return _render_table(block, markers)
    joined = join_lines(block.lines) if hard else " ".join(line.strip() for line in block.lines)
    text, cited = markers.extract(joined)
    return TextUnit(clean_inline(text), [_note(markers, label) for label in cited])


def _note(markers: FootnoteMarkers, label: str) -> str:
    return f"{label} {clean_inline(markers.notes[label])}"


def _render_table(block: Block, markers: FootnoteMarkers) -> TextUnit:
    """A table inside a paragraph (a timeline after its lead-in): one line per row, header
    row dropped, cells joined with dashes."""
    lines, notes = [], []
    for row in block.rows[1:]:
        cells = []
        for cell in row:
            text, cited = markers.extract(cell)
            cells.append(clean_inline(text).replace("\n", " "))
            notes.extend(_note(markers, label) for label in cited)
        lines.append(" — ".join(c for c in cells if c))
    return TextUnit("\n".join(lines), notes)


def table_row_units(block: Block, markers: FootnoteMarkers) -> list[tuple[str, TextUnit]]:
    """A stand-alone table: one unit per row, the first cell naming it; other cells labelled
    with their column header."""
    header = [heading_text(c) for c in block.rows[0]]
    units = []
    for row in block.rows[1:]:
        label, parts, notes = "", [], []
        for i, cell in enumerate(row):
            text, cited = markers.extract(cell)
            text = clean_inline(text).replace("\n", " ")
            notes.extend(_note(markers, c) for c in cited)
            if not text:
                continue
            if i == 0:
                label = text
                parts.append(text)
            else:
                name = header[i] if i < len(header) else ""
                parts.append(f"{name} : {text}" if name else text)
        if label:
            units.append((label, TextUnit("\n".join(parts), notes)))
    return units


@dataclass
class Group:
    """A numbered paragraph with its items, or items without a paragraph of their own."""

    number: str | None
    lead: Block | None
    lead_unit: TextUnit | None = None
    extra: list[TextUnit] = field(default_factory=list)
    items: list[tuple[Block, TextUnit]] = field(default_factory=list)


class UNChunker:
    def __init__(self, doc: Document, markers: FootnoteMarkers, hard: bool):
        self.doc = doc
        self.markers = markers
        self.hard = hard
        self.chunks: list[Chunk] = []
        self.leads: dict[str, str] = {}  # paragraph number → lead-in text (for enrichment)
        self.table_count = 0

    def run(self, blocks: list[Block]) -> list[Chunk]:
        group: Group | None = None
        for block in blocks:
            unit = render_block(block, self.markers, self.hard) if block.kind != "table" else None
            if block.kind == "heading":
                group = self._flush(group)
            elif block.kind == "paragraph":
                group = self._flush(group)
                group = Group(block.number, block, unit)
            elif block.kind in ("item", "subitem"):
                if group is None or group.number != block.paragraph:
                    group = self._flush(group)
                    group = Group(block.paragraph, None)
                group.items.append((block, unit))
            elif block.kind == "table":
                if group is not None and group.lead is not None and not group.items:
                    group.extra.append(render_block(block, self.markers, self.hard))
                else:
                    group = self._flush(group)
                    self._table(block)
            else:  # unnumbered text
                if group is None:
                    continue  # cover pages, agenda headers, captions before paragraph 1
                if group.items:
                    b, u = group.items[-1]
                    group.items[-1] = (b, TextUnit(u.text + "\n" + unit.text, u.notes + unit.notes))
                else:
                    group.extra.append(unit)
        self._flush(group)
        return self.chunks

    # -- emitting ------------------------------------------------------------------------
    def _chunk(self, id_suffix: str, text: str, citation: str, block: Block, **kw) -> None:
        self.chunks.append(
            Chunk(
                id=f"{self.doc.id}:{id_suffix}",
                doc_id=self.doc.id,
                text=text,
                lang="",
                citation=citation,
                kind=kw.pop("kind", "paragraph"),
                order=len(self.chunks),
                section=list(block.section),
                page=block.page,
                **kw,
            )
        )

    def _flush(self, group: Group | None) -> None:
        if group is None:
            return None
        base = citation_base(self.doc)
        lead_text, lead_notes = "", []
        if group.lead_unit is not None:
            parts = [group.lead_unit] + group.extra
            lead_text = "\n".join(p.text for p in parts if p.text)
            lead_notes = [n for p in parts for n in p.notes]
            self.leads[group.number] = lead_text
        n = group.number
        if not group.items:
            if lead_text:
                self._chunk(n, lead_text, f"{base}, para. {n}", group.lead, paragraph=n, notes=lead_notes)
            return None
        if n is not None and _is_enumeration([u for b, u in group.items if b.kind == "item"]):
            # short items ("Secteur privé ;") are not results of their own: one chunk
            lines = [lead_text] + [f"{b.number}) {u.text}" for b, u in group.items]
            notes = lead_notes + [x for _, u in group.items for x in u.notes]
            anchor = group.lead or group.items[0][0]
            self._chunk(
                n,
                "\n".join(x for x in lines if x),
                f"{base}, para. {n}",
                anchor,
                paragraph=n,
                context=" › ".join(anchor.section),
                notes=notes,
            )
            return None
        group.items = _fold_subitems(group.items)
        if lead_text and _substantive(lead_text):
            self._chunk(n, lead_text, f"{base}, para. {n}", group.lead, paragraph=n, notes=lead_notes)
        intro = lead_text if lead_text.rstrip().endswith(":") else ""
        item_intro = ""
        for block, unit in group.items:
            section = " › ".join(block.section)
            if block.kind == "item":
                item_intro = unit.text if unit.text.rstrip().endswith(":") else ""
                context = "\n".join(x for x in (section, intro) if x)
                self._chunk(
                    f"{n}.{block.number}",
                    unit.text,
                    f"{base}, para. {n} ({block.number})",
                    block,
                    paragraph=n,
                    item=block.number,
                    context=context,
                    notes=unit.notes,
                )
            else:
                context = "\n".join(x for x in (section, intro, item_intro) if x)
                self._chunk(
                    f"{n}.{block.item}.{block.number}",
                    unit.text,
                    f"{base}, para. {n} ({block.item}) ({block.number})",
                    block,
                    paragraph=n,
                    item=f"{block.item}.{block.number}",
                    context=context,
                    notes=unit.notes,
                )
        return None

    def _table(self, block: Block) -> None:
        title = block.section[-1] if block.section else ""
        for row, (label, unit) in enumerate(table_row_units(block, self.markers), start=1):
            self.table_count += 1
            number = re.match(r"^(\d+)\.", label)
            key = number.group(1) if number else str(self.table_count)
            name = re.sub(r"^\d+\.\s*", "", label)
            citation = table_row_citation(self.doc, title, number.group(1) if number else str(row), name)
            self._chunk(f"table.{key}", unit.text, citation, block, context=" › ".join(block.section), notes=unit.notes)


def _is_enumeration(units: list[TextUnit]) -> bool:
    """A list with an item shorter than a sentence is an enumeration: it is read with its
    parent (paragraph or item), not item by item."""
    return any(len(unit.text) < MIN_CHUNK_CHARS for unit in units)


def _fold_subitems(items: list[tuple[Block, TextUnit]]) -> list[tuple[Block, TextUnit]]:
    """An item whose sub-items form an enumeration takes them into its own text."""
    out: list[tuple[Block, TextUnit]] = []
    i = 0
    while i < len(items):
        block, unit = items[i]
        subs = []
        while block.kind == "item" and i + 1 + len(subs) < len(items) and items[i + 1 + len(subs)][0].kind == "subitem":
            subs.append(items[i + 1 + len(subs)])
        if subs and _is_enumeration([u for _, u in subs]):
            text = "\n".join([unit.text] + [f"{b.number}) {u.text}" for b, u in subs])
            out.append((block, TextUnit(text, unit.notes + [x for _, u in subs for x in u.notes])))
        else:
            out.extend([(block, unit)] + subs)
        i += 1 + len(subs)
    return out


# Two sentences or more: the lead-in says something besides introducing the list.
SENTENCE_BREAK_RE = re.compile(r"[.!?»]\s+[A-ZÀ-Ý«]")


def _substantive(lead: str) -> bool:
    text = strip_markup(lead).strip()
    if not text.endswith(":") or SENTENCE_BREAK_RE.search(text):
        return True
    if len(text) < MIN_SUBSTANTIVE_LEAD:
        return False
    return not (BARE_LEAD_RE.search(text) and len(text) < MAX_BARE_LEAD)


def chunk_un_document(
    doc: Document, blocks: list[Block], markers: FootnoteMarkers, hard: bool
) -> tuple[list[Chunk], dict[str, str]]:
    chunker = UNChunker(doc, markers, hard)
    chunks = chunker.run(blocks)
    return chunks, chunker.leads
