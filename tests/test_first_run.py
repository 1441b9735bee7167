"""The first run, as a newcomer meets it: install output, README commands, CLI manners,
logs, and the readiness announcement of `boussole serve`."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from boussole.index.progress import Counted
from boussole.service.cli import cli
from boussole.service.cli.progress import ProgressReporter

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
    from boussole.ingest.pipeline import write_chunks
    from boussole.service.settings import Settings

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
        "from boussole.service.cli.logs import configure_logging\n"
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
        "import boussole.service.cli, boussole.service.cli.logs, boussole.service.app\n"
        "assert not logging.getLogger().handlers, logging.getLogger().handlers\n"
        "assert not logging.getLogger('faiss.loader').filters\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr


# ---------------------------------------------------------------- progress


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_in_a_log_file_is_a_line_every_interval():
    """Not a terminal (`make run > log`): counts as new lines, at most one per interval and
    one at the end; a long step without counts gets a line with its elapsed time."""
    out, clock = io.StringIO(), Clock()
    progress = ProgressReporter(out, terminal=False, interval=10, clock=clock)
    progress("embedding 894 chunks with e5 (0 from cache)")
    for clock.now, done in [(3, 64), (11, 128), (14, 192), (16, 894)]:
        progress(Counted("e5 passages", done, 894))
    progress("calibrating")
    for clock.now in (17, 20, 25.9, 26, 30, 36):
        progress.tick()
    assert out.getvalue().splitlines() == [
        "… embedding 894 chunks with e5 (0 from cache)",
        "… e5 passages 128/894 (14 %)",
        "… e5 passages 894/894 (100 %)",
        "… calibrating",
        "… calibrating — 10 s",
        "… calibrating — 20 s",
    ]


def test_progress_counts_of_two_encoders_share_one_line():
    out, clock = io.StringIO(), Clock()
    progress = ProgressReporter(out, terminal=False, interval=10, clock=clock)
    progress(Counted("use passages", 500, 894))
    clock.now = 10
    progress(Counted("e5 passages", 64, 894))
    progress(Counted("use passages", 894, 894))
    progress(Counted("e5 passages", 894, 894))
    assert out.getvalue().splitlines() == [
        "… use passages 500/894 (55 %), e5 passages 64/894 (7 %)",
        "… use passages 894/894 (100 %), e5 passages 64/894 (7 %)",
        "… e5 passages 894/894 (100 %)",
    ]


def test_progress_in_a_terminal_updates_one_line():
    out, clock = io.StringIO(), Clock()
    progress = ProgressReporter(out, terminal=True, interval=10, clock=clock)
    progress("embedding 20 chunks with e5")
    progress(Counted("e5 passages", 10, 20))
    clock.now = 60
    progress.tick()  # no periodic lines in a terminal
    progress(Counted("e5 passages", 20, 20))
    progress("calibrating")
    assert out.getvalue() == (
        "… embedding 20 chunks with e5\n\r… e5 passages 10/20 (50 %)\r… e5 passages 20/20 (100 %)\n… calibrating\n"
    )


@pytest.mark.slow
def test_build_into_a_pipe_prints_counts(data_dir, tmp_path):
    """`boussole build 2>&1 | tee log`: each encoder's passages are counted in the log."""
    from lifecycle_helpers import copy_data, env_for, note_corpus, run_boussole

    data = copy_data(data_dir, tmp_path / "data")
    result = run_boussole(["build"], env_for(data, note_corpus(tmp_path / "corpus")))
    assert result.returncode == 0, result.stderr
    for model in ("multilingual-e5-small-problems", "use-multilingual-v3"):
        assert re.search(rf"^… {model} passages (\d+)/\1 \(100 %\)$", result.stderr, re.MULTILINE), result.stderr
    assert "\r" not in result.stderr


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


def ready_line(server) -> str:
    deadline = time.monotonic() + 180
    while "— ready." not in server.log():
        assert server.process.poll() is None, server.log()
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    return server.log().splitlines()[0]


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_says_one_line_when_ready_and_one_when_stopped(data_dir, stop_signal):
    """At the default log level: one start-up line with the page's and the docs' URLs (no
    uvicorn start-up lines), and a stop by SIGTERM or Ctrl-C ends with status 0 and one
    line (no traceback, no "Aborted!", no uvicorn shutdown lines)."""
    from server import start, stop

    server = start(data_dir, log_level="info")
    try:
        ready = ready_line(server)
        assert server.log().splitlines() == [ready]
        assert f"{server.url}/ " in ready and f"{server.url}/docs" in ready
        server.process.send_signal(stop_signal)
        assert server.process.wait(timeout=60) == 0, server.log()
        assert server.log().splitlines() == [ready, "Boussole stopped."]
    finally:
        stop(server)


@pytest.mark.slow
@pytest.mark.parametrize("to_group", [False, True], ids=["SIGTERM-to-make", "SIGINT-to-group"])
def test_make_run_stops_without_a_make_error(data_dir, tmp_path, to_group):
    """`make run` stopped by SIGTERM to make, or by Ctrl-C (SIGINT to its process group):
    the server exits 0, so make reports no "*** [Makefile:…: run] Terminated"/"Interrupt"."""
    from lifecycle_helpers import copy_data, env_for
    from server import HOST, free_port

    data = copy_data(data_dir, tmp_path / "data")
    port = free_port()
    env = env_for(data, BOUSSOLE_HOST=HOST, BOUSSOLE_PORT=str(port))
    venv = Path(sys.executable).parent.parent
    log_path = tmp_path / "make.log"
    with open(log_path, "wb") as log:
        # -o install: the environment is the one running these tests; never reinstall.
        make = subprocess.Popen(
            ["make", "-o", "install", f"VENV={venv}", "run"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 300
        while "— ready." not in log_path.read_text(errors="replace"):
            assert make.poll() is None, log_path.read_text(errors="replace")
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.1)
        if to_group:
            os.killpg(make.pid, signal.SIGINT)
        else:
            make.send_signal(signal.SIGTERM)
        make.wait(timeout=60)
        text = log_path.read_text(errors="replace")
        assert text.rstrip().endswith("Boussole stopped."), text
        assert "make: ***" not in text and "Traceback" not in text and "Aborted" not in text, text
        with pytest.raises(ProcessLookupError):  # make, and the server it ran, are gone
            os.killpg(make.pid, 0)
    finally:
        try:
            os.killpg(make.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        make.wait(timeout=10)
