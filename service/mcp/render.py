"""Markdown a chat model reads: passages with their citation first, so it quotes them.

Works on the API's response models (`service.schemas`), so what a model reads through MCP
resources and prompts is what the HTTP API returns.
"""

from __future__ import annotations

from collections.abc import Iterable

from boussole.service import schemas

PASSAGE_URI = "boussole://passages/{id}"
DOCUMENT_URI = "boussole://documents/{id}"


def passage_uri(chunk_id: str) -> str:
    return PASSAGE_URI.format(id=chunk_id)


def document_uri(doc_id: str) -> str:
    return DOCUMENT_URI.format(id=doc_id)


def labels(chunk: schemas.ChunkOut) -> str:
    parts = [chunk.kind]
    if chunk.pillar_title or chunk.pillar:
        parts.append(f"pillar: {chunk.pillar_title or chunk.pillar}")
    if chunk.actor:
        parts.append(f"addressed to: {chunk.actor}")
    return " · ".join(parts)


def passage(chunk: schemas.ChunkOut, heading: str = "###", with_title: bool = True) -> str:
    """One passage: citation, document, labels, id, then the text."""
    about = [chunk.doc_title] if with_title else []
    about += [labels(chunk), f"id `{chunk.id}`"]
    return f"{heading} {chunk.citation}\n{' — '.join(about)}\n\n{chunk.text.strip()}\n"


def passages(chunks: Iterable[schemas.ChunkOut], heading: str = "###", with_title: bool = True) -> str:
    return "\n".join(passage(c, heading, with_title) for c in chunks)


def document(doc: schemas.DocumentOut, chunks: list[schemas.ChunkOut]) -> str:
    """A whole document, passage by passage in reading order."""
    head = [f"# {doc.title}"]
    facts = [f"symbol {doc.symbol}" if doc.symbol else None, doc.date, doc.publisher, f"language {doc.lang}"]
    head.append(" · ".join(f for f in facts if f))
    return "\n".join(head) + "\n\n" + passages(chunks, heading="##", with_title=False)


def recommendation(rec: schemas.RecommendResponse) -> str:
    """The recommend answer as sections a model can cite from."""
    out = [f"Boussole's answer ({rec.message})"]
    if rec.principles:
        out += ["", "## Principles", "", passages(rec.principles)]
    for group in rec.measures:
        out += ["", f"## Measures addressed to: {group.actor}", "", passages(group.measures)]
    if rec.examples:
        out += ["", "## City examples", "", passages(rec.examples)]
    if rec.pillars:
        out += ["", "## Pillars", ""] + [f"- {p.title} ({p.count})" for p in rec.pillars]
    return "\n".join(out).rstrip() + "\n"
