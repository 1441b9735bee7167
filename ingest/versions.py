"""Language versions of one document: give every chunk its language-independent key and
check that each version has exactly the paragraphs and items of its original.

A version (`Document.version_of`) carries the same symbol and numbering as the
authoritative text, so paragraph 40 (b) in English is the twin of 40 b) in French. The
key is the chunk id without its document prefix ("40.b", "step.1.1", "pp.3", "p12"),
except for glossary entries, whose ids are slugs of a term that changes with the
language: they are keyed by their place in the glossary.

Silent misalignment is what this module exists to prevent: a version that lacks a
paragraph of its original, or adds one, is refused with the first missing key named, and
the caller fails the build (a retrieval that mixed two numberings would cite the wrong
paragraph). A version takes its original's structure (kind, pillar, actor): the original
is the authority, its parser the one the guidelines' rules were written for.
"""

from __future__ import annotations

from dataclasses import replace

from boussole.ingest.errors import IngestError
from boussole.ingest.models import Chunk, Document

LANGUAGE_NAMES = {"fr": "French", "en": "English", "es": "Spanish", "ar": "Arabic", "zh": "Chinese", "ru": "Russian"}


class AlignmentError(IngestError):
    """A language version whose paragraphs do not match its original's: the build stops."""


def local_key(chunk: Chunk, glossary_position: int | None = None) -> str:
    """'hsp-ha-2-14:40.b' → '40.b'; a glossary entry → 'glossary.{n}'."""
    if chunk.kind == "definition" and glossary_position is not None:
        return f"glossary.{glossary_position}"
    return chunk.id.split(":", 1)[1] if ":" in chunk.id else chunk.id


def keyed(doc: Document, chunks: list[Chunk]) -> list[Chunk]:
    """Chunks of one document with `key` (work id + local key) and `translation` set."""
    out, glossary = [], 0
    for chunk in chunks:
        position = None
        if chunk.kind == "definition":
            glossary += 1
            position = glossary
        out.append(replace(chunk, key=f"{doc.work_id}:{local_key(chunk, position)}", translation=doc.translation))
    return out


def describe(key: str) -> str:
    """'hsp-ha-2-14:40.b' → 'para. 40 (b)', for error messages a person can act on."""
    local = key.split(":", 1)[1]
    head, _, rest = local.partition(".")
    if head.isdigit():
        return f"para. {head}" + "".join(f" ({part})" for part in rest.split(".") if part)
    return local


def check_versions(documents: list[Document]) -> list[IngestError]:
    """Manifest-level problems: a version of an unknown document, of a version, or a second
    version in a language the work already has."""
    by_id = {d.id: d for d in documents}
    errors: list[IngestError] = []
    langs: dict[str, set[str]] = {d.id: {d.lang} for d in documents if not d.version_of}
    for doc in documents:
        if not doc.version_of:
            continue
        original = by_id.get(doc.version_of)
        if original is None:
            errors.append(
                IngestError(
                    doc.source,
                    f"{doc.id} is a version of {doc.version_of!r}, which is not a document "
                    f"of the corpus (documents: {', '.join(sorted(langs))})",
                )
            )
        elif original.version_of:
            errors.append(
                IngestError(
                    doc.source,
                    f"{doc.id} is a version of {original.id}, itself a version of "
                    f"{original.version_of}: name the original instead",
                )
            )
        elif doc.lang in langs[original.id]:
            errors.append(
                IngestError(
                    doc.source, f"{original.id} already has a version in {doc.lang!r}: {doc.id} would be a second one"
                )
            )
        else:
            langs[original.id].add(doc.lang)
    return errors


def align(version: Document, chunks: list[Chunk], original_chunks: list[Chunk]) -> list[Chunk]:
    """The version's chunks with their original's structure; AlignmentError when the two
    do not have the same keys. Both lists must already be `keyed`."""
    mine = {c.key: c for c in chunks}
    theirs = {c.key: c for c in original_chunks}
    name = LANGUAGE_NAMES.get(version.lang, version.lang)
    missing = [c.key for c in original_chunks if c.key not in mine]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise AlignmentError(
            version.source,
            f"{describe(missing[0])}{more} of {version.version_of} has no "
            f"{name} twin in {version.id}: the versions are misaligned",
        )
    extra = [c.key for c in chunks if c.key not in theirs]
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise AlignmentError(
            version.source,
            f"{describe(extra[0])}{more} of {version.id} is not in the "
            f"original {version.version_of}: the versions are misaligned",
        )
    return [replace(c, kind=theirs[c.key].kind, pillar=theirs[c.key].pillar, actor=theirs[c.key].actor) for c in chunks]
