"""`boussole ingest` and `boussole chunks`: a thin layer over `ingest.pipeline`."""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path

import click

from boussole.service.cli.errors import reader_went_away
from boussole.service.cli.options import corpus_dir_option, data_dir_option


def _settings(data_dir: Path | None, corpus_dir: Path | None):
    from boussole.service.settings import Settings

    return Settings.from_env(data_dir=data_dir, corpus_dir=corpus_dir)


@click.command("ingest")
@click.argument("path", required=False, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--title", help="Title of the added document (required with PATH, unless --version-of).")
@click.option("--symbol", help="UN document symbol, e.g. HSP/HA.2/14 (used in citations).")
@click.option("--short-title", help="Short title for citations when there is no symbol.")
@click.option("--lang", help="Language code (default: detected from the text).")
@click.option(
    "--kind",
    default="report",
    show_default=True,
    help="guidelines | resolution | conference-report | any other kind (generic UN parser).",
)
@click.option("--id", "doc_id", help="Document id, prefix of chunk ids (default: from the file name).")
@click.option("--date", help="Date of the document (ISO).")
@click.option(
    "--version-of",
    "version_of",
    metavar="DOC_ID",
    help="PATH is another language version of this corpus document (same symbol and numbering): "
    "it must be aligned with it paragraph by paragraph.",
)
@click.option(
    "--official",
    is_flag=True,
    help="With --version-of: the version is an official translation (default: an unofficial one).",
)
@data_dir_option
@corpus_dir_option
def ingest_cmd(
    path, title, symbol, short_title, lang, kind, doc_id, date, version_of, official, data_dir, corpus_dir
) -> None:
    """Chunk the corpus into DATA_DIR/chunks.jsonl. With PATH, first add that file to the
    corpus (copied into the corpus folder, appended to documents.toml) so that it stays.

    A language version of a document (--version-of) takes the original's symbol, kind and
    dates unless given, and is refused unless every paragraph and item matches."""
    from boussole.errors import BoussoleError
    from boussole.ingest.pipeline import ingest_corpus, write_chunks

    settings = _settings(data_dir, corpus_dir)
    if path is None and (version_of or official):
        raise click.UsageError("--version-of and --official describe a file: give its PATH")
    if official and not version_of:
        raise click.UsageError("--official needs --version-of (the document it is a version of)")
    if path is not None:
        try:
            _add_document(
                settings.corpus_dir,
                path,
                title=title,
                symbol=symbol,
                short_title=short_title,
                lang=lang,
                kind=kind,
                doc_id=doc_id,
                date=date,
                version_of=version_of,
                translation="official" if official else "unofficial",
            )
        except BoussoleError as exc:
            raise click.ClickException(str(exc)) from exc
    report = ingest_corpus(settings.corpus_dir)
    write_chunks(report, settings.chunks_path, settings.documents_path)
    for doc in report.documents:
        chunks = report.chunks_of(doc.id)
        kinds = Counter(c.kind for c in chunks)
        detail = ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        click.echo(f"{doc.id:<24} {len(chunks):>4} chunks  ({detail})")
    click.echo(f"{len(report.chunks)} chunks from {len(report.documents)} documents → {settings.chunks_path}")
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if report.errors:
        raise SystemExit(1)


def _add_document(
    corpus_dir: Path,
    path: Path,
    title,
    symbol,
    short_title,
    lang,
    kind,
    doc_id,
    date,
    version_of=None,
    translation="unofficial",
) -> None:
    """Validate the file by ingesting it alone (a version: and aligning it with its
    original), then copy it and record it in the manifest. A file that fails is never
    added: the corpus stays as it was."""
    from boussole.ingest.errors import IngestError
    from boussole.ingest.guidelines import slugify
    from boussole.ingest.manifest import append_to_manifest, load_manifest, validate_document
    from boussole.ingest.models import Document
    from boussole.ingest.pipeline import ingest_document
    from boussole.ingest.readers import read_document
    from boussole.ingest.versions import align, check_versions, keyed
    from boussole.language import detect_language

    if not path.exists():
        raise IngestError(str(path), "no such file")
    corpus_dir.mkdir(parents=True, exist_ok=True)
    existing = load_manifest(corpus_dir) if (corpus_dir / "documents.toml").exists() else []
    original = None
    if version_of:
        original = next((d for d in existing if d.id == version_of), None)
        if original is None:
            known = ", ".join(d.id for d in existing if not d.version_of) or "none"
            raise IngestError(
                str(path), f"--version-of {version_of}: no such document in the corpus (documents: {known})"
            )
    elif not title:
        raise click.UsageError("--title is required when adding a document")
    if lang is None:
        sample = " ".join(p.text for p in read_document(path).pages)[:5000]
        lang = detect_language(sample, "fr")
    doc_id = doc_id or (f"{version_of}-{lang}" if version_of else slugify(path.stem))
    target = corpus_dir / path.name
    if original is not None:
        kind = kind if kind != "report" else original.kind
        doc = Document(
            id=doc_id,
            title=title or original.title,
            lang=lang,
            kind=kind,
            source=target.name,
            symbol=symbol or original.symbol,
            date=date or original.date,
            short_title=short_title or original.short_title,
            publisher=original.publisher,
            version_of=original.id,
            translation=translation,
        )
    else:
        doc = Document(
            id=doc_id,
            title=title,
            lang=lang,
            kind=kind,
            source=target.name,
            symbol=symbol,
            date=date,
            short_title=short_title,
        )
    validate_document(doc, str(path))
    if any(d.id == doc.id for d in existing):
        raise IngestError(str(path), f"document id {doc.id!r} is already in the corpus (use --id)")
    if any(d.source == target.name for d in existing):
        raise IngestError(str(path), f"{target.name} is already in the corpus manifest")
    problems = check_versions([*existing, doc])
    if problems:
        raise problems[0]
    chunks = ingest_document(path, doc)  # raises IngestError on bad input
    if original is not None:
        theirs = keyed(original, ingest_document(corpus_dir / original.source, original))
        align(doc, keyed(doc, chunks), theirs)  # raises AlignmentError, naming the first paragraph missing
    if path.resolve() != target.resolve():
        if target.exists():
            raise IngestError(str(path), f"{target} already exists in the corpus folder")
        shutil.copy2(path, target)
    append_to_manifest(corpus_dir, doc)
    click.echo(f"added {doc.id} ({target}) to {corpus_dir / 'documents.toml'}")


@click.command("chunks")
@click.option("--doc", "doc_id", help="Only the chunks of this document id.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (Chunk.to_dict()).")
@data_dir_option
def chunks_cmd(doc_id, as_json, data_dir) -> None:
    """List the chunks written by `boussole ingest`."""
    from boussole.ingest.pipeline import load_chunks

    settings = _settings(data_dir, None)
    if not settings.chunks_path.exists():
        raise click.ClickException(f"{settings.chunks_path} not found: run `boussole ingest` first")
    chunks = load_chunks(settings.chunks_path)
    if doc_id:
        known = sorted({c.doc_id for c in chunks})
        chunks = [c for c in chunks if c.doc_id == doc_id]
        if not chunks:
            raise click.ClickException(f"no chunks for document {doc_id!r}; document ids: {', '.join(known)}")
    try:
        for c in chunks:
            if as_json:
                click.echo(json.dumps(c.to_dict(), ensure_ascii=False))
            else:
                text = " ".join(c.text.split())
                click.echo(f"{c.id:<44} {c.kind:<20} {text[:90]}")
        sys.stdout.flush()
    except BrokenPipeError:
        reader_went_away()


COMMANDS: list = [ingest_cmd, chunks_cmd]
