"""The one reader and writer of the two record files: `chunks.jsonl` and `documents.json`.

Ingest writes them into the data folder, a build copies them into each index version, the
searcher and the Milvus backend read them back. One module per format keeps the three in
step: before it, the index wrote a bare list where ingest wrote `{"schema_version", "documents"}`.
The reader still accepts the bare list, so index versions built before this change open.
Writes are atomic (temporary file + rename).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from boussole.atomic import atomic_write_text
from boussole.errors import BoussoleError
from boussole.ingest.models import Chunk, Document

SCHEMA_VERSION = 1


class RecordsUnreadable(BoussoleError):
    """A chunks or documents file is not what its writer writes."""


def chunks_to_text(chunks: Iterable[Chunk]) -> str:
    return "".join(json.dumps(c.to_dict(), ensure_ascii=False) + "\n" for c in chunks)


def chunks_from_text(text: str, source: str = "chunks") -> list[Chunk]:
    try:
        return [Chunk.from_dict(json.loads(line)) for line in text.splitlines() if line.strip()]
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
        raise RecordsUnreadable(f"{source}: unreadable chunks ({exc})") from exc


def documents_to_text(documents: Iterable[Document]) -> str:
    payload = {"schema_version": SCHEMA_VERSION, "documents": [d.to_dict() for d in documents]}
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


def documents_from_text(text: str, source: str = "documents") -> list[Document]:
    try:
        data = json.loads(text)
        items = data["documents"] if isinstance(data, dict) else data
        return [Document.from_dict(d) for d in items]
    except (json.JSONDecodeError, TypeError, KeyError, AttributeError) as exc:
        raise RecordsUnreadable(f"{source}: unreadable documents ({exc})") from exc


def write_chunks(path: Path, chunks: Iterable[Chunk]) -> None:
    atomic_write_text(Path(path), chunks_to_text(chunks))


def read_chunks(path: Path) -> list[Chunk]:
    return chunks_from_text(_read(path), str(path))


def write_documents(path: Path, documents: Iterable[Document]) -> None:
    atomic_write_text(Path(path), documents_to_text(documents))


def read_documents(path: Path) -> list[Document]:
    return documents_from_text(_read(path), str(path))


def _read(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RecordsUnreadable(f"{path}: not UTF-8 text ({exc})") from exc
