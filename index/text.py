"""What the dense index embeds for a chunk: the item with the context it needs.

A lettered item ("b) Utiliser des plateformes numériques …") means little alone; its
document, pillar, heading and lead-in sentence say who should do it and where it sits.
The answer still shows only the item (`Chunk.text`).
"""

from __future__ import annotations

from ingest.models import PILLARS, Chunk, Document


def embedding_text(chunk: Chunk, document: Document | None) -> str:
    parts: list[str] = []
    if document is not None:
        parts.append(document.title)
    if chunk.pillar and chunk.pillar in PILLARS and PILLARS[chunk.pillar] not in chunk.context:
        parts.append(PILLARS[chunk.pillar])
    if chunk.section:
        parts.append(chunk.section[-1])
    if chunk.context:
        parts.append(chunk.context)
    parts.append(chunk.text)
    return "\n".join(p.strip() for p in parts if p and p.strip())


def lexical_text(chunk: Chunk) -> str:
    """BM25 sees the item, its lead-in and its heading, not the document title (shared by all)."""
    parts = [chunk.section[-1] if chunk.section else "", chunk.context, chunk.text]
    return "\n".join(p for p in parts if p)
