"""Corpus → chunks: read each document, parse its structure, enrich, write atomically.

One bad document never stops the others: its IngestError is collected in the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from boussole.ingest import records
from boussole.ingest.clean import FootnoteMarkers
from boussole.ingest.errors import IngestError
from boussole.ingest.layout import analyse_layout
from boussole.ingest.manifest import load_manifest
from boussole.ingest.models import Chunk, Document
from boussole.ingest.readers import read_document
from boussole.ingest.versions import AlignmentError, align, check_versions, keyed
from boussole.language import detect_language


@dataclass
class IngestReport:
    documents: list[Document] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)

    def chunks_of(self, doc_id: str) -> list[Chunk]:
        return [c for c in self.chunks if c.doc_id == doc_id]


@dataclass(frozen=True)
class ExtraDocument:
    """A file outside the manifest, ingested with the metadata given on the command line."""

    path: Path
    document: Document


def ingest_corpus(corpus_dir: Path, extra: list[ExtraDocument] | None = None) -> IngestReport:
    """Ingest every document of the manifest, plus `extra` ones. Deterministic."""
    corpus_dir = Path(corpus_dir)
    report = IngestReport()
    try:
        entries = [(corpus_dir / d.source, d) for d in load_manifest(corpus_dir)]
    except IngestError as exc:
        report.errors.append(exc)
        entries = []
    entries += [(e.path, e.document) for e in extra or []]
    problems = check_versions([d for _, d in entries])  # errors name the refused version's source
    report.errors.extend(problems)
    refused = {e.path for e in problems}
    seen: set[str] = set()
    by_doc: dict[str, list[Chunk]] = {}
    # Originals first, so that every version finds its original's chunks to align with.
    for path, doc in sorted(entries, key=lambda e: e[1].version_of is not None):
        if doc.source in refused:
            continue
        if doc.id in seen:
            report.errors.append(IngestError(str(path), f"duplicate document id {doc.id!r}"))
            continue
        seen.add(doc.id)
        try:
            chunks = keyed(doc, ingest_document(path, doc))
            if doc.version_of:
                if doc.version_of not in by_doc:
                    raise IngestError(str(path), f"its original {doc.version_of} could not be ingested")
                chunks = align(doc, chunks, by_doc[doc.version_of])
        except IngestError as exc:
            report.errors.append(exc)
            continue
        by_doc[doc.id] = chunks
        report.documents.append(doc)
    # Manifest order for documents and chunks, whatever order they were read in.
    order = {d.id: i for i, (_, d) in enumerate(entries)}
    report.documents.sort(key=lambda d: order[d.id])
    report.chunks = [c for d in report.documents for c in by_doc[d.id]]
    return report


def alignment_errors(report: IngestReport) -> list[IngestError]:
    """The errors that must stop a build: a language version misaligned with its original."""
    return [e for e in report.errors if isinstance(e, AlignmentError)]


def ingest_document(path: Path, doc: Document) -> list[Chunk]:
    """One document → its chunks, with language set. Raises IngestError."""
    from boussole.ingest.conference import chunk_conference
    from boussole.ingest.guidelines import chunk_guidelines
    from boussole.ingest.resolution import chunk_resolution
    from boussole.ingest.un_chunks import chunk_un_document
    from boussole.ingest.un_structure import parse_blocks

    source = read_document(path)
    layout = analyse_layout(source, doc.symbol)
    if not layout.lines:
        raise IngestError(str(path), "no body text after removing page furniture")
    markers = FootnoteMarkers(layout.notes, bare_digits=layout.hard_wrapped)
    if doc.kind == "conference-report":
        chunks = chunk_conference(doc, layout, markers)
    elif doc.kind == "resolution":
        chunks = chunk_resolution(doc, layout, markers)
    elif doc.kind == "guidelines":
        chunks = chunk_guidelines(doc, layout, markers)
    else:
        blocks = parse_blocks(layout.lines, layout.hard_wrapped)
        chunks, _ = chunk_un_document(doc, blocks, markers, layout.hard_wrapped)
    chunks = [c for c in chunks if c.text.strip()]
    if not chunks:
        raise IngestError(str(path), "no text chunks found")
    _check_unique(path, chunks)
    return [replace(c, order=i, lang=detect_language(c.text, doc.lang)) for i, c in enumerate(chunks)]


def _check_unique(path: Path, chunks: list[Chunk]) -> None:
    seen: set[str] = set()
    for c in chunks:
        if c.id in seen:
            raise IngestError(str(path), f"two chunks got the id {c.id!r}: numbering is ambiguous")
        seen.add(c.id)


def document_text(doc: Document, corpus_dir: Path) -> str:
    """Clean body text of a whole document without structure: footnotes, markup and page
    furniture removed, one paragraph per block separated by blank lines. For baselines."""
    chunks = ingest_document(Path(corpus_dir) / doc.source, doc)
    return "\n\n".join(c.text for c in chunks) + "\n"


# -- persistence (the formats live in ingest.records) ------------------------------------------
def write_chunks(report: IngestReport, chunks_path: Path, documents_path: Path) -> None:
    """Write chunks (JSON lines, Chunk.to_dict) and documents (JSON) atomically."""
    records.write_chunks(chunks_path, report.chunks)
    records.write_documents(documents_path, report.documents)


def load_chunks(chunks_path: Path) -> list[Chunk]:
    return records.read_chunks(chunks_path)


def load_documents(path: Path) -> list[Document]:
    return records.read_documents(path)
