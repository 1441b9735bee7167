"""Start a real `boussole serve` process on a free port, for end-to-end tests.

    with running_server(data_dir) as server:
        httpx.get(server.url + "/healthz")

The process gets BOUSSOLE_DATA_DIR / BOUSSOLE_HOST / BOUSSOLE_PORT in its environment (the
way an operator would configure it), its output goes to a log file (no pipe to fill up),
and it is stopped, then killed if it lingers, on exit.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def boussole_command() -> list[str]:
    script = Path(sys.executable).with_name("boussole")
    if script.exists():
        return [str(script)]
    found = shutil.which("boussole")
    if found:
        return [found]
    return [sys.executable, "-c", "from boussole.service.cli import cli; cli()"]


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@dataclass
class External:
    """A server someone else started (BOUSSOLE_TEST_URL), for quick runs of the page test."""

    url: str


def start(
    data_dir: Path, port: int | None = None, extra_env: dict[str, str] | None = None, log_level: str = "warning"
) -> Server:
    port = port or free_port()
    env = {
        **os.environ,
        "BOUSSOLE_DATA_DIR": str(data_dir),
        "BOUSSOLE_HOST": HOST,
        "BOUSSOLE_PORT": str(port),
        **(extra_env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="boussole-serve-", suffix=".log", delete=False)
    process = subprocess.Popen(
        [*boussole_command(), "serve", "--log-level", log_level],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    return Server(url=f"http://{HOST}:{port}", process=process, log_path=Path(log.name))


def wait_ready(server: Server, timeout: float = 180.0) -> None:
    """Poll /readyz until 200; fail with the server's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with code {server.process.returncode}:\n{server.log()}")
        try:
            if httpx.get(server.url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"server not ready after {timeout:.0f}s:\n{server.log()}")


def stop(server: Server) -> None:
    if server.process.poll() is None:
        server.process.terminate()
        try:
            server.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(timeout=5)
    server.log_path.unlink(missing_ok=True)


@contextmanager
def running_server(data_dir: Path, timeout: float = 180.0) -> Iterator[Server]:
    server = start(data_dir)
    try:
        wait_ready(server, timeout)
        yield server
    finally:
        stop(server)
