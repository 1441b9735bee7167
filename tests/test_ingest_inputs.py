"""Ingestion beyond the five corpus files: an English UN-style document, a PDF generated
here, bad inputs, atomic output and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from boussole.ingest.errors import IngestError
from boussole.ingest.manifest import load_manifest
from boussole.ingest.models import Chunk, Document
from boussole.ingest.pipeline import (
    ExtraDocument,
    ingest_corpus,
    ingest_document,
    load_chunks,
    load_documents,
    write_chunks,
)
from boussole.ingest.readers import read_document
from fakes import EN_SAMPLE

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ORIGINALS = ["hsp-ha-2-14", "hsp-ha-2-res-1", "hsp-eb-2023-16", "eb-2020-partnership", "aimf-2025-hue"]
# the corpus' documents in manifest order: the French originals, then their English versions
GOOD_DOCS = ORIGINALS + [f"{d}-en" for d in ORIGINALS]


# -- English UN-style guidelines ---------------------------------------------------------------
@pytest.fixture(scope="module")
def english():
    doc = EN_SAMPLE
    chunks = ingest_document(FIXTURES / "en-guidelines-sample.txt", doc)
    return {c.id: c for c in chunks}


def test_english_structure(english):
    assert list(english) == [
        "en-sample:1",
        "en-sample:2",
        "en-sample:3",
        "en-sample:3.a",
        "en-sample:3.b",
        "en-sample:4.a",
        "en-sample:4.b",
        "en-sample:5.a",
        "en-sample:5.b",
        "en-sample:6.a",
        "en-sample:7",
        "en-sample:7.a",
        "en-sample:8.a",
        "en-sample:9",
        "en-sample:step.1.1",
        "en-sample:step.1.2",
        "en-sample:10",
        "en-sample:glossary.data-governance",
        "en-sample:glossary.digital-twin-of-a-city",
        "en-sample:glossary.open-data",
    ]
    assert all(c.lang == "en" for c in english.values())


def test_english_pillars_kinds_actors(english):
    assert (english["en-sample:3.a"].kind, english["en-sample:3.a"].pillar) == ("principle", "thematic-1")
    assert english["en-sample:7.a"].pillar == "enabling-1"
    actors = {k: english[k].actor for k in ("en-sample:4.b", "en-sample:5.a", "en-sample:6.a", "en-sample:8.a")}
    assert actors == {
        "en-sample:4.b": "national",
        "en-sample:5.a": "local-regional",
        "en-sample:6.a": "stakeholders",
        "en-sample:8.a": "joint",
    }
    # short sub-items ("Simplified registration for start-ups;") are read with their item
    item = english["en-sample:4.a"]
    assert (item.kind, item.item, item.citation) == ("measure", "a", "HSP/HA.9/99, para. 4 (a)")
    assert item.text == (
        "Develop legal frameworks that foster digital entrepreneurship, including:\n"
        "i) Simplified registration for start-ups;\nii) Fair access to public procurement;"
    )
    assert item.notes == ["3 For example, regulatory sandboxes."]
    assert (
        english["en-sample:step.1.2"].text == "Measure 1.2 : Priority setting\n• Set clear goals based on local needs."
    )
    assert english["en-sample:glossary.digital-twin-of-a-city"].text.startswith("Digital twin of a city : A virtual")


def test_english_stitching_footnotes_and_hyphenation(english):
    p1, p2 = english["en-sample:1"], english["en-sample:2"]
    assert "2.6 billion people" in p1.text and "39 per cent" in p1.text
    assert "where it is available. These gaps are particularly visible" in p1.text
    assert p1.notes == ["1 UN-Habitat, World Smart Cities Outlook 2024."]
    assert "micro-enterprises" in p2.text
    assert p2.text.endswith(
        "The divide also affects women and older persons, who are often left out of digital public services."
    )
    assert "HSP/HA.9/99" not in p2.text and "http" not in p2.text and "Pact for the Future" not in p2.text
    assert p2.notes == ["2 General Assembly resolution A/79/L.2, Pact for the Future, annex I: Global Digital Compact."]


def test_extra_document_ingested_with_the_corpus(corpus_dir, ingest_report):
    doc = EN_SAMPLE
    report = ingest_corpus(corpus_dir, extra=[ExtraDocument(FIXTURES / "en-guidelines-sample.txt", doc)])
    assert [d.id for d in report.documents] == GOOD_DOCS + ["en-sample"]
    assert (
        len(report.chunks) == len(ingest_report.chunks) + 20
    )  # the English sample: 20 chunks (test_english_structure)
    sample = [c for c in report.chunks if c.doc_id == "en-sample"]
    assert all(c.key.startswith("en-sample:") and c.translation is None for c in sample)


# -- PDF generated here, read back through pypdf ------------------------------------------------
def make_pdf(path: Path, encrypt: bool = False) -> Path:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(False)

    def page(lines, notes=()):
        pdf.add_page()
        pdf.set_font("Helvetica", size=9)
        pdf.cell(0, 6, "HSP/EB.9/1", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", size=11)
        for line in lines:
            pdf.cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(255)
        pdf.set_font("Helvetica", size=8)
        for note in notes:
            pdf.cell(0, 4, note, new_x="LMARGIN", new_y="NEXT")
        pdf.set_y(280)
        pdf.cell(0, 4, str(pdf.page_no()), align="C")

    page(
        [
            "I. Introduction",
            "1. The first paragraph speaks about digital inclusion in cities and ends",
            "here on the first page.",
            "2. The second paragraph is cut by the page break and its footnote1 sits",
            "at the bottom of the",
        ],
        ["1 A footnote about the second paragraph."],
    )
    page(
        [
            "page, before the text goes on to the end of the paragraph.",
            "II. Measures",
            "3. National governments are encouraged to:",
            "(a) Adopt open standards for the urban data platforms of cities;",
            "(b) Publish open data in machine-readable formats, free of charge.",
        ]
    )
    page(["4. The last paragraph sits alone on the third page of this document."])
    if encrypt:
        pdf.set_encryption(owner_password="owner", user_password="secret")
    pdf.output(str(path))
    return path


def test_generated_pdf_structure_and_pages(tmp_path):
    path = make_pdf(tmp_path / "report.pdf")
    source = read_document(path)
    assert [p.number for p in source.pages] == [1, 2, 3]
    doc = Document(
        id="pdf-sample", title="PDF sample", lang="en", kind="report", source="report.pdf", symbol="HSP/EB.9/1"
    )
    chunks = {c.id: c for c in ingest_document(path, doc)}
    assert list(chunks) == ["pdf-sample:1", "pdf-sample:2", "pdf-sample:3.a", "pdf-sample:3.b", "pdf-sample:4"]
    p2 = chunks["pdf-sample:2"]
    assert p2.text == (
        "The second paragraph is cut by the page break and its footnote sits at the bottom of "
        "the page, before the text goes on to the end of the paragraph."
    )
    assert p2.notes == ["1 A footnote about the second paragraph."]
    assert (p2.page, chunks["pdf-sample:3.b"].page, chunks["pdf-sample:4"].page) == (1, 2, 3)
    assert chunks["pdf-sample:3.a"].section == ["II. Measures"]
    assert "National governments are encouraged to:" in chunks["pdf-sample:3.a"].context
    assert chunks["pdf-sample:3.a"].citation == "HSP/EB.9/1, para. 3 (a)"


# -- bad inputs ---------------------------------------------------------------------------------
BAD_INPUTS = {
    "corrupt.pdf": (b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage \x00\xff", "PDF"),
    "empty.txt": (b"", "empty"),
    "latin1.txt": ("Résolution adoptée par l'Assemblée générale, numérique et écologique.".encode("latin-1"), "UTF-8"),
    "notes.docx": (b"PK\x03\x04 not a supported format", "unknown extension"),
}


def _corpus_with_bad_files(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(Path(__file__).resolve().parent.parent / "corpus", corpus)
    files = dict(BAD_INPUTS)
    for name, (data, _) in files.items():
        (corpus / name).write_bytes(data)
    make_pdf(corpus / "locked.pdf", encrypt=True)
    entries = list(files) + ["locked.pdf"]
    with (corpus / "documents.toml").open("a", encoding="utf-8") as handle:
        for i, name in enumerate(entries):
            handle.write(
                f'\n[[document]]\nid = "bad-{i}"\ntitle = "Bad {name}"\nlang = "fr"\nkind = "report"\nsource = "{name}"\n'
            )
    return corpus


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_bad_input_raises_named_error(tmp_path, name):
    data, reason = BAD_INPUTS[name]
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(IngestError) as info:
        read_document(path)
    assert info.value.path == str(path) and reason in info.value.reason
    assert name in str(info.value)


def test_encrypted_pdf_raises_named_error(tmp_path):
    path = make_pdf(tmp_path / "locked.pdf", encrypt=True)
    with pytest.raises(IngestError, match="encrypted") as info:
        read_document(path)
    assert "locked.pdf" in str(info.value)


def test_bad_documents_do_not_stop_good_ones(tmp_path, ingest_report):
    corpus = _corpus_with_bad_files(tmp_path)
    report = ingest_corpus(corpus)
    assert [d.id for d in report.documents] == GOOD_DOCS
    failed = sorted(Path(e.path).name for e in report.errors)
    assert failed == sorted(list(BAD_INPUTS) + ["locked.pdf"])
    assert [c.id for c in report.chunks] == [c.id for c in ingest_report.chunks]


def test_cli_writes_good_documents_and_exits_nonzero_on_errors(tmp_path):
    from boussole.service.cli import cli

    corpus = _corpus_with_bad_files(tmp_path)
    data = tmp_path / "data"
    result = CliRunner().invoke(cli, ["ingest", "--corpus-dir", str(corpus), "--data-dir", str(data)])
    assert result.exit_code == 1
    assert "encrypted" in result.output and "empty.txt" in result.output and "unknown extension" in result.output
    assert "hsp-ha-2-14" in result.output and "measure 182" in result.output
    assert sorted(p.name for p in data.iterdir()) == ["chunks.jsonl", "documents.json"]  # no temp files left
    assert {c.doc_id for c in load_chunks(data / "chunks.jsonl")} == set(GOOD_DOCS)
    assert [d.id for d in load_documents(data / "documents.json")] == GOOD_DOCS


def test_write_is_atomic_when_it_fails(tmp_path, ingest_report, monkeypatch):
    chunks_path, docs_path = tmp_path / "chunks.jsonl", tmp_path / "documents.json"
    write_chunks(ingest_report, chunks_path, docs_path)
    before = chunks_path.read_bytes()

    calls = {"n": 0}
    original = Chunk.to_dict

    def failing(self):
        calls["n"] += 1
        if calls["n"] > 100:
            raise RuntimeError("disk full")
        return original(self)

    monkeypatch.setattr(Chunk, "to_dict", failing)
    with pytest.raises(RuntimeError):
        write_chunks(ingest_report, chunks_path, docs_path)
    assert chunks_path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["chunks.jsonl", "documents.json"]


def test_chunks_round_trip(tmp_path, ingest_report):
    write_chunks(ingest_report, tmp_path / "c.jsonl", tmp_path / "d.json")
    assert load_chunks(tmp_path / "c.jsonl") == ingest_report.chunks
    assert load_documents(tmp_path / "d.json") == ingest_report.documents


# -- CLI: adding a document, listing chunks ------------------------------------------------------
def test_cli_adds_a_document_and_lists_chunks(tmp_path):
    from boussole.service.cli import cli

    corpus = tmp_path / "corpus"
    shutil.copytree(Path(__file__).resolve().parent.parent / "corpus", corpus)
    data = tmp_path / "data"
    runner = CliRunner()
    folders = ["--corpus-dir", str(corpus), "--data-dir", str(data)]
    result = runner.invoke(
        cli,
        [
            "ingest",
            str(FIXTURES / "en-guidelines-sample.txt"),
            "--title",
            "Sample guidelines",
            "--symbol",
            "HSP/HA.9/99",
            "--kind",
            "guidelines",
            "--id",
            "en-sample",
            *folders,
        ],
    )
    assert result.exit_code == 0, result.output
    assert (corpus / "en-guidelines-sample.txt").exists()
    added = [d for d in load_manifest(corpus) if d.id == "en-sample"]
    assert added and added[0].lang == "en" and added[0].symbol == "HSP/HA.9/99"
    assert "en-sample" in result.output

    listed = runner.invoke(cli, ["chunks", "--doc", "en-sample", "--json", "--data-dir", str(data)])
    assert listed.exit_code == 0
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert rows[0]["id"] == "en-sample:1" and rows[0]["pillar_type"] is None
    assert {r["doc_id"] for r in rows} == {"en-sample"}
    assert any(r["pillar_type"] == "thematic" for r in rows)

    plain = runner.invoke(cli, ["chunks", "--doc", "hsp-ha-2-res-1", "--data-dir", str(data)])
    assert plain.exit_code == 0 and plain.output.splitlines()[0].startswith("hsp-ha-2-res-1:pp.1")

    again = runner.invoke(
        cli,
        [
            "ingest",
            str(FIXTURES / "en-guidelines-sample.txt"),
            "--title",
            "Again",
            "--id",
            "en-sample",
            *folders,
        ],
    )
    assert again.exit_code != 0 and "already in the corpus" in again.output


def test_cli_refuses_a_bad_file_without_touching_the_corpus(tmp_path):
    from boussole.service.cli import cli

    corpus = tmp_path / "corpus"
    shutil.copytree(Path(__file__).resolve().parent.parent / "corpus", corpus)
    manifest = (corpus / "documents.toml").read_text(encoding="utf-8")
    bad = tmp_path / "scan.pdf"
    bad.write_bytes(b"%PDF-1.4 broken")
    result = CliRunner().invoke(
        cli, ["ingest", str(bad), "--title", "Scan", "--corpus-dir", str(corpus), "--data-dir", str(tmp_path / "data")]
    )
    assert result.exit_code != 0 and "scan.pdf" in result.output
    assert not (corpus / "scan.pdf").exists()
    assert (corpus / "documents.toml").read_text(encoding="utf-8") == manifest


def test_chunks_without_ingest_is_a_clear_error(tmp_path):
    from boussole.service.cli import cli

    result = CliRunner().invoke(cli, ["chunks", "--data-dir", str(tmp_path)])
    assert result.exit_code != 0 and "boussole ingest" in result.output
