"""`corpus/documents.toml`: which files make up the corpus and what they are."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from boussole.ingest.errors import IngestError
from boussole.ingest.models import TRANSLATIONS, Document

MANIFEST_NAME = "documents.toml"
REQUIRED = ("id", "title", "lang", "kind", "source")
# Chunk ids start with the document id: keep it short, lowercase, url- and file-safe.
DOC_ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def load_manifest(corpus_dir: Path) -> list[Document]:
    path = Path(corpus_dir) / MANIFEST_NAME
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IngestError(str(path), "manifest not found") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IngestError(str(path), f"invalid TOML: {exc}") from exc
    docs: list[Document] = []
    seen: set[str] = set()
    for i, entry in enumerate(data.get("document", []), start=1):
        missing = [key for key in REQUIRED if not entry.get(key)]
        if missing:
            raise IngestError(str(path), f"document #{i} lacks {', '.join(missing)}")
        doc = Document.from_dict(entry)
        validate_document(doc, str(path))
        if doc.id in seen:
            raise IngestError(str(path), f"duplicate document id {doc.id!r}")
        seen.add(doc.id)
        docs.append(doc)
    return docs


def validate_document(doc: Document, where: str) -> None:
    if not DOC_ID_RE.match(doc.id):
        raise IngestError(where, f"document id {doc.id!r} must be lowercase letters, digits and hyphens")
    if doc.translation is not None and doc.translation not in TRANSLATIONS:
        raise IngestError(
            where, f"{doc.id}: translation must be one of {', '.join(TRANSLATIONS)}, not {doc.translation!r}"
        )
    if doc.version_of and doc.translation is None:
        raise IngestError(
            where,
            f"{doc.id} is a version of {doc.version_of}: say whether it is an official or an "
            'unofficial translation (translation = "official" | "unofficial")',
        )
    if doc.translation and not doc.version_of:
        raise IngestError(where, f'{doc.id} is a translation: name the document it translates (version_of = "…")')


def _toml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def append_to_manifest(corpus_dir: Path, doc: Document) -> None:
    """Add one [[document]] table at the end of the manifest (comments and order kept)."""
    path = Path(corpus_dir) / MANIFEST_NAME
    lines = ["", "[[document]]"]
    for key, value in doc.to_dict().items():
        if value is not None:
            lines.append(f"{key} = {_toml_str(str(value))}")
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    text = existing.rstrip("\n") + "\n" + "\n".join(lines) + "\n"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
