"""The real server under load and against slow clients (real sockets, loopback only).

One `boussole serve` process with a tiny encoder queue (BOUSSOLE_MAX_QUEUE=1) and a short
body deadline (BOUSSOLE_BODY_TIMEOUT=2), so that a burst of searches must overflow the
queue and half-sent bodies are cut off within the test. No timing asserts: only what is
answered, and that it is answered at all.
"""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest

from server import start, stop, wait_ready

HALF_OPEN = 300


@pytest.fixture(scope="module")
def small_server(data_dir):
    server = start(data_dir, extra_env={"BOUSSOLE_MAX_QUEUE": "1", "BOUSSOLE_BODY_TIMEOUT": "2"})
    try:
        wait_ready(server)
        yield server
    finally:
        stop(server)


def _long_question(i: int) -> str:
    """A new question near the 2,000-character limit, so each takes a while to encode."""
    words = "les habitants des quartiers informels n'ont pas accès à internet ni aux services publics en ligne"
    return f"{i} {time.time_ns()} " + (words + " ") * 19


def test_a_full_queue_answers_503_with_retry_after_and_recovers(small_server):
    statuses: list[httpx.Response] = []
    with httpx.Client(base_url=small_server.url, timeout=120) as client:
        for _attempt in range(3):  # a burst of 48 overflows a one-place queue; retry if the machine was idle-fast
            with ThreadPoolExecutor(48) as pool:
                responses = list(
                    pool.map(lambda i: client.post("/v1/search", json={"query": _long_question(i)}), range(48))
                )
            statuses += responses
            if any(r.status_code == 503 for r in responses):
                break
        busy = [r for r in statuses if r.status_code == 503]
        assert busy, "no request was refused although the queue holds one question"
        assert {r.status_code for r in statuses} <= {200, 503}
        assert any(r.status_code == 200 for r in statuses)
        for r in busy:
            assert int(r.headers["retry-after"]) >= 1
            error = r.json()["error"]
            assert error["code"] == "overloaded" and "try again" in error["message"]
        # After the burst the service answers normally.
        after = client.post("/v1/search", json={"query": "inondations sans alerte précoce"})
        assert after.status_code == 200 and after.json()["results"]
        assert client.get("/readyz").status_code == 200


def _half_open(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=10)
    sock.sendall(
        b"POST /v1/search HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n" + b'{"query":"'  # 10 of the 100 bytes announced
    )
    return sock


def test_half_sent_bodies_do_not_block_the_server(small_server):
    url = urlparse(small_server.url)
    sockets = [_half_open(url.hostname, url.port) for _ in range(HALF_OPEN)]
    try:
        with httpx.Client(base_url=small_server.url, timeout=10) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/readyz").status_code == 200
            found = client.post("/v1/search", json={"query": "données ouvertes de la ville"})
            assert found.status_code == 200 and found.json()["results"]
        # Past the body deadline each half-sent request gets a 408 and its connection closes.
        for sock in sockets[:10]:
            sock.settimeout(30)
            received = b""
            while chunk := sock.recv(4096):
                received += chunk
            assert received.startswith(b"HTTP/1.1 408"), received[:200]
            assert b'"request_timeout"' in received
    finally:
        for sock in sockets:
            sock.close()
    assert small_server.process.poll() is None
