"""What the indexes see of a chunk: the item with the context it needs.

A lettered item ("b) Utiliser des plateformes numériques …") means little alone; its
document, pillar, heading and lead-in sentence say who should do it and where it sits.
The answer still shows only the item (`Chunk.text`).
"""

from __future__ import annotations

from ingest.models import Chunk, Document


def embedding_text(chunk: Chunk, document: Document | None) -> str:
    """Document title, then the chunk's context (heading path and lead-in), then the text."""
    parts = [document.title if document else ""]
    parts.append(chunk.context or " › ".join(chunk.section))
    parts.append(chunk.text)
    return "\n".join(p.strip() for p in parts if p and p.strip())


def lexical_text(chunk: Chunk) -> str:
    """BM25 sees the text and its two nearest headings, not the lead-in shared by siblings."""
    return "\n".join([*chunk.section[-2:], chunk.text])
