"""Language versions of the corpus: every passage of a translated document has exactly one
twin in each version, a misaligned or bad version is refused with one clear line, and a
version can be added from the command line (an official PDF of the same symbol, say)."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

from boussole.ingest.manifest import load_manifest
from boussole.ingest.pipeline import alignment_errors, ingest_corpus
from boussole.ingest.versions import AlignmentError

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
BOUSSOLE = str(Path(sys.executable).parent / "boussole")  # the installed command, as a user runs it


def twins_by_key(chunks):
    by_key: dict[str, dict[str, object]] = {}
    for chunk in chunks:
        by_key.setdefault(chunk.key, {}).setdefault(chunk.doc_id, []).append(chunk)
    return by_key


def test_every_passage_of_a_translated_document_has_exactly_one_twin(ingest_report):
    documents = {d.id: d for d in ingest_report.documents}
    versions = [d for d in documents.values() if d.version_of]
    assert {d.version_of for d in versions} == {d.id for d in documents.values() if not d.version_of}, (
        "every document of the corpus has its English version"
    )
    by_key = twins_by_key(ingest_report.chunks)
    for version in versions:
        original = documents[version.version_of]
        assert version.lang != original.lang and version.translation == "unofficial"
        mine = [c for c in ingest_report.chunks if c.doc_id == version.id]
        theirs = [c for c in ingest_report.chunks if c.doc_id == original.id]
        assert len(mine) == len(theirs) > 0
        for chunk in theirs + mine:
            holders = by_key[chunk.key]
            assert sorted(holders) == sorted([original.id, version.id]), chunk.key
            assert all(len(v) == 1 for v in holders.values()), chunk.key
        for chunk in mine:
            twin = by_key[chunk.key][original.id][0]
            assert (chunk.kind, chunk.pillar, chunk.actor, chunk.paragraph, chunk.item) == (
                twin.kind,
                twin.pillar,
                twin.actor,
                twin.paragraph,
                twin.item,
            ), chunk.id
            assert chunk.lang == version.lang, (chunk.id, chunk.lang)


def test_twin_lengths_are_in_a_plausible_ratio(ingest_report):
    """English runs 10-25 % shorter than French; a summarised or truncated translation
    would fall far below. Bounds: half to one and a half times the original per passage
    (the shortest seen is 0.62, a list item), and a median between 0.7 and 1.05 per document."""
    documents = {d.id: d for d in ingest_report.documents}
    by_key = twins_by_key(ingest_report.chunks)
    for version in (d for d in documents.values() if d.version_of):
        ratios = []
        for chunk in (c for c in ingest_report.chunks if c.doc_id == version.id):
            original = by_key[chunk.key][version.version_of][0]
            ratio = len(chunk.text) / len(original.text)
            assert 0.5 <= ratio <= 1.6, (chunk.id, round(ratio, 2), chunk.text[:80])
            ratios.append(ratio)
        assert 0.7 <= statistics.median(ratios) <= 1.05, (version.id, statistics.median(ratios))


def test_english_versions_cite_in_english_and_twins_cite_the_same_place(ingest_report):
    by_id = {c.id: c for c in ingest_report.chunks}
    en, fr = by_id["hsp-ha-2-14-en:50.e"], by_id["hsp-ha-2-14:50.e"]
    assert fr.citation.startswith("HSP/HA.2/14, pilier thématique 4 (")
    assert (
        en.citation
        == "HSP/HA.2/14, thematic pillar 4 (Digital human rights, equity and inclusion), principle (e), after para. 50"
    )
    assert by_id["hsp-ha-2-14-en:40.b"].citation == by_id["hsp-ha-2-14:40.b"].citation == "HSP/HA.2/14, para. 40 (b)"
    assert by_id["hsp-ha-2-14-en:step.1.1"].citation.endswith("implementation step 1, measure 1.1")
    assert by_id["hsp-ha-2-res-1-en:pp.1"].citation == "HSP/HA.2/Res.1, preamble, paragraph 1"


def copy_corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return corpus


def drop_paragraph(path: Path, number: int) -> None:
    lines = path.read_text(encoding="utf-8").split("\n")
    kept = [line for line in lines if not line.startswith(f"{number}. ")]
    assert len(kept) == len(lines) - 1
    path.write_text("\n".join(kept), encoding="utf-8")


def test_a_missing_paragraph_is_named_and_the_version_refused(tmp_path):
    corpus = copy_corpus(tmp_path)
    drop_paragraph(corpus / "hsp-ha-2-14-guidelines.en.txt", 20)
    report = ingest_corpus(corpus)
    errors = alignment_errors(report)
    assert len(errors) == 1 and isinstance(errors[0], AlignmentError)
    message = str(errors[0])
    assert "para. 20 of hsp-ha-2-14 has no English twin in hsp-ha-2-14-en" in message, message
    assert "\n" not in message
    assert "hsp-ha-2-14-en" not in {d.id for d in report.documents}
    assert "hsp-ha-2-14" in {d.id for d in report.documents}  # the original is still served


def test_build_fails_with_one_line_on_a_misaligned_version_and_keeps_the_index(tmp_path):
    corpus = copy_corpus(tmp_path)
    drop_paragraph(corpus / "hsp-ha-2-14-guidelines.en.txt", 40)
    data = tmp_path / "data"
    run = subprocess.run(
        [BOUSSOLE, "build", "--data-dir", str(data), "--corpus-dir", str(corpus)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1, run.stdout + run.stderr
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, run.stderr
    assert "para. 40" in errors[0] and "misaligned" in errors[0] and "nothing was built" in errors[0]
    assert "Traceback" not in run.stderr
    assert not (data / "index").exists()


@pytest.mark.parametrize(
    "change,expected",
    [
        (
            lambda t: t.replace('version_of = "hsp-eb-2023-16"', 'version_of = "no-such-doc"'),
            "is a version of 'no-such-doc', which is not a document of the corpus",
        ),
        (
            lambda t: t.replace(
                'id = "hsp-eb-2023-16-en"\nversion_of = "hsp-eb-2023-16"\ntranslation = "unofficial"\n'
                'symbol = "HSP/EB.2023/16"\ntitle = "Road map',
                'id = "hsp-eb-2023-16-en"\nversion_of = "hsp-eb-2023-16"\ntranslation = "unofficial"\n'
                'symbol = "HSP/EB.2023/16"\ntitle = "Road map',
            ).replace('lang = "en"\ndate = "2023-09-19"', 'lang = "fr"\ndate = "2023-09-19"'),
            "hsp-eb-2023-16 already has a version in 'fr'",
        ),
    ],
)
def test_a_version_of_an_unknown_document_or_in_a_language_already_there_is_refused(tmp_path, change, expected):
    corpus = copy_corpus(tmp_path)
    manifest = corpus / "documents.toml"
    manifest.write_text(change(manifest.read_text(encoding="utf-8")), encoding="utf-8")
    report = ingest_corpus(corpus)
    messages = [str(e) for e in report.errors]
    assert any(expected in m for m in messages), messages
    assert "hsp-eb-2023-16-en" not in {d.id for d in report.documents}
    assert len(report.documents) == 9  # the others are still ingested


@pytest.mark.parametrize("content,expected", [(b"", "empty"), (b"\xff\xfe\x00caf\xe9 \x81\x82", "UTF-8")])
def test_an_empty_or_undecodable_translation_is_refused_and_the_rest_kept(tmp_path, content, expected):
    corpus = copy_corpus(tmp_path)
    (corpus / "hsp-ha-2-res-1-resolution.en.txt").write_bytes(content)
    report = ingest_corpus(corpus)
    messages = [str(e) for e in report.errors]
    assert len(messages) == 1 and "hsp-ha-2-res-1-resolution.en.txt" in messages[0], messages
    assert expected.lower() in messages[0].lower(), messages
    assert {d.id for d in report.documents} == {d.id for d in load_manifest(corpus)} - {"hsp-ha-2-res-1-en"}


def french_only_corpus(tmp_path: Path) -> Path:
    corpus = copy_corpus(tmp_path)
    manifest = corpus / "documents.toml"
    text = manifest.read_text(encoding="utf-8")
    manifest.write_text(text[: text.index("# English versions")], encoding="utf-8")
    return corpus


def boussole(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BOUSSOLE, *args], capture_output=True, text=True, timeout=120)


def test_an_official_version_is_added_from_the_command_line(tmp_path):
    corpus = french_only_corpus(tmp_path)
    official = tmp_path / "HSP-HA.2-14-en.txt"
    shutil.copy(CORPUS / "hsp-ha-2-14-guidelines.en.txt", official)
    data = tmp_path / "data"
    run = boussole(
        "ingest",
        str(official),
        "--version-of",
        "hsp-ha-2-14",
        "--lang",
        "en",
        "--official",
        "--corpus-dir",
        str(corpus),
        "--data-dir",
        str(data),
    )
    assert run.returncode == 0, run.stdout + run.stderr
    added = {d.id: d for d in load_manifest(corpus)}["hsp-ha-2-14-en"]
    assert (added.version_of, added.translation, added.symbol, added.kind) == (
        "hsp-ha-2-14",
        "official",
        "HSP/HA.2/14",
        "guidelines",
    )
    chunks = ingest_corpus(corpus).chunks
    assert {c.translation for c in chunks if c.doc_id == "hsp-ha-2-14-en"} == {"official"}
    # a second version in the same language is refused, and the corpus is left as it was
    before = (corpus / "documents.toml").read_text(encoding="utf-8")
    second = shutil.copy(official, tmp_path / "another-english.txt")
    again = boussole(
        "ingest",
        str(second),
        "--version-of",
        "hsp-ha-2-14",
        "--lang",
        "en",
        "--id",
        "other-en",
        "--corpus-dir",
        str(corpus),
        "--data-dir",
        str(data),
    )
    assert again.returncode == 1 and "already has a version in 'en'" in again.stderr, again.stderr
    assert (corpus / "documents.toml").read_text(encoding="utf-8") == before
    assert not (corpus / "another-english.txt").exists()


def test_a_misaligned_version_is_not_added(tmp_path):
    corpus = french_only_corpus(tmp_path)
    version = tmp_path / "guidelines-en.txt"
    shutil.copy(CORPUS / "hsp-ha-2-14-guidelines.en.txt", version)
    drop_paragraph(version, 62)
    before = (corpus / "documents.toml").read_text(encoding="utf-8")
    run = boussole(
        "ingest",
        str(version),
        "--version-of",
        "hsp-ha-2-14",
        "--lang",
        "en",
        "--corpus-dir",
        str(corpus),
        "--data-dir",
        str(tmp_path / "data"),
    )
    assert run.returncode == 1
    assert "para. 62" in run.stderr and "misaligned" in run.stderr, run.stderr
    assert (corpus / "documents.toml").read_text(encoding="utf-8") == before
    assert not (corpus / version.name).exists()
