"""Resolutions: cover lines, an enacting formula ("L'Assemblée …,"), preambular clauses (one
chunk each, kind "preamble", ids pp.1, pp.2 …), then numbered operative paragraphs and
their lettered items, parsed by the generic UN parser."""

from __future__ import annotations

from dataclasses import replace

from boussole.ingest.clean import FootnoteMarkers, clean_inline, join_lines
from boussole.ingest.grammar import ENACTING_RE, PARA_RE, RESOLUTION_TITLE_RE
from boussole.ingest.layout import Layout, Line
from boussole.ingest.models import Chunk, Document
from boussole.ingest.un_chunks import chunk_un_document, citation_base
from boussole.ingest.un_structure import parse_blocks


def chunk_resolution(doc: Document, layout: Layout, markers: FootnoteMarkers) -> list[Chunk]:
    lines = layout.lines
    start = next((i for i, line in enumerate(lines) if ENACTING_RE.match(line.stripped)), None)
    first_op = next(
        (
            i
            for i, line in enumerate(lines)
            if (start is None or i > start) and (m := PARA_RE.match(line.stripped)) and m.group(1) == "1"
        ),
        len(lines),
    )
    title = next(
        (clean_inline(line.stripped) for line in lines[: start or 0] if RESOLUTION_TITLE_RE.match(line.stripped)), ""
    )
    formula = clean_inline(lines[start].stripped) if start is not None else ""
    preamble = _clauses(lines[start + 1 : first_op]) if start is not None else []
    base = citation_base(doc)
    word = "Preamble" if doc.lang == "en" else "Préambule"
    chunks: list[Chunk] = []
    for n, clause in enumerate(preamble, start=1):
        text, cited = markers.extract(
            join_lines(clause) if layout.hard_wrapped else " ".join(line.stripped for line in clause)
        )
        chunks.append(
            Chunk(
                id=f"{doc.id}:pp.{n}",
                doc_id=doc.id,
                text=clean_inline(text),
                lang="",
                citation=f"{base}, preamble, paragraph {n}" if doc.lang == "en" else f"{base}, préambule, alinéa {n}",
                kind="preamble",
                order=0,
                section=[s for s in (title, word) if s],
                page=clause[0].page,
                context=formula,
                notes=[f"{label} {clean_inline(markers.notes[label])}" for label in cited],
            )
        )
    blocks = parse_blocks(lines[first_op:], layout.hard_wrapped)
    operative, _ = chunk_un_document(doc, blocks, markers, layout.hard_wrapped)
    for c in operative:
        context = "\n".join(x for x in (formula, c.context) if x)
        chunks.append(replace(c, section=[title] if title else c.section, context=context))
    return chunks


def _clauses(lines: list[Line]) -> list[list[Line]]:
    """A clause starts with a capital ("Rappelant …"); a lowercase line continues the clause
    that a page break or a footnote cut in two."""
    clauses: list[list[Line]] = []
    for line in lines:
        if clauses and not line.stripped[:1].isupper():
            clauses[-1].append(line)
        else:
            clauses.append([line])
    return clauses
