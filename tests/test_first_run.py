"""The first run, as a newcomer meets it: install output, README commands, CLI manners,
logs, and the readiness announcement of `boussole serve`."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from service.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_block(heading: str) -> str:
    section = README.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    return re.search(r"```sh\n(.*?)```", section, re.S).group(1)


# ---------------------------------------------------------------- install


def test_license_is_an_spdx_string():
    # A TOML table makes setuptools print a deprecation banner on every build step.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT"


def pip_installs(target: str) -> list[str]:
    """The pip commands `make <target>` would run from scratch (the pip upgrade aside)."""
    dry = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in dry.stdout.splitlines() if "pip install" in line and "--upgrade pip" not in line]


def test_make_install_shows_pip_progress():
    installs = pip_installs("install")
    assert installs and not any("--quiet" in line or " -q" in line for line in installs), installs


def test_make_run_installs_the_runtime_set_only():
    """No torch and no extra for `make run`: the runtime set is the project's own dependencies."""
    installs = pip_installs("install")
    assert len(installs) == 1 and installs[0].endswith(" -e ."), installs
    runtime = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    heavy = {"torch", "sentence-transformers", "transformers", "pymilvus", "milvus-lite", "ranx", "matplotlib"}
    assert not {re.split(r"[<>=!~\[ ]", d, maxsplit=1)[0].lower() for d in runtime} & heavy


def test_make_test_installs_every_extra_with_torch_pinned_first():
    installs = pip_installs("test")
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    torch = [i for i, line in enumerate(installs) if "torch" in line]
    everything = [i for i, line in enumerate(installs) if line.endswith('-e ".[test]"')]
    assert torch and everything and torch[0] < everything[0], installs
    assert all(installs[i].endswith('"torch==2.13.0"') for i in torch), installs
    assert "torch==2.13.0" in extras["st"]
    assert "boussole[st,milvus,eval]" in extras["test"]


# ---------------------------------------------------------------- README commands


def test_readme_says_how_to_reach_the_boussole_command():
    assert ". .venv/bin/activate" in README
    assert "With the environment activated" in readme_block_context("Command line")


def readme_block_context(heading: str) -> str:
    return README.split(f"## {heading}\n", 1)[1].split("```", 1)[0]


def test_readme_cli_examples_name_real_commands():
    runner = CliRunner()
    for line in readme_block("Command line").splitlines():
        words = line.split("#")[0].split()
        if not words:
            continue
        assert words[0] == "boussole", line
        result = runner.invoke(cli, [words[1], "--help"])
        assert result.exit_code == 0, (line, result.output)


def test_installed_command_is_where_the_readme_says():
    script = Path(sys.executable).with_name("boussole")
    assert script.exists(), script
    run = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "serve" in run.stdout


# ---------------------------------------------------------------- boussole chunks


@pytest.fixture(scope="module")
def chunks_data(tmp_path_factory, ingest_report) -> Path:
    from ingest.pipeline import write_chunks
    from service.settings import Settings

    settings = Settings(data_dir=tmp_path_factory.mktemp("chunks-data"))
    write_chunks(ingest_report, settings.chunks_path, settings.documents_path)
    return settings.data_dir


def test_unknown_doc_lists_the_valid_ids(chunks_data, ingest_report):
    result = CliRunner().invoke(cli, ["chunks", "--doc", "nope", "--data-dir", str(chunks_data)])
    assert result.exit_code == 1
    assert "'nope'" in result.output
    for doc in ingest_report.documents:
        assert doc.id in result.output


@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_chunks_piped_into_head_exits_cleanly(chunks_data, as_json):
    """`boussole chunks | head -1`: the reader closes the pipe early; exit 0, no traceback."""
    script = Path(sys.executable).with_name("boussole")
    command = [str(script), "chunks", "--data-dir", str(chunks_data)] + (["--json"] if as_json else [])
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline()  # like head -1
    process.stdout.close()
    _, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"Error" not in err, err.decode()


def test_search_piped_into_head_exits_cleanly(data_dir):
    """`boussole search … | head -1`: 100 results in JSON overflow the pipe's buffer, so
    the search meets the closed pipe; exit 0, no traceback, no "Error: Broken pipe"."""
    script = Path(sys.executable).with_name("boussole")
    command = [str(script), "search", "données ouvertes", "-k", "100", "--json", "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.read(100)  # like head -c 100
    process.stdout.close()
    _, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()
    assert b"Traceback" not in err and b"Error" not in err, err.decode()


# ---------------------------------------------------------------- logs


def test_faiss_loader_fallbacks_are_not_logged():
    """With the CLI's logging at INFO, importing faiss prints no ModuleNotFoundError lines
    about the AVX-512 / AVX2 builds (routine fallbacks that read like errors)."""
    code = (
        "import logging\n"
        "from service.cli.logs import configure_logging\n"
        "configure_logging('info')\n"
        "before = logging.getLogger().level\n"
        "import faiss\n"
        "logging.getLogger('faiss.loader').warning('a real faiss warning still shows')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert "ModuleNotFoundError" not in run.stderr and "Could not load" not in run.stderr, run.stderr
    assert "a real faiss warning still shows" in run.stderr


def test_importing_the_cli_leaves_logging_alone():
    code = (
        "import logging\n"
        "import service.cli, service.cli.logs, service.app\n"
        "assert not logging.getLogger().handlers, logging.getLogger().handlers\n"
        "assert not logging.getLogger('faiss.loader').filters\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr


# ---------------------------------------------------------------- readiness


@pytest.mark.slow
def test_serve_announces_the_address_only_when_it_answers(data_dir):
    """The moment "Boussole on http://…" appears, the page must answer (it used to be
    printed before the index was loaded and the port opened)."""
    from server import start, stop

    server = start(data_dir)
    try:
        deadline = time.monotonic() + 180
        while "Boussole on http://" not in server.log():
            assert server.process.poll() is None, server.log()
            assert time.monotonic() < deadline, server.log()
            time.sleep(0.02)
        response = httpx.get(server.url + "/", timeout=10)  # no retry: it must answer now
        assert response.status_code == 200
        assert server.url + "/" in server.log()
    finally:
        stop(server)
