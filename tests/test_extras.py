"""The optional parts (pyproject extras) and the runtime set: what the service imports, and
the one-line error naming the extra when an optional part is used without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from boussole.index.errors import ModelError
from boussole.ingest.errors import BoussoleError

ROOT = Path(__file__).resolve().parent.parent


def test_the_service_and_the_cli_import_no_optional_part():
    code = (
        "import sys, service.app, service.cli, service.mcp.server; "
        "print(sorted({'torch', 'transformers', 'sentence_transformers', 'ranx', 'matplotlib', 'pandas', "
        "'pymilvus'} & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def hidden(monkeypatch, *modules: str) -> None:
    """Make `import <module>` fail as it does when the package is not installed."""
    for name in modules:
        monkeypatch.setitem(sys.modules, name, None)


def test_the_torch_encoder_without_the_st_extra_names_it(monkeypatch, tmp_path):
    from boussole.index.encoders.sentence_transformers import SentenceTransformerEncoder

    hidden(monkeypatch, "sentence_transformers")
    with pytest.raises(ModelError, match=r"`st` extra .*pip install -e '\.\[st\]'"):
        SentenceTransformerEncoder(tmp_path)


def test_the_milvus_backend_without_its_extra_names_it(monkeypatch):
    from boussole.index.backends.milvus import MilvusTarget, MilvusUnavailable, connect

    hidden(monkeypatch, "pymilvus")
    with pytest.raises(MilvusUnavailable, match=r"`milvus` extra .*pip install -e '\.\[milvus\]'"):
        connect(MilvusTarget("http://127.0.0.1:9"))


def test_the_evaluation_without_its_extra_names_it_before_running(monkeypatch, tmp_path):
    from boussole.eval.harness import EvalConfig, run_evaluation

    hidden(monkeypatch, "ranx")
    config = EvalConfig(data_dir=tmp_path, corpus_dir=tmp_path / "missing", model="multilingual-e5-small")
    with pytest.raises(BoussoleError, match=r"`eval` extra \(ranx missing\).*pip install -e '\.\[eval\]'"):
        run_evaluation(config)
