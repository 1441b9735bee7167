"""What the indexes see of a chunk: the item with the context it needs.

A lettered item ("b) Utiliser des plateformes numériques …") means little alone; its
pillar, heading and lead-in sentence say who should do it and where it sits. The answer
still shows only the item (`Chunk.text`). The document title and the top of the heading
path are left out: every chunk of a document shares them, so they only cost encoding
time (the model's cost grows with the token count, and two cores are all there is).
"""

from __future__ import annotations

from boussole.ingest.models import Chunk

PATH_SEPARATOR = " › "


def lead_in(chunk: Chunk) -> str:
    """The context without its heading-path line (the path is in `section`)."""
    return "\n".join(line for line in chunk.context.splitlines() if PATH_SEPARATOR not in line).strip()


def embedding_text(chunk: Chunk) -> str:
    """The two nearest headings, the lead-in sentence, then the text."""
    lines: list[str] = []
    for part in (*chunk.section[-2:], *lead_in(chunk).splitlines(), chunk.text):
        part = part.strip()
        if part and part not in lines:
            lines.append(part)
    return "\n".join(lines)


def lexical_text(chunk: Chunk) -> str:
    """BM25 sees the text and its two nearest headings, not the lead-in shared by siblings."""
    return "\n".join([*chunk.section[-2:], chunk.text])


def second_encoder_text(chunk: Chunk) -> str:
    """USE sees the text alone: with the headings and lead-in it ranked worse on the
    benchmark's tuning half (python -m boussole.eval.fusion_sweep), and it reads short texts best."""
    return chunk.text


def defined_term(chunk: Chunk) -> str | None:
    """The term a glossary definition defines ("Interopérabilité : La capacité …")."""
    if chunk.kind != "definition":
        return None
    head, colon, _ = chunk.text.partition(":")
    head = head.strip()
    return head if colon and 0 < len(head) <= 80 else None
