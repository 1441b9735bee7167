"""Every citation of the real corpus leads a reader to the passage: `locate` finds, from the
citation alone, a span of the source text that holds the chunk's text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from boussole.ingest.citations import CitationError, letters, locate, printed
from boussole.ingest.clean import strip_markup, superscript_to_ascii
from boussole.ingest.layout import analyse_layout
from boussole.ingest.manifest import load_manifest
from boussole.ingest.pipeline import ingest_document
from boussole.ingest.readers import read_document
from fakes import EN_SAMPLE

# A footnote line: its label, then the start of its text ("28 Résolution …", "¹ Voir …").
NOTE_LINE_RE = re.compile(r"^\s*(?P<label>\d{1,3}|\*{1,4})\s+(?P<text>\S.*)$")
# Table-row chunks label each cell with its column header ("Objectif : …"), which the
# source prints once, in the header row.
CELL_LABEL_RE = re.compile(r"^[^:\n]{1,40} : ")


@pytest.fixture(scope="module")
def sources(corpus_dir):
    """Per document: its source text and its footnotes (label → text as letters)."""
    out = {}
    for doc in load_manifest(corpus_dir):
        source = read_document(corpus_dir / doc.source)
        notes = {label: letters(text) for label, text in analyse_layout(source, doc.symbol).notes.items()}
        out[doc.id] = ("\n".join(p.text for p in source.pages), notes)
    return out


def without_notes(passage: str, notes: dict[str, str]) -> str:
    """The passage without the footnote blocks a page break put inside it: a line opening
    a known note, and the lines after it as long as they carry on that note's text."""
    kept, note, seen = [], "", ""
    for line in printed(passage).split("\n"):
        plain = superscript_to_ascii(strip_markup(line)).replace("\\*", "*")
        opening = NOTE_LINE_RE.match(plain)
        if opening and opening["label"] in notes and notes[opening["label"]].startswith(letters(opening["text"])):
            note, seen = notes[opening["label"]], letters(opening["text"])
            continue
        if note and letters(line) and note.startswith(seen + letters(line)):
            seen += letters(line)
            continue
        note = ""
        kept.append(line)
    return "\n".join(kept)


def printed_lines_raw(chunk) -> list[str]:
    """The chunk's lines; the column labels of a table row taken off."""
    lines = chunk.text.split("\n")
    if ":table." in chunk.id:
        lines = lines[:1] + [CELL_LABEL_RE.sub("", line) for line in lines[1:]]
    return lines


def printed_lines(chunk) -> list[str]:
    return [x for x in (letters(line) for line in printed_lines_raw(chunk)) if x]


def holds(passage: str, chunk, notes: dict[str, str]) -> bool:
    """Each line of the chunk appears in the passage, in order. The passage is compared
    as ingestion reads it: page furniture and footnote blocks taken out. A table row
    that a page break cut in two is glued cell by cell, so there the words of each cell
    must follow each other in the passage, with gaps."""
    passage = without_notes(passage, notes)
    if ":table." in chunk.id:
        source_words = [letters(w) for w in passage.split()]
        return all(
            _in_order([letters(w) for w in line.split() if letters(w)], source_words)
            for line in printed_lines_raw(chunk)
        )
    text = letters(passage)
    at = 0
    for line in printed_lines(chunk):
        found = text.find(line, at)
        if found < 0:
            return False
        at = found + len(line)
    return True


def _in_order(words: list[str], source_words: list[str]) -> bool:
    remaining = iter(source_words)
    return all(any(w == x for x in remaining) for w in words)


def test_every_citation_resolves_to_its_chunk(corpus_chunks, sources):
    failures = []
    for chunk in corpus_chunks:
        source, notes = sources[chunk.doc_id]
        try:
            span = locate(chunk.citation, source)
        except CitationError as exc:
            failures.append(f"{chunk.id}: {chunk.citation!r}: {exc}")
            continue
        if not holds(source[span.start : span.end], chunk, notes):
            failures.append(
                f"{chunk.id}: {chunk.citation!r} points elsewhere: {source[span.start : span.start + 80]!r}"
            )
    assert not failures, f"{len(failures)} citations do not lead to their chunk:\n" + "\n".join(failures)


def test_citations_are_unambiguous(corpus_chunks):
    """Two chunks of one document never share a citation: each names one passage. (A
    passage and its translation do: para. 40 (b) is para. 40 (b) in every language.)"""
    seen: dict[tuple[str, str], str] = {}
    clashes = [
        f"{c.id} and {seen[c.doc_id, c.citation]}: {c.citation}"
        for c in corpus_chunks
        if seen.setdefault((c.doc_id, c.citation), c.id) != c.id
    ]
    assert not clashes, "\n".join(clashes)
    assert {c.doc_id for c in corpus_chunks if c.lang == "en"}, "the corpus has English versions to check"


def test_wrong_citations_are_refused(sources):
    source, _ = sources["hsp-ha-2-14"]
    for citation in (
        "HSP/HA.2/14, para. 99",  # the guidelines stop at paragraph 86
        "HSP/HA.2/14, para. 33 (z)",
        "HSP/HA.2/14, pilier thématique 1 (Prospérité partagée), principe a), après le para. 40",
        "HSP/HA.2/14, annexe (glossaire) : Licorne",
        "HSP/HA.2/14, étape de mise en œuvre 4, mesure 4.1",
    ):
        with pytest.raises(CitationError):
            locate(citation, source)


def test_english_guidelines_citations_resolve():
    """The English wording ("thematic pillar 1 (…), principle (a), after para. 3") leads to
    the passage as well."""
    fixtures = Path(__file__).resolve().parent / "fixtures"
    doc = EN_SAMPLE
    read = read_document(fixtures / doc.source)
    source = "\n".join(p.text for p in read.pages)
    notes = {label: letters(text) for label, text in analyse_layout(read, doc.symbol).notes.items()}
    chunks = {c.id: c for c in ingest_document(fixtures / doc.source, doc)}
    assert chunks["en-sample:7.a"].citation == (
        "HSP/HA.9/99, enabling pillar 1 (Governance and regulation), principle (a), after para. 7"
    )
    for chunk in chunks.values():
        span = locate(chunk.citation, source)
        assert holds(source[span.start : span.end], chunk, notes), chunk.id
