"""Errors an operator reads: one line that names the file, says what is wrong and what to
run; exit status non-zero; no traceback unless `boussole --debug` asks for it."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from boussole.index import store
from boussole.service.app import create_app
from boussole.service.cli import cli
from boussole.service.settings import Settings
from lifecycle_helpers import copy_data, env_for, run_boussole, served_version
from server import free_port


@pytest.fixture
def data(data_dir, tmp_path) -> Path:
    return copy_data(data_dir, tmp_path / "data")


def _one_error_line(result) -> str:
    output = (result.stdout + result.stderr).strip()
    assert "Traceback" not in output, output
    lines = output.splitlines()
    assert len(lines) == 1, output
    assert lines[0].startswith("Error: ")
    return lines[0]


def _serve(data: Path):
    env = env_for(data, BOUSSOLE_PORT=str(free_port()))
    return run_boussole(["serve", "--log-level", "warning"], env, timeout=300)


def test_corrupt_index_at_startup_is_one_line(data):
    faiss_file = store.resolve(data / "index") / store.DENSE_FILE
    faiss_file.write_bytes(faiss_file.read_bytes()[:1000])
    result = _serve(data)
    assert result.returncode == 1
    line = _one_error_line(result)
    assert str(faiss_file) in line and "checksum differs" in line and "boussole build" in line


def test_manifest_with_null_files_is_one_line_at_startup_and_in_search(data):
    path = store.resolve(data / "index") / store.MANIFEST
    manifest = json.loads(path.read_text())
    manifest["files"] = None
    path.write_text(json.dumps(manifest))
    for result in (_serve(data), run_boussole(["search", "ville"], env_for(data), timeout=300)):
        assert result.returncode == 1
        line = _one_error_line(result)
        assert str(path) in line and "'files' should be an object, found null" in line
        assert "boussole build --force" in line


def test_search_on_a_corrupt_index_is_one_line(data):
    bm25 = store.resolve(data / "index") / store.LEXICAL_DIR
    victim = sorted(p for p in bm25.iterdir() if p.is_file())[0]
    victim.write_bytes(b"\0" * 16)
    result = run_boussole(["search", "inondations"], env_for(data), timeout=300)
    assert result.returncode == 1
    assert str(victim) in _one_error_line(result)


def test_full_disk_during_build_on_a_small_tmpfs(data, tmp_path):
    """A real full disk: the data folder on a tmpfs with room for the old index but not a new one."""
    disk = tmp_path / "disk"
    disk.mkdir()
    used = sum(p.stat().st_size for p in data.rglob("*") if p.is_file() and not p.is_symlink())
    size_kib = used // 1024 + 1100  # room for the rewritten chunks and cache, not a new index
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(disk)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip()}); the injected ENOSPC test covers it")
    try:
        small = copy_data(data, disk / "data")
        before = served_version(small)
        result = run_boussole(["build", "--force"], env_for(small), timeout=600)
        assert result.returncode == 1, result.stderr[-2000:]
        error = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
        assert len(error) == 1 and "Traceback" not in result.stderr, result.stderr
        assert "No space left on device" in error[0] and "index in service is unchanged" in error[0]
        assert served_version(small) == before
        store.verify_files(small / "index", store.read_manifest(small / "index"))
        assert [p.name for p in store.versions_dir(small / "index").iterdir() if p.name.startswith(".building-")] == []
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_full_disk_injected_in_process_and_debug_shows_the_traceback(data, monkeypatch):
    from boussole.index.dense import DenseIndex

    def full(self, path):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(DenseIndex, "save", full)
    monkeypatch.delenv("BOUSSOLE_DEBUG", raising=False)
    before = served_version(data)
    result = CliRunner().invoke(cli, ["build", "--force", "--data-dir", str(data)])
    assert result.exit_code == 1
    assert f"Error: No space left on device ({data}): free some disk space" in result.output
    assert "Traceback" not in result.output
    assert served_version(data) == before
    debug = CliRunner().invoke(cli, ["--debug", "build", "--force", "--data-dir", str(data)])
    assert debug.exit_code == 1 and "Traceback" in debug.output and "No space left" in debug.output


class _BrokenSearcher:
    documents: list = []

    def search(self, query, k=10, filters=None, mode="hybrid"):
        raise RuntimeError("faiss: /srv/secret/internal/path.faiss is mapped at 0x7f00")

    def filter_values(self):
        return {}


def test_readyz_does_not_leak_exception_text(tmp_path, caplog):
    app = create_app(Settings(data_dir=tmp_path), open_searcher=lambda s: _BrokenSearcher(), reload_interval=None)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "secret" not in response.text and "0x7f00" not in response.text
    assert response.json()["error"]["message"] == "The index does not answer queries; see the server log."
    assert "/srv/secret/internal/path.faiss" in caplog.text  # the operator still finds it in the log
