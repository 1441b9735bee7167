"""The milvus backend's own duties: versions behind an alias switched atomically, old
versions dropped, replicas noticing a switch, the CLI and the API serving from it, and bad
settings or a missing server reported in one line. Against a real milvus-lite server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest

from boussole.index import store
from boussole.index.backends.base import Selection
from boussole.index.backends.milvus import (
    MilvusBackend,
    MilvusTarget,
    MilvusUnavailable,
    collection_name,
    connect,
    filter_expression,
    publish,
    served_collection,
)
from boussole.index.errors import IndexCorrupt, IndexNotFound
from boussole.index.filters import Filters

pytestmark = pytest.mark.slow
BOUSSOLE = [str(Path(sys.executable).parent / "boussole")]


@pytest.fixture(scope="module")
def versions(index_dir, tmp_path_factory) -> list[Path]:
    """Three sealed copies of the session's index version, under three version names."""
    root = tmp_path_factory.mktemp("versions")
    source = store.resolve(index_dir)
    copies = []
    for n in range(3):
        copy = root / f"2026010{n}T000000.000000Z-{n:08d}"
        shutil.copytree(source, copy)
        copies.append(copy)
    return copies


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_publish_switches_the_alias_and_keeps_only_the_previous_version(milvus_uri, versions):
    target = MilvusTarget(milvus_uri, "switch")
    client = connect(target)
    names = [collection_name(target, v.name) for v in versions]

    first = publish(versions[0], target)
    assert (first.collection, first.previous, first.unchanged) == (names[0], None, False)
    assert served_collection(client, target) == names[0]
    assert publish(versions[0], target).unchanged  # the same version again: nothing rewritten

    second = publish(versions[1], target)
    assert (second.previous, served_collection(client, target)) == (names[0], names[1])
    held = MilvusBackend(target).open()  # a replica that opened version 2 ...
    third = publish(versions[2], target)
    assert (third.previous, served_collection(client, target)) == (names[1], names[2])
    ours = {n for n in client.list_collections() if n.startswith("switch_")}
    assert ours == {names[1], f"{names[1]}_meta", names[2], f"{names[2]}_meta"}
    # ... keeps answering from it after the switch: the previous version is kept
    assert held.dense.search(held.vectors[7], 1)[0][0] == 7
    assert MilvusBackend(target).open().version == names[2]


def test_readers_never_see_half_a_version_while_the_alias_switches(milvus_uri, versions):
    target = MilvusTarget(milvus_uri, "atomic")
    publish(versions[0], target)
    seen: list[tuple[str, int]] = []
    done = threading.Event()
    failures: list[BaseException] = []

    def switch() -> None:
        try:
            publish(versions[1], target)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)
        finally:
            done.set()

    def read() -> None:
        parts = MilvusBackend(target).open()
        seen.append((parts.version, len(parts.chunks)))

    writer = threading.Thread(target=switch)
    writer.start()
    while not done.is_set():
        read()  # while the new collection is written, loaded and the alias moved
    writer.join()
    read()
    assert not failures and len(seen) >= 3
    count = len(MilvusBackend(target).open().chunks)
    assert {n for _, n in seen} == {count}
    assert {v for v, _ in seen} <= {
        collection_name(target, versions[0].name),
        collection_name(target, versions[1].name),
    }
    assert seen[-1][0] == collection_name(target, versions[1].name)


def test_a_released_version_is_loaded_again_on_open(milvus_uri, versions):
    """After a Milvus restart collections are on disk but released; opening loads them."""
    target = MilvusTarget(milvus_uri, "released")
    name = publish(versions[0], target).collection
    client = connect(target)
    for collection in (name, f"{name}_meta"):
        client.release_collection(collection)
    parts = MilvusBackend(target).open()
    assert parts.version == name and parts.dense.search(parts.vectors[3], 1)[0][0] == 3


def test_a_missing_alias_or_version_file_is_a_clear_error(milvus_uri, versions):
    with pytest.raises(IndexNotFound, match="no index behind alias 'nothing_here'.*boussole build --backend milvus"):
        MilvusBackend(MilvusTarget(milvus_uri, "nothing_here")).open()
    target = MilvusTarget(milvus_uri, "broken")
    report = publish(versions[0], target)
    connect(target).drop_collection(f"{report.collection}_meta")
    with pytest.raises(IndexCorrupt, match="_meta: missing"):
        MilvusBackend(target).open()


def test_an_unreachable_server_is_one_error_line(tmp_path):
    uri = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(MilvusUnavailable, match=f"cannot reach Milvus at {uri}"):
        connect(MilvusTarget(uri))
    result = subprocess.run(
        [*BOUSSOLE, "search", "eau potable", "--backend", "milvus", "--milvus-uri", uri, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert f"cannot reach Milvus at {uri}" in result.stderr and "Traceback" not in result.stderr
    without_uri = subprocess.run(
        [*BOUSSOLE, "search", "eau", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "BOUSSOLE_BACKEND": "milvus"},
    )
    assert without_uri.returncode != 0 and "needs --milvus-uri" in without_uri.stderr
    assert len(without_uri.stderr.strip().splitlines()) == 1


def test_filters_become_a_milvus_expression():
    mask = None
    assert filter_expression(None) == ""
    selection = Selection(Filters(doc=("a", 'b"c'), lang=("fr",)), mask)
    assert filter_expression(selection) == 'doc in ["a", "b\\"c"] and lang in ["fr"]'


def test_build_search_and_serve_from_milvus(milvus_uri, data_dir, tmp_path, searcher):
    """`boussole build --backend milvus` publishes the data folder's index; `search` (settings
    from the environment) and the API serve from the alias, with the faiss backend's hits."""
    from fastapi.testclient import TestClient

    from boussole.service.app import create_app
    from boussole.service.reloader import served_info
    from boussole.service.settings import Settings

    data = tmp_path / "data"
    shutil.copytree(data_dir, data, symlinks=True)
    built = subprocess.run(
        [*BOUSSOLE, "build", "--data-dir", str(data), "--backend", "milvus", "--milvus-uri", milvus_uri],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BOUSSOLE_MILVUS_ALIAS": "served"},
    )
    assert built.returncode == 0, built.stderr
    assert "index up to date" in built.stdout  # nothing re-embedded: only published
    version = store.resolve(data / "index").name
    assert f"-> served_{version.replace('-', '_').replace('.', '_')}" in built.stdout

    env = {
        **os.environ,
        "BOUSSOLE_BACKEND": "milvus",
        "BOUSSOLE_MILVUS_URI": milvus_uri,
        "BOUSSOLE_MILVUS_ALIAS": "served",
    }
    query = "protéger la vie privée des habitants face aux caméras"
    found = subprocess.run(
        [*BOUSSOLE, "search", query, "-k", "5", "--json", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert found.returncode == 0, found.stderr
    import json

    ids = [hit["id"] for hit in json.loads(found.stdout)["results"]]
    assert ids == [h.chunk.id for h in searcher.search(query, k=5).hits]

    settings = Settings(data_dir=data, backend="milvus", milvus_uri=milvus_uri, milvus_alias="served")
    with TestClient(create_app(settings, reload_interval=None)) as client:
        response = client.post("/v1/search", json={"query": query, "k": 5})
        assert response.status_code == 200
        assert [hit["id"] for hit in response.json()["results"]] == ids
        assert client.app.state.index_info.version == served_info(settings).version


def test_a_replica_reloads_when_the_alias_moves(milvus_uri, versions):
    from boussole.index.backends.factory import create_backend
    from boussole.service.reloader import IndexReloader, served_info
    from boussole.service.settings import Settings

    target = MilvusTarget(milvus_uri, "replica")
    publish(versions[0], target)
    settings = Settings(backend="milvus", milvus_uri=milvus_uri, milvus_alias="replica")
    opened: list[str] = []

    def open_searcher(s):
        parts = create_backend(s.backend_choice, s.index_dir).open()
        opened.append(parts.version)
        return parts

    state = SimpleNamespace()
    reloader = IndexReloader(state, settings, open_searcher, lambda s: s, interval=None)
    reloader.load()
    assert not reloader.check()  # nothing moved
    publish(versions[1], target)
    assert served_info(settings).version == collection_name(target, versions[1].name)
    assert reloader.check()
    assert state.searcher.version == state.index_info.version == collection_name(target, versions[1].name)
    assert opened == [collection_name(target, v.name) for v in versions[:2]]
