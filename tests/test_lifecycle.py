"""Index lifecycle: atomic swaps under real kills, clean-up, the build lock, rollback,
recovery of what older builds left, and a running server picking up a new build."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
from pathlib import Path

import httpx
import pytest

from boussole.index import store
from boussole.index.builder import build_index
from boussole.index.errors import IndexBusy, IndexNotFound
from lifecycle_helpers import (
    NEW_CHUNK,
    NEW_DOC,
    NEW_TEXT,
    copy_data,
    env_for,
    note_corpus,
    run_boussole,
    served_version,
)
from server import start, stop, wait_ready

slow = pytest.mark.slow
LOAD_QUERIES = [
    "street lighting that saves energy",
    "données ouvertes de la municipalité",
    "how residents can take part in planning",
    "cybersécurité des services urbains",
]


@pytest.fixture
def data(data_dir, tmp_path) -> Path:
    return copy_data(data_dir, tmp_path / "data")


def _rebuild(data: Path, ingest_report, searcher, text_suffix: str) -> str:
    """An in-process build of an edited corpus (one chunk re-embedded); returns its version."""
    from dataclasses import replace

    chunks = list(ingest_report.chunks)
    chunks[0] = replace(chunks[0], text=chunks[0].text + text_suffix)
    build_index(chunks, ingest_report.documents, searcher._embedder, data / "index", data / "cache")
    return served_version(data)


# -- layout, clean-up, lock, rollback (fast: in process or a CLI refused early) ----------------


def test_build_swaps_a_symlink_and_keeps_one_previous_version(data, ingest_report, searcher):
    first = served_version(data)
    root = store.versions_dir(data / "index")
    (root / ".building-killed").mkdir()  # what a build killed while writing leaves
    (root / ".building-killed" / "dense.faiss").write_bytes(b"half")
    (data / ".index.old-123-456").mkdir()  # what the build before versions left
    second = _rebuild(data, ingest_report, searcher, " (v2)")
    assert second != first and store.previous_version(data / "index") == first
    assert not (root / ".building-killed").exists() and not (data / ".index.old-123-456").exists()
    third = _rebuild(data, ingest_report, searcher, " (v3)")
    kept = sorted(p.name for p in root.iterdir() if p.is_dir())
    assert kept == sorted([second, third]), "the current version and one previous, no more"
    assert store.previous_version(data / "index") == second
    assert (data / "index").is_symlink() and not os.path.isabs(os.readlink(data / "index"))
    manifest = store.read_manifest(data / "index")
    store.verify_files(data / "index", manifest)


def test_a_second_build_is_refused_while_one_holds_the_lock(data):
    with store.build_lock(data / "index"):
        with pytest.raises(IndexBusy):
            with store.build_lock(data / "index"):
                pass
        result = run_boussole(["build"], env_for(data), timeout=120)
    assert result.returncode == 1
    assert "another build or rollback is running" in result.stderr and f"pid {os.getpid()}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    with store.build_lock(data / "index"):  # released when its holder let go
        pass


def test_rollback_returns_to_the_previous_version_and_back(data, ingest_report, searcher):
    from click.testing import CliRunner

    from boussole.service.cli import cli

    first = served_version(data)
    runner = CliRunner()
    refused = runner.invoke(cli, ["index", "rollback", "--data-dir", str(data)])
    assert refused.exit_code == 1 and "no previous index version" in refused.output
    second = _rebuild(data, ingest_report, searcher, " (v2)")
    done = runner.invoke(cli, ["index", "rollback", "--data-dir", str(data)])
    assert done.exit_code == 0, done.output
    assert served_version(data) == first and first in done.output
    assert store.read_manifest(data / "index").chunk_count == len(ingest_report.chunks)
    status = runner.invoke(cli, ["index", "status", "--data-dir", str(data)])
    assert f"* {first}" in status.output and second in status.output
    again = runner.invoke(cli, ["index", "rollback", "--data-dir", str(data)])
    assert again.exit_code == 0 and served_version(data) == second


def test_startup_recovers_the_hidden_folders_a_killed_old_build_left(data, tmp_path):
    """The reported state: no data/index, old and new indexes complete in hidden folders."""
    version = store.resolve(data / "index")
    older = data / ".index.old-1-1"
    newer = data / ".index.building-x"
    shutil.copytree(version, older)
    shutil.copytree(version, newer)
    manifest = json.loads((newer / store.MANIFEST).read_text())
    manifest["built_at"] = "2099-01-01T00:00:00+00:00"
    (newer / store.MANIFEST).write_text(json.dumps(manifest))
    (data / "index").unlink()
    shutil.rmtree(store.versions_dir(data / "index"))
    recovered = store.recover(data / "index")
    assert recovered is not None and recovered.built_at.startswith("2099")
    assert (data / "index").is_symlink() and store.read_manifest(data / "index").built_at.startswith("2099")


def test_recover_with_nothing_to_recover_says_so(tmp_path):
    assert store.recover(tmp_path / "index") is None
    with pytest.raises(IndexNotFound):
        store.rollback(tmp_path / "index")


# -- crash windows: a real `boussole build` killed at each rename ---------------------------

RENAMES = "rename,renameat,renameat2"


def _build_killed_after_rename(n: int, env: dict[str, str], log: Path) -> str | None:
    """Run `boussole build --force` under strace, which freezes it just after its n-th rename(2)
    has been done; kill it there with SIGKILL. Returns that rename's strace line, or None when
    the build has fewer renames and completed."""
    import signal
    import subprocess

    from server import boussole_command

    log.unlink(missing_ok=True)
    strace = [
        "strace",
        "-f",
        "-qq",
        "--seccomp-bpf",  # stop the build at renames only, not at its every syscall: ~3 s less per build
        "-o",
        str(log),
        "-e",
        f"trace={RENAMES}",
        "-e",
        f"inject={RENAMES}:delay_exit=300000000:when={n}",
    ]  # frozen 300 s at most
    process = subprocess.Popen(
        [*strace, *boussole_command(), "build", "--force"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 600
    while process.poll() is None:
        assert time.monotonic() < deadline, "build neither renamed nor finished"
        text = log.read_text(errors="replace") if log.exists() else ""
        frozen = [line for line in text.splitlines() if line.endswith("(DELAYED)")]
        if frozen:
            os.kill(int(frozen[0].split()[0]), signal.SIGKILL)  # the build, frozen by strace
            process.kill()  # strace itself sleeps out the delay before it notices; do not wait
            process.wait(timeout=60)
            assert " = 0 (DELAYED)" in frozen[0], frozen[0]  # the rename itself had succeeded
            return frozen[0]
        time.sleep(0.05)
    assert process.returncode == 0, log.read_text(errors="replace")[-2000:]
    return None


@slow
def test_build_killed_after_each_rename_leaves_a_servable_index(data, tmp_path):
    """Kill a real build right after its 1st, 2nd, … rename(2) (every state a crash can leave
    on disk) until one build completes; after each kill that changed what a server reads (the
    index pointer and the version folders), a real `boussole serve` starts and answers from a
    complete index: the old one until the pointer was swapped, then the new. The first kills
    (the chunk files and the embedding caches, written before the index) leave that tree as
    it was, which the test checks instead of starting a server on it again."""
    if shutil.which("strace") is None:
        pytest.fail("strace is missing: run `make test-deps` (tests/ensure_strace.sh)")
    corpus = note_corpus(tmp_path / "corpus")  # the same renames as with the real corpus, in a shorter build
    old = served_version(data)
    env = env_for(data, corpus)
    outcomes = []
    untouched = _served_tree(data)
    for n in range(1, 30):
        rename = _build_killed_after_rename(n, env, tmp_path / "strace.log")
        if rename is None:
            break
        renamed = rename.split(", ")[-1].split('"')[1].replace(str(data), "data")
        pointer_swapped = renamed == "data/index"
        if _served_tree(data) == untouched:
            assert not renamed.startswith("data/index"), renamed  # the pointer and data/index-versions/…
            outcomes.append((n, renamed, "old, index untouched"))
            continue
        untouched = None  # from the first change on, every window gets a server
        server = start(data)
        try:
            wait_ready(server)
            ready = httpx.get(server.url + "/readyz", timeout=30).json()
            hits = httpx.post(server.url + "/v1/search", json={"query": NEW_TEXT, "k": 1}, timeout=60).json()
        finally:
            stop(server)
        served = "old" if ready["index_version"] == old else "new"
        outcomes.append((n, renamed, served))
        assert served == ("new" if pointer_swapped else "old"), outcomes
        assert ready["index_version"] == served_version(data)
        assert (hits["results"][0]["id"] == NEW_CHUNK) == (served == "new"), hits["results"][0]
    else:
        pytest.fail("the build never completed")
    print("killed after rename:", outcomes)
    assert len(outcomes) >= 5 and outcomes[-1][2] == "new", outcomes
    assert sum(served in ("old", "new") for _, _, served in outcomes) >= 4, outcomes  # servers did start
    assert served_version(data) != old
    leftovers = [p.name for p in store.versions_dir(data / "index").iterdir() if p.name.startswith(".building-")]
    assert leftovers == []


def _served_tree(data: Path) -> tuple:
    """What a starting server can read: the index pointer and every file of the version
    folders (names and contents), but the build lock's holder, which `boussole serve` reads
    only when the pointer is missing (it never is here: the pointer is swapped by a rename)."""
    import hashlib

    root = store.versions_dir(data / "index")
    files = tuple(
        (str(p.relative_to(root)), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != store.LOCK_FILE
    )
    return os.readlink(data / "index"), files


# -- live reload under load ------------------------------------------------------------------


@slow
def test_running_server_serves_a_new_build_without_failing_a_request(data, tmp_path):
    corpus = note_corpus(tmp_path / "corpus")
    server = start(data, extra_env={"BOUSSOLE_RELOAD_SECONDS": "0.5", "BOUSSOLE_THREADS": "1"})
    failures: list[str] = []
    answered = [0]
    done = threading.Event()

    def load(offset: int) -> None:
        with httpx.Client(base_url=server.url, timeout=120) as client:
            for i in range(400):  # bounded; stops earlier once the swap has been observed
                if done.is_set():
                    return
                query = LOAD_QUERIES[(i + offset) % len(LOAD_QUERIES)] + f" {i}"
                try:
                    response = client.post("/v1/search", json={"query": query, "k": 3})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200 or not response.json()["results"]:
                    failures.append(f"{response.status_code}: {response.text[:200]}")
                answered[0] += 1

    try:
        wait_ready(server)
        before = httpx.get(server.url + "/readyz", timeout=30).json()
        assert before["index_version"] == served_version(data) and before["index_built_at"]
        threads = [threading.Thread(target=load, args=(k,)) for k in range(3)]
        for thread in threads:
            thread.start()
        build = run_boussole(["build"], env_for(data, corpus))
        assert build.returncode == 0, build.stderr[-2000:]
        new = served_version(data)
        assert new != before["index_version"]
        at_swap = answered[0]
        deadline = time.monotonic() + 120
        while httpx.get(server.url + "/readyz", timeout=30).json()["index_version"] != new:
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.25)
        time.sleep(2)  # keep the load on across and after the swap
        done.set()
        for thread in threads:
            thread.join(timeout=300)
        assert failures == []
        assert at_swap > 0 and answered[0] > at_swap, (at_swap, answered[0])
        hits = httpx.post(server.url + "/v1/search", json={"query": NEW_TEXT, "k": 1}, timeout=60).json()
        assert hits["results"][0]["id"] == NEW_CHUNK
        documents = httpx.get(server.url + "/v1/documents", timeout=30).json()
        assert NEW_DOC in {d["id"] for d in documents["documents"]}
        assert documents["index_version"] == new and documents["index_built_at"] != before["index_built_at"]
    finally:
        done.set()
        stop(server)
