"""A hot reload releases the index it replaces: its encoder threads stop, but only after the
last request holding it has finished.

The real app (real model, real index, its own reloader watching the pointer) in-process,
so the test can count the encoder worker threads; the new index version is built by the
real `boussole build` command in a copy of the session's data folder.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from boussole.service.app import create_app
from boussole.service.settings import Settings
from lifecycle_helpers import NEW_CHUNK, NEW_TEXT, copy_data, env_for, note_corpus, run_boussole, served_version

slow = pytest.mark.slow


def _encoder_threads() -> list[threading.Thread]:
    """The batching encoders' worker threads (service.batching), alive now."""
    return [t for t in threading.enumerate() if t.name.startswith("boussole-") and t.name.endswith("encoder")]


def _wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture
def data(data_dir, tmp_path) -> Path:
    return copy_data(data_dir, tmp_path / "data")


def _build_new_version(data: Path, tmp_path: Path) -> str:
    old = served_version(data)
    build = run_boussole(["build"], env_for(data, note_corpus(tmp_path / "corpus")))
    assert build.returncode == 0, build.stderr[-2000:]
    new = served_version(data)
    assert new != old
    return new


@slow
def test_a_reload_stops_the_replaced_index_encoder_threads(data, tmp_path, monkeypatch):
    """Before: every reload left the old QueryBatcher's worker running for good."""
    monkeypatch.setenv("BOUSSOLE_THREADS", "1")
    app = create_app(Settings(data_dir=data), reload_interval=0.2, retire_grace=1.0)
    with TestClient(app) as client:
        assert client.post("/v1/search", json={"query": "données ouvertes", "k": 3}).status_code == 200
        serving = len(_encoder_threads())
        assert serving >= 1
        new = _build_new_version(data, tmp_path)
        _wait_for(lambda: client.get("/readyz").json()["index_version"] == new, 120, "the reload")
        hits = client.post("/v1/search", json={"query": NEW_TEXT, "k": 1}).json()["results"]
        assert hits[0]["id"] == NEW_CHUNK
        # The replaced index is closed within its grace period (1 s here) once nothing holds it.
        _wait_for(lambda: len(_encoder_threads()) == serving, 30, "the old encoder threads to stop")
        assert client.post("/v1/search", json={"query": "inondations", "k": 3}).status_code == 200
    assert _encoder_threads() == []  # and the app's shutdown stops the served ones


@slow
def test_a_request_still_holding_the_old_index_keeps_it_open_until_it_ends(data, tmp_path, monkeypatch):
    monkeypatch.setenv("BOUSSOLE_THREADS", "1")
    app = create_app(Settings(data_dir=data), reload_interval=0.2, retire_grace=0.0)
    with TestClient(app) as client:
        reloader = app.state.reloader
        serving = len(_encoder_threads())
        with reloader.lease() as old:  # a request that started before the swap
            new = _build_new_version(data, tmp_path)
            _wait_for(lambda: app.state.searcher is not old, 120, "the reload")
            time.sleep(1)  # several watcher rounds: it must not close what a request holds
            assert len(_encoder_threads()) == 2 * serving
            # The request finishes on the index it started with, encoders and all.
            assert old.search("éclairage public", k=3).hits
            assert client.get("/readyz").json()["index_version"] == new
        _wait_for(lambda: len(_encoder_threads()) == serving, 10, "the old encoder threads to stop")
        assert client.post("/v1/search", json={"query": NEW_TEXT, "k": 1}).json()["results"][0]["id"] == NEW_CHUNK
